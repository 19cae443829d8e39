"""A DAG's Params as a form, and a posted form back to a run's ``conf``: no Airflow here.

The trigger page (:mod:`koppel.centre.trigger_pages`) reads each param of the
DAG Airflow serialized (its default, description and JSON schema) into a
:class:`ParamSpec` and shows it as one :class:`ParamField`, chosen from the
schema's ``type`` alone so any flow's params render without code per flow:

* an array of strings: a text area, one value per line ("only these orders");
* a boolean: a check box;
* an integer or number: a number input, with the schema's minimum and maximum;
* a string: a text input;
* anything else (objects, mixed types): a text area holding JSON.

:func:`conf_from_form` turns the posted fields into the run's ``conf``,
keeping only the values that differ from the param's default: Airflow fills
in the defaults itself, so the run shows in the grid what the user chose and
an untouched form triggers the same run as the DAG's own Trigger button.
Whether a value is *valid* is Airflow's business (``ParamsDict`` validation
against the schema); here a field only fails when it cannot be read at all
(``"abc"`` as an integer, broken JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: The prefix of a param's form field: keeps a param named like the CSRF field apart.
FIELD_PREFIX = "param-"

FieldKind = Literal["lines", "checkbox", "number", "text", "json"]


class FormError(ValueError):
    """A posted field that cannot be read as its param's type; names the param."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"param {name}: {message}")
        self.name = name


@dataclass(frozen=True)
class ParamSpec:
    """One DAG param as Airflow serialized it: its default, description and JSON schema."""

    default: Any
    description: str | None
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class ParamField:
    """One param as the form shows it: its input's kind, label, help text and current value."""

    name: str
    kind: FieldKind
    title: str
    description: str | None
    #: The text in the input (lines joined by newlines, a number, JSON); unused by check boxes.
    value: str
    checked: bool
    minimum: float | None
    maximum: float | None
    #: ``"1"`` for integers, ``"any"`` for numbers.
    step: str
    nullable: bool
    default: Any

    @property
    def field_name(self) -> str:
        """The name of the form field: the param's name behind :data:`FIELD_PREFIX`."""
        return FIELD_PREFIX + self.name


def _types(schema: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The schema's types other than null, and whether null is one of them."""
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    nullable = "null" in types
    return [t for t in types if t != "null"], nullable


def kind_of(schema: Mapping[str, Any]) -> FieldKind:
    """The input a param's schema asks for (see the module docstring)."""
    types, _ = _types(schema)
    if types == ["array"]:
        items = schema.get("items")
        item_type = items.get("type") if isinstance(items, Mapping) else "string"
        return "lines" if item_type in ("string", None) else "json"
    if types == ["boolean"]:
        return "checkbox"
    if types in (["integer"], ["number"]):
        return "number"
    if types == ["string"]:
        return "text"
    return "json"


def _shown(kind: FieldKind, value: Any) -> str:
    """A value as the input shows it."""
    if value is None:
        return ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind in ("number", "text"):
        return str(value)
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    return ""


def _bound(schema: Mapping[str, Any], key: str) -> float | None:
    value = schema.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def param_fields(
    specs: Mapping[str, ParamSpec], submitted: Mapping[str, str] | None = None
) -> list[ParamField]:
    """The form's fields, in the DAG's order: its defaults, or what was ``submitted``.

    Args:
        specs: the DAG's params by name.
        submitted: a posted form (its prefixed field names) to show again with an
            error; its values are shown as typed, not re-read.
    """
    fields = []
    for name, spec in specs.items():
        kind = kind_of(spec.schema)
        _, nullable = _types(spec.schema)
        key = FIELD_PREFIX + name
        if submitted is None:
            value, checked = _shown(kind, spec.default), spec.default is True
        else:
            value, checked = submitted.get(key, ""), key in submitted
        title = spec.schema.get("title")
        fields.append(
            ParamField(
                name=name,
                kind=kind,
                title=title if isinstance(title, str) and title else name,
                description=spec.description or spec.schema.get("description"),
                value=value,
                checked=checked,
                minimum=_bound(spec.schema, "minimum"),
                maximum=_bound(spec.schema, "maximum"),
                step="1" if _types(spec.schema)[0] == ["integer"] else "any",
                nullable=nullable,
                default=spec.default,
            )
        )
    return fields


def _read(field: ParamField, raw: str | None) -> tuple[bool, Any]:
    """A posted field's value: ``(False, None)`` when left empty with nothing to stand for.

    Raises:
        FormError: the text is not a number, or not JSON.
    """
    if field.kind == "checkbox":
        return True, raw is not None
    text = (raw or "").strip()
    if field.kind == "lines":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return True, None if not lines and field.nullable and field.default is None else lines
    if not text:
        return _empty(field)
    return True, _parsed(field, raw or "", text)


def _empty(field: ParamField) -> tuple[bool, Any]:
    """An empty input: null where allowed, an empty string for text, else the default."""
    if field.nullable:
        return True, None
    return (True, "") if field.kind == "text" else (False, None)


def _parsed(field: ParamField, raw: str, text: str) -> Any:
    """A filled-in input's value: the text as typed, a number, or JSON.

    Raises:
        FormError: the text is not a number, or not JSON.
    """
    if field.kind == "text":
        return raw
    if field.kind == "number":
        try:
            return int(text) if field.step == "1" else float(text)
        except ValueError:
            whole = "a whole number" if field.step == "1" else "a number"
            raise FormError(field.name, f"{text!r} is not {whole}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormError(field.name, f"not JSON: {exc}") from None


def conf_from_form(specs: Mapping[str, ParamSpec], form: Mapping[str, str]) -> dict[str, Any]:
    """The run's ``conf`` from a posted form: each param whose value differs from its default.

    A check box that is not posted is false; an empty text area of lines is an
    empty list (or null where null is the default); an empty number stands for
    the default (or null where null is allowed).

    Raises:
        FormError: a field cannot be read as its param's type.
    """
    conf: dict[str, Any] = {}
    for field in param_fields(specs):
        given, value = _read(field, form.get(field.field_name))
        if given and value != field.default:
            conf[field.name] = value
    return conf
