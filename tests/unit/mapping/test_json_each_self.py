"""JSON list rules with ``if: <path>`` and ``each: $``: a list of one out of scalar columns.

A store's delivery row keeps one lot in ``lot_number``/``lot_expiry_date``
while the canonical line keeps a list of lots; ``each: $`` makes the row the
one item and ``if`` reads it only where the row has a lot, so a row without
one reads as an empty list rather than a lot without its number.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from koppel.documents import Lot, SerialNumber, Waybill
from koppel.errors import MappingError
from koppel.formats import parse_json
from koppel.mapping import MappingDefinition, load_mapping, read_json_documents

LINES: dict[str, Any] = {
    "each": "lines",
    "fields": {
        "line_id": {"path": "n", "required": True},
        "quantity": {"path": "qty", "type": "decimal", "required": True},
        "lots": {
            "each": "$",
            "if": "lot",
            "fields": {
                "number": {"path": "lot"},
                "expiry_date": {"path": "lot_expiry", "type": "date"},
            },
        },
        "serial_numbers": {
            "each": "extra_serials",
            "if": "traced",
            "fields": {"value": {"path": "$"}},
        },
    },
}

MAPPING: dict[str, Any] = {
    "format": "test.deliveries",
    "document": "Waybill",
    "syntax": "json",
    "schema": "test/deliveries.schema.json",
    "read": {
        "record": "$",
        "fields": {
            "waybill_id": {"path": "id", "required": True},
            "order_id": {"path": "order", "required": True},
            "lines": LINES,
        },
    },
}


def _load(tmp_path: Path, spec: dict[str, Any]) -> MappingDefinition:
    path = tmp_path / f"{spec['format']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return load_mapping(path)


def _read(definition: MappingDefinition, *lines: dict[str, Any]) -> Any:
    body = parse_json(
        json.dumps({"id": "D1", "order": "7", "lines": list(lines)}).encode(), source="x"
    )
    return read_json_documents(definition, body, source="delivery.json")


def _line(**columns: object) -> dict[str, Any]:
    return {"n": "1", "qty": "8"} | columns


@pytest.fixture
def deliveries(tmp_path: Path) -> MappingDefinition:
    return _load(tmp_path, MAPPING)


# --- reading -----------------------------------------------------------------------------


def test_a_row_with_a_lot_is_a_list_of_that_one_lot(deliveries: MappingDefinition) -> None:
    (waybill,), problems = _read(deliveries, _line(lot="L-2611", lot_expiry="2027-05-31"))

    assert problems == []
    assert isinstance(waybill, Waybill)
    (line,) = waybill.lines
    assert line.lots == [Lot(number="L-2611", expiry_date=date(2027, 5, 31))]
    assert line.quantity == Decimal(8)


@pytest.mark.parametrize(
    "columns",
    [{}, {"lot": None}, {"lot": "   "}, {"lot": None, "lot_expiry": "2027-05-31"}],
    ids=["absent", "null", "blank", "expiry without a number"],
)
def test_a_row_without_a_lot_has_no_lots(
    deliveries: MappingDefinition, columns: dict[str, Any]
) -> None:
    (waybill,), problems = _read(deliveries, _line(**columns))

    assert problems == []
    assert waybill.lines[0].lots == []


def test_each_line_decides_for_itself(deliveries: MappingDefinition) -> None:
    (waybill,), problems = _read(
        deliveries,
        _line(n="1", lot="A"),
        _line(n="2"),
        _line(n="3", lot="C", lot_expiry="2027-01-31"),
    )

    assert problems == []
    assert [line.lots for line in waybill.lines] == [
        [Lot(number="A")],
        [],
        [Lot(number="C", expiry_date=date(2027, 1, 31))],
    ]


def test_if_gates_an_array_each_too(deliveries: MappingDefinition) -> None:
    serials = ["S1", "S2"]
    (waybill,), problems = _read(
        deliveries,
        _line(n="1", traced=True, extra_serials=serials),
        _line(n="2", traced=None, extra_serials=serials),
        _line(n="3", traced=False, extra_serials=serials),
    )

    assert problems == []
    assert [line.serial_numbers for line in waybill.lines] == [
        [SerialNumber(value="S1"), SerialNumber(value="S2")],
        [],
        [SerialNumber(value="S1"), SerialNumber(value="S2")],  # false is a value
    ]


def test_a_bad_value_in_the_one_item_points_at_the_row(deliveries: MappingDefinition) -> None:
    documents, problems = _read(deliveries, _line(), _line(n="2", lot="L", lot_expiry="2027-13-01"))

    assert documents == []
    assert [(p.code, p.field, p.file) for p in problems] == [
        ("mapping.value", "lines[1].lot_expiry", "delivery.json")
    ]


def test_an_if_path_of_the_wrong_shape_is_a_problem(deliveries: MappingDefinition) -> None:
    spec = copy.deepcopy(MAPPING)
    spec["read"]["fields"]["lines"]["fields"]["lots"]["if"] = "lot.number"
    definition = _load(deliveries.source.parent, spec)

    documents, problems = _read(definition, _line(lot="L-1"))

    assert documents == []
    assert [(p.code, p.field) for p in problems] == [("mapping.value", "lines[0].lot")]
    assert "expected an object, got string" in problems[0].message


def test_the_record_itself_can_be_the_one_item(tmp_path: Path) -> None:
    spec = copy.deepcopy(MAPPING)
    spec["read"]["fields"]["lines"] = {
        "each": "$",
        "if": "n",
        "fields": {
            "line_id": {"path": "n", "required": True},
            "quantity": {"path": "qty", "type": "decimal", "required": True},
        },
    }
    definition = _load(tmp_path, spec)
    body = parse_json(b'{"id": "D1", "order": "7", "n": "1", "qty": "2"}', source="x")

    (waybill,), problems = read_json_documents(definition, body, source="row.json")

    assert problems == []
    assert [(line.line_id, line.quantity) for line in waybill.lines] == [("1", Decimal(2))]


# --- load-time checks --------------------------------------------------------------------


def _lots(**rule: object) -> dict[str, Any]:
    spec = copy.deepcopy(MAPPING)
    lots = spec["read"]["fields"]["lines"]["fields"]["lots"]
    for key, value in rule.items():
        if value is None:
            del lots[key]
        else:
            lots[key] = value
    return spec


LOTS = "test.deliveries.yaml: read.fields.lines.fields.lots"
MISUSE: list[tuple[str, dict[str, Any], str]] = [
    ("each $ without if", _lots(**{"if": None}), f"{LOTS}.each: '$' makes the current object"),
    ("if $", _lots(**{"if": "$"}), f"{LOTS}.if: '$' always has a value"),
    ("if not a path", _lots(**{"if": "lot..number"}), f"{LOTS}.if: invalid JSON path"),
    ("if empty", _lots(**{"if": ""}), f"{LOTS}.if: expected a JSON path"),
    ("if a list", _lots(**{"if": ["lot"]}), f"{LOTS}.if: expected a JSON path"),
    (
        "unknown list option",
        _lots(unless="lot"),
        f"{LOTS}: a list rule has 'each' and 'fields', and may have 'if'",
    ),
    ("if without each", _lots(each=None), f"{LOTS}: unknown option(s) ['fields', 'if']"),
]


@pytest.mark.parametrize(("spec", "message"), [c[1:] for c in MISUSE], ids=[c[0] for c in MISUSE])
def test_misuse_is_refused_naming_the_file_and_key(
    tmp_path: Path, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(MappingError) as caught:
        _load(tmp_path, spec)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path))


XML_MAPPING: dict[str, Any] = {
    "format": "test.xml_deliveries",
    "document": "Waybill",
    "schema": "test/deliveries.xsd",
    "read": {
        "record": "/Delivery",
        "fields": {
            "waybill_id": {"path": "Id", "required": True},
            "order_id": {"path": "Order", "required": True},
            "lines": {
                "each": "Line",
                "fields": {
                    "line_id": {"path": "N", "required": True},
                    "quantity": {"path": "Qty", "type": "decimal", "required": True},
                    "lots": {"each": "Lot", "fields": {"number": {"path": "Number"}}},
                },
            },
        },
    },
}


def test_xml_list_rules_are_unchanged_and_refuse_if(tmp_path: Path) -> None:
    assert _load(tmp_path, XML_MAPPING).name == "test.xml_deliveries"
    spec = copy.deepcopy(XML_MAPPING)
    spec["read"]["fields"]["lines"]["fields"]["lots"]["if"] = "Number"

    with pytest.raises(MappingError) as caught:
        _load(tmp_path, spec)

    assert "test.xml_deliveries.yaml: read.fields.lines.fields.lots: a list rule has exactly" in (
        str(caught.value)
    )
