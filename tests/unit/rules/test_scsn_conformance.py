"""Check 8, SCSN conformance: one case per rule of docs/formats/scsn.md, plus the clean order."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.documents import Address, Order, OrderLine, Party, Problem, Severity
from koppel.documents.orders import LineDelivery
from koppel.documents.parties import PartyIdentifier
from koppel.formats import default_registry
from koppel.rules.scsn_conformance import conformance_problems

DATA = Path(__file__).parents[2] / "data" / "scsn"


def party(name: str, *identifiers: tuple[str, str]) -> Party:
    return Party(
        name=name,
        identifiers=[PartyIdentifier(value=value, scheme=scheme) for value, scheme in identifiers],
    )


def line(line_id: str, **changes: object) -> OrderLine:
    fields: dict[str, object] = {
        "line_id": line_id,
        "supplier_article_code": f"PDK-{line_id}",
        "quantity": Decimal(4),
        "deliveries": [LineDelivery(location_id="DOCK3")],
    }
    fields.update(changes)
    return OrderLine.model_validate(fields)


def conformant() -> Order:
    """An order every rule accepts; each case below breaks exactly one rule."""
    return Order(
        order_id="PO-1",
        buyer=party("Brainport Machines", ("scsn-buyer", "SCSN"), ("17012345", "KVK")),
        seller=party("Precisie Draaierij", ("scsn-seller", "SCSN")),
        lines=[line("10"), line("20")],
    )


def changed(**changes: object) -> Callable[[], Order]:
    return lambda: conformant().model_copy(update=changes)


def with_line(index: int, **changes: object) -> Callable[[], Order]:
    def build() -> Order:
        order = conformant()
        lines = list(order.lines)
        lines[index] = lines[index].model_copy(update=changes)
        return order.model_copy(update={"lines": lines})

    return build


CASES: list[tuple[str, Callable[[], Order], list[tuple[str, str]]]] = [
    ("a conformant order has no problems", conformant, []),
    ("the order reference is blank", changed(order_id="  "), [("order_id", "order_id")]),
    ("no buyer party", changed(buyer=None), [("buyer_missing", "buyer")]),
    (
        "the buyer is identified, but not by an SCSN id",
        changed(buyer=party("Brainport Machines", ("17012345", "KVK"))),
        [("buyer_id", "buyer.identifiers")],
    ),
    (
        "the buyer has no identifier at all",
        changed(buyer=party("Brainport Machines")),
        [("buyer_id", "buyer.identifiers")],
    ),
    ("no seller party", changed(seller=None), [("seller_missing", "seller")]),
    (
        "the seller has no SCSN id",
        changed(seller=party("Precisie Draaierij", ("0106:17099999", "0106"))),
        [("seller_id", "seller.identifiers")],
    ),
    ("no lines", changed(lines=[]), [("no_lines", "lines")]),
    (
        "two lines share a line id",
        changed(lines=[line("10"), line("10"), line("30")]),
        [("line_id_duplicate", "lines[1].line_id")],
    ),
    (
        "every repeat of a line id is reported",
        changed(lines=[line("10"), line("10"), line("10")]),
        [("line_id_duplicate", "lines[1].line_id"), ("line_id_duplicate", "lines[2].line_id")],
    ),
    (
        "a line names no article",
        with_line(1, supplier_article_code=None),
        [("line_article", "lines[1].supplier_article_code")],
    ),
    (
        "a customer article code alone identifies the article",
        with_line(1, supplier_article_code=None, customer_article_code="BM-400-1187"),
        [],
    ),
    (
        "a zero quantity",
        with_line(0, quantity=Decimal(0)),
        [("line_quantity", "lines[0].quantity")],
    ),
    (
        "a negative quantity",
        with_line(1, quantity=Decimal("-2.5")),
        [("line_quantity", "lines[1].quantity")],
    ),
    (
        "one line delivered to two locations (BR-14)",
        with_line(
            0, deliveries=[LineDelivery(location_id="DOCK3"), LineDelivery(location_id="STORE")]
        ),
        [("line_delivery_location", "lines[0].deliveries")],
    ),
    (
        "two locations given by address only",
        with_line(
            1,
            deliveries=[
                LineDelivery(address=Address(city="Veldhoven")),
                LineDelivery(address=Address(city="Eindhoven")),
            ],
        ),
        [("line_delivery_location", "lines[1].deliveries")],
    ),
    (
        "several deliveries to one location are fine",
        with_line(0, deliveries=[LineDelivery(location_id="DOCK3")] * 3),
        [],
    ),
    ("a line without any delivery location is fine", with_line(0, deliveries=[]), []),
]


@pytest.mark.parametrize(
    ("build", "expected"),
    [pytest.param(build, expected, id=name) for name, build, expected in CASES],
)
def test_each_rule(build: Callable[[], Order], expected: list[tuple[str, str]]) -> None:
    problems = conformance_problems(build())
    assert [(p.code.removeprefix("scsn.conformance."), p.field) for p in problems] == expected
    assert all(p.severity is Severity.ERROR for p in problems)
    assert all(p.code.startswith("scsn.conformance.") for p in problems)


def test_every_problem_is_reported_not_only_the_first() -> None:
    order = Order(
        order_id="PO-2",
        buyer=None,
        seller=party("Precisie Draaierij"),
        lines=[line("1", quantity=Decimal(0), supplier_article_code=None), line("1")],
    )
    assert [p.code.removeprefix("scsn.conformance.") for p in conformance_problems(order)] == [
        "buyer_missing",
        "seller_id",
        "line_article",
        "line_quantity",
        "line_id_duplicate",
    ]


def test_the_message_names_the_line_and_the_party() -> None:
    order = conformant().model_copy(
        update={"buyer": party("Brainport Machines"), "lines": [line("10", quantity=Decimal(-1))]}
    )
    messages = [p.message for p in conformance_problems(order)]
    assert messages == [
        "the buyer party (Brainport Machines) has no SCSN id",
        "line 10 orders -1; the quantity must be positive",
    ]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("order_valid.xml", []),
        ("order_ubl20.xml", []),
        ("order_missing_buyer_id.xml", ["scsn.conformance.buyer_id"]),
        ("order_duplicate_line_ids.xml", ["scsn.conformance.line_id_duplicate"]),
    ],
)
def test_the_sample_messages_as_read(sample: str, expected: list[str]) -> None:
    result = default_registry().get("scsn.order").read((DATA / sample).read_bytes(), source=sample)
    assert result.problems == []
    (order,) = result.documents
    assert isinstance(order, Order)
    problems: list[Problem] = conformance_problems(order)
    assert [p.code for p in problems] == expected
