"""Batch writes: one file holding many documents, with values written once per file."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from koppel.documents import StockLevel, StockMode
from koppel.errors import MappingError
from koppel.formats import default_registry, parse_xml
from koppel.mapping import (
    DocumentWriteError,
    MappingDefinition,
    load_mapping,
    read_documents,
    write_document,
    write_documents,
)

NS = "urn:test:stock"
BATCH: dict[str, Any] = {
    "format": "test.stock",
    "document": "StockLevel",
    "schema": "test/stock.xsd",
    "namespaces": {"s": NS},
    "read": {
        "record": "/s:Stock/s:Items/s:Item",
        "fields": {
            "sku": {"path": "s:Sku", "required": True},
            "quantity": {"path": "s:Qty", "type": "int", "required": True},
            "warehouse": {"path": "/s:Stock/s:Warehouse"},
        },
    },
    "write": {
        "element": "s:Stock",
        "children": [
            {"attribute": "source", "context": "connection_id", "required": True},
            {"attribute": "asOf", "context": "as_of", "type": "datetime", "format": "%Y%m%d%H%M"},
            {"element": "Warehouse", "from": "warehouse"},
            {
                "element": "Items",
                "children": [
                    {
                        "element": "Item",
                        "record": True,
                        "children": [
                            {"element": "Sku", "from": "sku", "required": True},
                            {"element": "Qty", "from": "quantity", "type": "int"},
                            {"element": "Mode", "from": "/mode"},
                        ],
                    }
                ],
            },
        ],
    },
}
CONTEXT = {"connection_id": "itsperfect_acme", "as_of": "2025-03-31T05:00:00"}


def _load(tmp_path: Path, spec: dict[str, Any]) -> MappingDefinition:
    path = tmp_path / "test.stock.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return load_mapping(path)


@pytest.fixture
def batch(tmp_path: Path) -> MappingDefinition:
    return _load(tmp_path, BATCH)


def _level(sku: str, quantity: str, warehouse: str | None = "WH-1") -> StockLevel:
    return StockLevel(sku=sku, quantity=Decimal(quantity), warehouse=warehouse)


def _texts(root: etree._Element, path: str) -> list[str]:
    return [str(text) for text in root.xpath(path, namespaces={"s": NS})]


def test_one_file_holds_every_document_with_file_level_values_written_once(
    batch: MappingDefinition,
) -> None:
    levels = [_level("A-1", "3"), _level("B-2", "0"), _level("C-3", "12")]
    data = write_documents(batch, levels, context=CONTEXT)
    root = etree.fromstring(data)
    assert root.tag == f"{{{NS}}}Stock"
    assert root.get("source") == "itsperfect_acme"
    assert root.get("asOf") == "202503310500"
    assert _texts(root, "s:Warehouse/text()") == ["WH-1"]
    assert _texts(root, "s:Items/s:Item/s:Sku/text()") == ["A-1", "B-2", "C-3"]
    assert _texts(root, "s:Items/s:Item/s:Qty/text()") == ["3", "0", "12"]
    assert _texts(root, "s:Items/s:Item/s:Mode/text()") == ["full"] * 3
    documents, problems = read_documents(batch, parse_xml(data, source="b"), source="b")
    assert problems == []
    assert documents == levels


def test_an_empty_batch_is_the_file_level_alone(batch: MappingDefinition) -> None:
    root = etree.fromstring(write_documents(batch, [], context=CONTEXT))
    assert [etree.QName(child).localname for child in root] == []
    assert root.attrib == {"source": "itsperfect_acme", "asOf": "202503310500"}


def test_write_of_a_batch_format_writes_a_batch_of_one(batch: MappingDefinition) -> None:
    level = _level("A-1", "3")
    assert batch.writes_batches
    single = write_document(batch, level, context=CONTEXT)
    assert single == write_documents(batch, [level], context=CONTEXT)
    assert _texts(etree.fromstring(single), "s:Items/s:Item/s:Sku/text()") == ["A-1"]


def test_write_many_on_a_one_document_format_raises() -> None:
    monta_order = default_registry().get("monta.order")
    assert not monta_order.writes_batches
    with pytest.raises(MappingError, match=r"write: format monta\.order writes one document"):
        monta_order.write_many([], context={})


def test_write_documents_refuses_documents_of_another_class(batch: MappingDefinition) -> None:
    monta_order = default_registry().get("monta.order").definition
    with pytest.raises(MappingError, match="document: expects StockLevel"):
        write_documents(batch, [monta_order.document_class.model_construct()], context=CONTEXT)


@pytest.mark.parametrize(
    ("levels", "context", "expected"),
    [
        (
            [_level("A-1", "3", "WH-1"), _level("B-2", "1", "WH-2")],
            CONTEXT,
            [("mapping.batch", "warehouse", "one file needs one warehouse; the documents have")],
        ),
        (
            [_level("A-1", "3"), _level("B-2", "1.5")],
            CONTEXT,
            [("mapping.value", "[1].quantity", "is not a whole number")],
        ),
        (
            [_level("A-1", "3")],
            {"as_of": "yesterday"},
            [
                ("mapping.context", "context.connection_id", "required value for source"),
                ("mapping.value", "context.as_of", "Invalid isoformat string"),
            ],
        ),
    ],
    ids=["documents disagree on a file value", "bad value in the second record", "bad context"],
)
def test_every_problem_of_a_batch_is_reported_with_its_document(
    batch: MappingDefinition,
    levels: list[StockLevel],
    context: dict[str, str],
    expected: list[tuple[str, str, str]],
) -> None:
    with pytest.raises(DocumentWriteError) as caught:
        write_documents(batch, levels, context=context)
    problems = caught.value.problems
    assert [(p.code, p.field) for p in problems] == [(code, field) for code, field, _ in expected]
    for problem, (_, _, message) in zip(problems, expected, strict=True):
        assert message in problem.message


def test_documents_without_a_shared_value_leave_it_out(batch: MappingDefinition) -> None:
    levels = [_level("A-1", "3", None), _level("B-2", "1", None)]
    root = etree.fromstring(write_documents(batch, levels, context=CONTEXT))
    assert _texts(root, "s:Warehouse/text()") == []
    level = StockLevel(
        sku="X", quantity=Decimal(1), as_of=datetime(2025, 3, 31), mode=StockMode.DELTA
    )
    root = etree.fromstring(write_documents(batch, [level], context=CONTEXT))
    assert _texts(root, "s:Items/s:Item/s:Mode/text()") == ["delta"]


def _with_write(children: list[dict[str, Any]], **root: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BATCH)
    spec["write"] = {"element": "s:Stock", **root, "children": children}
    return spec


_ITEM = {"element": "Item", "record": True, "children": [{"element": "Sku", "from": "sku"}]}

LOAD_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("two records", _with_write([_ITEM, _ITEM]), "write: a batch has one 'record' node, found 2"),
    (
        "record on the root",
        _with_write([], record=True),
        "write: the root must be one 'element' without 'each' or 'record'",
    ),
    (
        "record on an attribute",
        _with_write([{"attribute": "sku", "from": "sku", "record": True}]),
        "write/s:Stock/@sku.record: a record is an element without 'each'",
    ),
    (
        "record with each",
        _with_write([{**_ITEM, "each": "lines"}]),
        "write/s:Stock/Item.record: a record is an element without 'each'",
    ),
    (
        "record that is not a flag",
        _with_write([{**_ITEM, "record": "yes"}]),
        "write/s:Stock/Item.record: expected true or false",
    ),
    (
        "each at file level",
        _with_write([_ITEM, {"element": "Line", "each": "lines"}]),
        "write/s:Stock/Line.each: outside the record there is no canonical list",
    ),
    (
        "unknown field below the record",
        _with_write([{**_ITEM, "children": [{"element": "Sku", "from": "skew"}]}]),
        "write/s:Stock/Item/Sku.from: unknown canonical field",
    ),
    (
        "unknown shared field at file level",
        _with_write([_ITEM, {"element": "Warehouse", "from": "depot"}]),
        "write/s:Stock/Warehouse.from: unknown canonical field",
    ),
]


@pytest.mark.parametrize(
    ("spec", "message"),
    [case[1:] for case in LOAD_ERRORS],
    ids=[case[0] for case in LOAD_ERRORS],
)
def test_a_broken_batch_mapping_fails_at_load_time(
    tmp_path: Path, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(MappingError, match=r"test\.stock\.yaml: ") as caught:
        _load(tmp_path, spec)
    assert message in str(caught.value)


def test_a_mapping_without_a_record_still_writes_one_document(tmp_path: Path) -> None:
    spec = _with_write([{"element": "Sku", "from": "sku"}])
    definition = _load(tmp_path, spec)
    assert not definition.writes_batches
    root = etree.fromstring(write_document(definition, _level("A-1", "1"), context={}))
    assert _texts(root, "s:Sku/text()") == ["A-1"]
    with pytest.raises(MappingError, match="writes one document per file"):
        write_documents(definition, [_level("A-1", "1")], context={})
