"""A broken mapping file fails at load time with MappingError naming the file and the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from koppel.errors import MappingError
from koppel.mapping import load_mapping

BASE: dict[str, Any] = {
    "format": "test.stock",
    "document": "StockLevel",
    "schema": "test/stock.xsd",
    "namespaces": {"s": "urn:test:stock"},
    "read": {
        "record": "/s:Stock/s:Item",
        "fields": {
            "sku": {"path": "s:Sku", "required": True},
            "quantity": {"path": "s:Qty", "type": "decimal"},
            "mode": {"path": "s:Mode", "lookup": "modes", "default": "F"},
        },
    },
    "write": {"element": "s:Stock", "children": [{"element": "Sku", "from": "sku"}]},
    "lookups": {"modes": {"F": "full", "D": "delta"}},
}


def _set(tree: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy of ``tree`` with the '/'-separated ``path`` set (value None deletes)."""
    result = copy.deepcopy(tree)
    *parents, last = path.split("/")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is None:
        del node[key]
    else:
        node[key] = value
    return result


def _write_spec() -> dict[str, Any]:
    return {"element": "s:Stock", "children": [{"element": "Sku", "from": "sku"}]}


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown document", _set(BASE, "document", "Invoice"), "document: unknown document 'Invoice'"),
    ("unknown top key", _set(BASE, "mappings", {}), "mappings: unknown key"),
    ("missing schema", _set(BASE, "schema", None), "schema: required"),
    (
        "unknown canonical field",
        _set(BASE, "read/fields/stock", {"path": "s:Qty"}),
        "read.fields.stock: unknown canonical field: StockLevel has no field 'stock'",
    ),
    (
        "bad XPath",
        _set(BASE, "read/fields/sku", {"path": "s:Sku["}),
        "read.fields.sku.path: invalid XPath",
    ),
    (
        "undeclared prefix",
        _set(BASE, "read/fields/sku", {"path": "x:Sku"}),
        "read.fields.sku.path: invalid XPath 'x:Sku'",
    ),
    ("bad record XPath", _set(BASE, "read/record", "//["), "read.record: invalid XPath"),
    (
        "unknown type",
        _set(BASE, "read/fields/quantity/type", "money"),
        "read.fields.quantity.type: unknown type 'money'",
    ),
    (
        "unknown lookup",
        _set(BASE, "read/fields/mode/lookup", "nope"),
        "read.fields.mode.lookup: no lookup table named 'nope'",
    ),
    (
        "default of the wrong type",
        _set(BASE, "read/fields/quantity/default", "lots"),
        "read.fields.quantity.default: 'lots' is not a valid decimal",
    ),
    (
        "unknown rule option",
        _set(BASE, "read/fields/sku/xpath", "s:Sku"),
        "read.fields.sku: unknown option(s) ['xpath']",
    ),
    (
        "both path and value",
        _set(BASE, "read/fields/sku/value", "X"),
        "read.fields.sku: give exactly one of 'path' or 'value'",
    ),
    (
        "required canonical field not mapped",
        _set(BASE, "read/fields/quantity", None),
        "read.fields: required field(s) of StockLevel not mapped: ['quantity']",
    ),
    (
        "each on a field that is no list",
        _set(BASE, "read/fields/warehouse", {"each": "s:W", "fields": {}}),
        "read.fields.warehouse: 'each' needs a canonical list of objects",
    ),
    (
        "write from an unknown field",
        _set(BASE, "write", _set(_write_spec(), "children/0/from", "skew")),
        "write/s:Stock/Sku.from: unknown canonical field",
    ),
    (
        "write each over a field that is no list",
        _set(BASE, "write/children/0/each", "sku"),
        "write/s:Stock/Sku.each: 'each' needs a canonical list of objects",
    ),
    (
        "write with an undeclared prefix",
        _set(BASE, "write", {"element": "q:Stock"}),
        "write/q:Stock: namespace prefix 'q' is not declared",
    ),
    (
        "write attribute with children",
        _set(
            BASE,
            "write",
            _set(_write_spec(), "children/0", {"attribute": "a", "value": "1", "children": []}),
        ),
        "write/s:Stock/@a: an attribute needs a value",
    ),
    (
        "write node with two value sources",
        _set(BASE, "write", _set(_write_spec(), "children/0/context", "origin")),
        "write/s:Stock/Sku: give at most one of",
    ),
    (
        "write places that are not a number",
        _set(BASE, "write", _set(_write_spec(), "children/0/places", "two")),
        "write/s:Stock/Sku.places",
    ),
    (
        "write where without each",
        _set(BASE, "write", _set(_write_spec(), "children/0/where", {"sku": "x"})),
        "write/s:Stock/Sku.where: 'where' filters the items of 'each'",
    ),
]


@pytest.mark.parametrize(("case", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_broken_mapping_names_file_and_key(
    tmp_path: Path, case: str, spec: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "test.stock.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_the_base_mapping_itself_loads(tmp_path: Path) -> None:
    path = tmp_path / "test.stock.yaml"
    path.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    definition = load_mapping(path)
    assert definition.name == "test.stock"
    assert definition.lookups == {"modes": {"F": "full", "D": "delta"}}


def test_a_file_that_is_not_yaml_is_a_mapping_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("format: [unclosed\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"broken\.yaml: cannot read mapping"):
        load_mapping(path)
