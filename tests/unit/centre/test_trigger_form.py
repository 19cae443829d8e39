"""A DAG's Params as the trigger form's fields, and a posted form back to a run's conf."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.centre.trigger import (
    FormError,
    ParamSpec,
    conf_from_form,
    kind_of,
    param_fields,
)

DRAFT7 = {"$schema": "http://json-schema.org/draft-07/schema#"}
#: The three kinds of params the DAG factory gives a flow (``koppel.dag_factory._params``).
REFERENCES = ParamSpec(
    [],
    "Order references such as LNB-100045",
    {
        **DRAFT7,
        "type": ["null", "array"],
        "items": {"type": "string"},
        "title": "Export now: only these orders",
    },
)
RESEND = ParamSpec(False, "Send every record", {**DRAFT7, "type": "boolean", "title": "Resend"})
MAX_FILES = ParamSpec(
    100, "Upper bound", {**DRAFT7, "type": "integer", "minimum": 1, "title": "At most"}
)
FILES = {"only_files": REFERENCES, "max_files": MAX_FILES}


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        (REFERENCES.schema, "lines"),
        ({"type": "array"}, "lines"),
        (RESEND.schema, "checkbox"),
        (MAX_FILES.schema, "number"),
        ({"type": ["number", "null"]}, "number"),
        ({"type": "string"}, "text"),
        ({"type": "object"}, "json"),
        ({"type": "array", "items": {"type": "integer"}}, "json"),
        ({"type": ["string", "integer"]}, "json"),
        ({}, "json"),
    ],
)
def test_each_schema_type_has_its_input(schema: dict[str, Any], kind: str) -> None:
    assert kind_of(schema) == kind


def test_the_fields_show_title_description_default_and_bounds() -> None:
    only, most = param_fields(FILES)

    assert (only.name, only.kind, only.title, only.value) == (
        "only_files",
        "lines",
        "Export now: only these orders",
        "",
    )
    assert only.description == "Order references such as LNB-100045"
    assert only.field_name == "param-only_files"
    assert only.nullable
    assert (most.kind, most.value, most.minimum, most.maximum, most.step) == (
        "number",
        "100",
        1,
        None,
        "1",
    )
    (resend,) = param_fields({"resend": ParamSpec(True, None, {"type": "boolean"})})
    assert (resend.checked, resend.title, resend.description) == (True, "resend", None)


def test_a_posted_form_is_shown_again_as_typed() -> None:
    only, most = param_fields(FILES, submitted={"param-only_files": "a\nb", "param-max_files": "x"})
    assert (only.value, most.value) == ("a\nb", "x")


def test_the_conf_holds_only_what_differs_from_the_defaults() -> None:
    assert conf_from_form(FILES, {"param-only_files": "", "param-max_files": "100"}) == {}
    assert conf_from_form(FILES, {}) == {}
    assert conf_from_form(
        FILES, {"param-only_files": "order_1*.xml\r\n  \r\n order_2*.xml ", "param-max_files": "5"}
    ) == {"only_files": ["order_1*.xml", "order_2*.xml"], "max_files": 5}
    assert conf_from_form({"resend": RESEND}, {}) == {}  # unticked: its default
    assert conf_from_form({"resend": RESEND}, {"param-resend": "true"}) == {"resend": True}
    ticked = {"resend": ParamSpec(True, None, {"type": "boolean"})}
    assert conf_from_form(ticked, {}) == {"resend": False}  # unticking is a choice too


def test_empty_inputs_stand_for_null_where_null_is_allowed() -> None:
    specs = {
        "note": ParamSpec("x", None, {"type": ["null", "string"]}),
        "limit": ParamSpec(3, None, {"type": ["null", "integer"]}),
        "ids": ParamSpec(None, None, {"type": ["null", "array"]}),
        "name": ParamSpec("x", None, {"type": "string"}),
    }
    form = {"param-note": "", "param-limit": " ", "param-ids": "", "param-name": ""}
    assert conf_from_form(specs, form) == {"note": None, "limit": None, "name": ""}


def test_an_unreadable_value_names_its_param() -> None:
    with pytest.raises(FormError, match="param max_files: 'ten' is not a whole number") as error:
        conf_from_form(FILES, {"param-max_files": "ten"})
    assert error.value.name == "max_files"
    ratio = {"ratio": ParamSpec(0.5, None, {"type": "number"})}
    assert conf_from_form(ratio, {"param-ratio": "0.25"}) == {"ratio": 0.25}
    with pytest.raises(FormError, match="param ratio: 'half' is not a number"):
        conf_from_form(ratio, {"param-ratio": "half"})
    mapping = {"map": ParamSpec({}, None, {"type": "object"})}
    assert conf_from_form(mapping, {"param-map": '{"a": 1}'}) == {"map": {"a": 1}}
    with pytest.raises(FormError, match="param map: not JSON"):
        conf_from_form(mapping, {"param-map": "{a"})
