"""Our own output is checked against the schema as a tree, and still caught when invalid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from koppel.documents import Order
from koppel.formats import Format, default_registry, load_schema
from koppel.sandbox import samples


@pytest.fixture(scope="module")
def itsperfect() -> Format:
    return default_registry().get("itsperfect.order")


@pytest.fixture(scope="module")
def order(itsperfect: Format) -> Order:
    (document,) = itsperfect.read(
        samples.good_order("IP-2025-0601", lines=3), source="o.xml"
    ).documents
    assert isinstance(document, Order)
    return document


def test_a_valid_written_document_passes(itsperfect: Format, order: Order) -> None:
    payload = itsperfect.write(order, context={})
    assert itsperfect.validate(payload, source="out.xml") == []


def test_an_invalid_written_document_is_reported_with_line_and_path(
    itsperfect: Format, order: Order
) -> None:
    bad_line = order.lines[1].model_copy(update={"line_id": "two"})  # the XSD wants a number
    payload = itsperfect.write(
        order.model_copy(update={"lines": [order.lines[0], bad_line]}), context={}
    )
    problems = itsperfect.validate(payload, source="out.xml")
    assert [p.code for p in problems] == ["xsd.invalid"]
    (problem,) = problems
    assert problem.field == "/Orders/Order/Lines/Line[2]/LineNumber"
    assert problem.file == "out.xml"
    line = payload[: payload.index(b"<LineNumber>two<")].count(b"\n") + 1
    assert problem.line == line


def test_the_same_bytes_stay_invalid_after_valid_ones_were_written(
    itsperfect: Format, order: Order
) -> None:
    bad = order.model_copy(update={"lines": [order.lines[0].model_copy(update={"line_id": "x"})]})
    invalid = itsperfect.write(bad, context={})
    for number in range(40):  # more valid writes than the format remembers
        itsperfect.write(order.model_copy(update={"order_id": f"IP-{number}"}), context={})
    assert itsperfect.validate(invalid, source="again.xml")
    assert itsperfect.validate(bytes(invalid), source="copy.xml")


def test_bytes_from_elsewhere_are_parsed_and_checked(itsperfect: Format) -> None:
    assert itsperfect.validate(samples.good_order("IP-2025-0602"), source="in.xml") == []
    problems = itsperfect.validate(samples.xsd_violation(), source="in.xml")
    assert [p.code for p in problems] == ["xsd.invalid"]


def test_a_schema_is_loaded_once_by_absolute_and_by_relative_path(itsperfect: Format) -> None:
    absolute = itsperfect.schema_path.resolve()
    assert load_schema(absolute) is load_schema(absolute)
    relative = Path(os.path.relpath(absolute))
    assert load_schema(relative) is load_schema(absolute)
