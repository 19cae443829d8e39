"""The mapping engine on documents other than orders: types, lookups, lists, problems, writing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import FinancialMutation, MutationLevel, PostingLine, Price
from koppel.errors import MappingError
from koppel.formats import parse_xml
from koppel.mapping import (
    DocumentWriteError,
    MappingDefinition,
    load_mapping,
    read_documents,
    write_document,
)

LEDGER_MAPPING = """
format: test.ledger
document: FinancialMutation
schema: test/ledger.xsd
namespaces: {l: "urn:test:ledger", x: "urn:test:extra"}
read:
  record: //l:Journal
  fields:
    mutation_id: {path: "@id", required: true}
    source_document_id: {path: l:Ref, required: true}
    level: {path: l:Detail, lookup: levels, default: S}
    booking_date: {path: l:Date, type: date, format: "%d-%m-%Y"}
    currency: {value: EUR}
    lines:
      each: l:Post
      fields:
        account: {path: l:Account, required: true}
        debit: {path: l:Debit, type: decimal, default: "0"}
        credit: {path: l:Credit, type: decimal, default: "0"}
        is_rounding: {path: "@rounding", type: bool, default: "false"}
write:
  element: l:Journals
  children:
    - element: Journal
      children:
        - {attribute: id, from: mutation_id}
        - {attribute: source, context: system, required: true}
        - {element: Ref, from: source_document_id}
        - {element: Detail, from: level, lookup: levels}
        - {element: Date, from: booking_date, type: date, format: "%d-%m-%Y"}
        - {element: x:Generator, value: koppel}
        - element: Post
          each: lines
          where: {is_rounding: "false"}
          children:
            - {element: Account, from: account}
            - {element: Debit, from: debit, type: decimal, places: 2}
            - {element: Currency, from: /currency}
        - element: Rounding
          each: lines
          where: {is_rounding: "true"}
          from: credit
          type: decimal
          places: 2
        - element: Optional
          children:
            - {element: Description, from: lines.0.description}
        - {element: TaxCode, from: lines.0.tax_code, default: NONE}
lookups:
  levels: {S: simple, R: recommended, A: advanced, E: extreme}
"""

PRICE_MAPPING = """
format: test.price
document: Price
schema: test/price.xsd
read:
  record: /Prices/Price
  fields:
    price_list_id: {path: List, required: true}
    sku: {path: Sku, required: true}
    currency: {path: Amount/@currency}
    amount: {path: Amount, type: decimal, required: true}
    min_quantity: {path: From, type: int, default: "1"}
"""


def _mapping(tmp_path: Path, text: str, name: str) -> MappingDefinition:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


@pytest.fixture
def ledger(tmp_path: Path) -> MappingDefinition:
    return _mapping(tmp_path, LEDGER_MAPPING, "test.ledger")


@pytest.fixture
def prices(tmp_path: Path) -> MappingDefinition:
    return _mapping(tmp_path, PRICE_MAPPING, "test.price")


JOURNAL = b"""<?xml version="1.0"?>
<Journals xmlns="urn:test:ledger">
  <Journal id="M-1">
    <Ref>INV-7</Ref>
    <Detail>E</Detail>
    <Date>31-03-2025</Date>
    <Post><Account>8000</Account><Credit>100.10</Credit></Post>
    <Post><Account>1300</Account><Debit>100.09</Debit></Post>
    <Post rounding="1"><Account>8990</Account><Debit>0.01</Debit></Post>
  </Journal>
</Journals>
"""


def test_reading_converts_types_lookups_defaults_constants_and_attributes(
    ledger: MappingDefinition,
) -> None:
    documents, problems = read_documents(ledger, parse_xml(JOURNAL, source="j.xml"), source="j")
    assert problems == []
    (mutation,) = documents
    assert mutation == FinancialMutation(
        mutation_id="M-1",
        source_document_id="INV-7",
        level=MutationLevel.EXTREME,
        booking_date=date(2025, 3, 31),
        currency="EUR",
        lines=[
            PostingLine(account="8000", credit=Decimal("100.10")),
            PostingLine(account="1300", debit=Decimal("100.09")),
            PostingLine(account="8990", debit=Decimal("0.01"), is_rounding=True),
        ],
    )
    assert mutation.imbalance() == Decimal(0)


def test_reading_reports_every_bad_value_with_field_and_line(ledger: MappingDefinition) -> None:
    data = (
        JOURNAL.replace(b"<Detail>E</Detail>", b"<Detail>Z</Detail>")
        .replace(b"<Debit>100.09</Debit>", b"<Debit>lots</Debit>")
        .replace(b'rounding="1"', b'rounding="maybe"')
        .replace(b"<Account>8000</Account>", b"")
    )
    documents, problems = read_documents(ledger, parse_xml(data, source="j"), source="j.xml")
    assert documents == []
    found = {(p.code, p.field, p.line) for p in problems}
    assert found == {
        ("mapping.lookup", "level", 5),
        ("mapping.required", "lines[0].account", 7),
        ("mapping.value", "lines[1].debit", 8),
        ("mapping.value", "lines[2].is_rounding", 9),
    }
    assert {p.file for p in problems} == {"j.xml"}


def test_pydantic_errors_become_problems_at_the_line_of_the_value(
    prices: MappingDefinition,
) -> None:
    data = b"""<Prices>
  <Price><List>RRP</List><Sku>A</Sku><Amount currency="EUR">10.00</Amount></Price>
  <Price><List>RRP</List><Sku>B</Sku>
    <Amount currency="euro">12.50</Amount></Price>
