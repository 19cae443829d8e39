"""XSD errors found while parsing: counted, and located as lxml's tree validation locates them."""

from __future__ import annotations

import pytest
from lxml import etree

from koppel import INCLUDE_DIR
from koppel.documents import TRUNCATED
from koppel.formats import default_registry, parse_xml
from koppel.formats.schema import load_schema, validate
from koppel.formats.streamed import XsdError, count_errors, first_errors
from koppel.sandbox import samples_warehouse

STOCK_XSD = INCLUDE_DIR / "schemas" / "monta" / "stock.xsd"
STOCK = samples_warehouse.full_stock({"A": 1, "B": 2, "C": 3})


def _flat_stock(products: int) -> bytes:
    """A stock file whose ``Products`` holds ``products`` empty ``<Product/>``, one per line."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<StockUpdate xmlns="urn:koppel:monta:stock:1" version="1">\n'
        b"<Warehouse>W</Warehouse><GeneratedAt>2025-03-31T05:00:00</GeneratedAt>\n"
        b"<Products>\n" + b"<Product/>\n" * products + b"</Products>\n</StockUpdate>\n"
    )


def test_80000_empty_siblings_are_rejected_with_the_first_100_located_and_a_count() -> None:
    # lxml's tree validation would name all 80,000 nodes, each by counting
    # its preceding siblings: minutes. Product n is on line 4 + n.
    result = default_registry().get("monta.stock").read(_flat_stock(80_000), source="flat.xml")
    assert result.documents == []
    assert len(result.problems) == 101
    first, summary = result.problems[:100], result.problems[100]
    assert [(p.code, p.file, p.line, p.field) for p in first] == [
        ("xsd.invalid", "flat.xml", 4 + n, f"/StockUpdate/Products/Product[{n}]")
        for n in range(1, 101)
    ]
    assert "Missing child element(s)" in first[0].message
    assert summary.code == TRUNCATED
    assert summary.message.startswith(
        "… and 79,900 more problems were not stored (79,900 xsd.invalid)"
    )


def test_a_small_invalid_file_keeps_line_and_path() -> None:
    data = STOCK.replace(b"<AvailableQuantity>2<", b"<AvailableQuantity>-2<")
    problems = validate(parse_xml(data, source="s.xml"), load_schema(STOCK_XSD), source="s.xml")
    line = data[: data.index(b">-2<")].count(b"\n") + 1
    assert [(p.code, p.line, p.field) for p in problems] == [
        ("xsd.invalid", line, "/StockUpdate/Products/Product[2]/AvailableQuantity")
    ]


def _tree_errors(tree: etree._ElementTree, schema: etree.XMLSchema) -> list[XsdError]:
    """The errors as lxml's tree validation locates them: what the streamed ones must match."""
    schema.validate(tree)
    return [XsdError(e.type, e.message, e.line or None, e.path) for e in schema.error_log]


def _stock_with(old: bytes, new: bytes) -> bytes:
    return STOCK.replace(old, new)


@pytest.mark.parametrize(
    "data",
    [
        _stock_with(b"<AvailableQuantity>2<", b"<AvailableQuantity>-2<"),  # a value, at its end
        _stock_with(b"<Sku>B</Sku>", b"<Sku>B</Sku><Bogus/>"),  # an unexpected element
        _stock_with(b"<Sku>B</Sku>", b""),  # a missing child, at the parent's end
        _stock_with(b"<Sku>B</Sku>", b"<Sku><Sku>B</Sku></Sku>"),  # on the parent, at a child
        _stock_with(b"<Products>", b"<Products>loose text"),  # text in element-only content
        _stock_with(b'version="1"', b'version="2" extra="x"'),  # attributes
        _stock_with(b"<Sku>B</Sku>", b"<Sku>A</Sku>"),  # a duplicate key
        _stock_with(b"<Sku>B</Sku>", b"<Sku/><!-- a comment --><?pi between?>"),
        b"<x:Other xmlns:x='urn:other'><Products/></x:Other>",  # a wrong root, the only error
    ],
)
def test_streamed_errors_are_located_as_the_tree_validation_locates_them(data: bytes) -> None:
    tree = parse_xml(data, source="t.xml")
    schema = load_schema(STOCK_XSD)
    expected = _tree_errors(tree, schema)
    serialized = etree.tostring(tree, encoding="utf-8")
    assert expected
    assert count_errors(serialized, schema) == len(expected)
    assert first_errors(tree, serialized, schema, limit=100) == expected


def test_streaming_stops_at_the_limit() -> None:
    tree = parse_xml(_flat_stock(10), source="t.xml")
    schema = load_schema(STOCK_XSD)
    serialized = etree.tostring(tree, encoding="utf-8")
    assert first_errors(tree, serialized, schema, limit=3) == _tree_errors(tree, schema)[:3]


def test_a_valid_document_counts_no_errors() -> None:
    assert count_errors(STOCK, load_schema(STOCK_XSD)) == 0
