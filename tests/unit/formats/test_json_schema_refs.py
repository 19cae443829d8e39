"""Local ``$ref``s are inlined once when a JSON schema loads, with the same verdicts as before."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from koppel.formats.json_schema import inline_local_refs

SCHEMA: dict[str, Any] = {
    "$defs": {
        "decimal": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
        "line": {
            "type": "object",
            "required": ["price"],
            "properties": {"price": {"$ref": "#/$defs/decimal"}},
        },
        "tree": {"type": "object", "properties": {"children": {"items": {"$ref": "#/$defs/tree"}}}},
    },
    "type": "object",
    "properties": {
        "amount": {"$ref": "#/$defs/decimal", "description": "beside the $ref"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}},
        "tree": {"$ref": "#/$defs/tree"},
        "elsewhere": {"$ref": "order.schema.json"},
    },
}


def test_local_references_are_inlined_and_others_kept() -> None:
    inlined = inline_local_refs(SCHEMA)
    amount = inlined["properties"]["amount"]
    assert amount == {"allOf": [SCHEMA["$defs"]["decimal"]], "description": "beside the $ref"}
    line = inlined["properties"]["lines"]["items"]["allOf"][0]
    assert line["properties"]["price"] == {"allOf": [SCHEMA["$defs"]["decimal"]]}
    assert inlined["properties"]["elsewhere"] == {"$ref": "order.schema.json"}


def test_a_definition_that_refers_to_itself_keeps_its_ref() -> None:
    tree = inline_local_refs(SCHEMA)["properties"]["tree"]["allOf"][0]
    assert tree["properties"]["children"]["items"] == {"$ref": "#/$defs/tree"}


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "12.50", "lines": [{"price": "1"}]},
        {"amount": 12.5},
        {"lines": [{"price": "x"}]},
        {"lines": [{}]},
        {"tree": {"children": [{"children": [{"children": 3}]}]}},
        {"tree": {"children": [{"children": []}]}},
    ],
)
def test_the_inlined_schema_judges_as_the_original(body: dict[str, Any]) -> None:
    local = {k: v for k, v in SCHEMA["properties"].items() if k != "elsewhere"}
    schema = {**SCHEMA, "properties": local}
    original = sorted(e.message for e in Draft202012Validator(schema).iter_errors(body))
    inlined = Draft202012Validator(inline_local_refs(schema)).iter_errors(body)
    assert sorted(e.message for e in inlined) == original