</Prices>"""
    documents, problems = read_documents(prices, parse_xml(data, source="p"), source="p.xml")
    assert documents == [
        Price(price_list_id="RRP", sku="A", currency="EUR", amount=Decimal("10.00"))
    ]
    (problem,) = problems
    assert (problem.code, problem.field, problem.line) == ("mapping.invalid", "currency", 4)
    assert "pattern" in problem.message


def test_a_missing_required_field_points_at_the_record(prices: MappingDefinition) -> None:
    data = b"<Prices>\n<Price><List>RRP</List><Amount currency='EUR'>1</Amount></Price>\n</Prices>"
    documents, problems = read_documents(prices, parse_xml(data, source="p"), source="p.xml")
    assert documents == []
    assert [(p.code, p.field, p.line) for p in problems] == [("mapping.required", "sku", 2)]


def _mutation() -> FinancialMutation:
    return FinancialMutation(
        mutation_id="M-9",
        source_document_id="INV-9",
        level=MutationLevel.ADVANCED,
        booking_date=date(2025, 1, 5),
        currency="USD",
        lines=[
            PostingLine(account="8000", debit=Decimal("10.005")),
            PostingLine(account="8990", credit=Decimal("0.004"), is_rounding=True),
        ],
    )


def test_writing_builds_the_declared_tree(ledger: MappingDefinition) -> None:
    payload = write_document(ledger, _mutation(), context={"system": "koppel-test"})
    assert payload.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(payload)
    ns = {"l": "urn:test:ledger", "x": "urn:test:extra"}
    journal = root.find("l:Journal", ns)
    assert journal is not None
    assert journal.attrib == {"id": "M-9", "source": "koppel-test"}
    assert journal.findtext("l:Detail", namespaces=ns) == "A"
    assert journal.findtext("l:Date", namespaces=ns) == "05-01-2025"
    assert journal.findtext("x:Generator", namespaces=ns) == "koppel"
    posts = journal.findall("l:Post", ns)
    assert [
        (p.findtext("l:Account", namespaces=ns), p.findtext("l:Debit", namespaces=ns))
        for p in posts
    ] == [("8000", "10.01")]
    assert posts[0].findtext("l:Currency", namespaces=ns) == "USD"
    assert [r.text for r in journal.findall("l:Rounding", ns)] == ["0.00"]
    assert journal.find("l:Optional", ns) is None
    assert journal.findtext("l:TaxCode", namespaces=ns) == "NONE"


def test_writing_collects_every_problem_before_raising(ledger: MappingDefinition) -> None:
    odd = _mutation().model_copy(update={"level": MutationLevel.SIMPLE})
    table = dict(ledger.lookups["levels"])
    del table["S"]
    no_simple = MappingDefinition(**{**ledger.__dict__, "lookups": {"levels": table}})
    with pytest.raises(DocumentWriteError) as caught:
        write_document(no_simple, odd, context={})
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("mapping.context", "context.system"),
        ("mapping.lookup", "level"),
    ]


def test_writing_a_fraction_as_a_whole_number_is_a_problem(tmp_path: Path) -> None:
    text = (
        PRICE_MAPPING
        + "write:\n  element: P\n  children:\n    - {element: F, from: min_quantity, type: int}\n"
    )
    definition = _mapping(tmp_path, text, "test.price")
    price = Price(
        price_list_id="L", sku="S", currency="EUR", amount=Decimal(1), min_quantity=Decimal("1.5")
    )
    with pytest.raises(DocumentWriteError) as caught:
        write_document(definition, price, context={})
    assert [(p.code, p.field) for p in caught.value.problems] == [("mapping.value", "min_quantity")]


def test_writing_the_wrong_document_class_or_without_write_half_is_a_mapping_error(
    ledger: MappingDefinition, prices: MappingDefinition
) -> None:
    price = Price(price_list_id="L", sku="S", currency="EUR", amount=Decimal(1))
    with pytest.raises(MappingError, match="expects FinancialMutation, got Price"):
        write_document(ledger, price, context={})
    with pytest.raises(MappingError, match=r"test\.price cannot be written"):
        write_document(prices, price, context={})
