"""A Peppol BIS 3 order into the supplier's ERP and its order response (issue 11).

Each case is one sentence of the issue's Peppol template: created with normal
pricing, unknown items rejected with reasons, answered accepted, rejected or
accepted with changes (a price differing from the supplier's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import pytest

from koppel.documents import (
    Order,
    OrderLine,
    Party,
    PartyIdentifier,
    PriceSource,
    ResponseCode,
    Severity,
)
from koppel.formats import default_registry
from koppel.rules.peppol_ordering import PRICE_CHANGED, PeppolImportDecision, import_peppol_order
from koppel.rules.store_master_data import SalesMasterData, StoreParty, StoreProduct
from tests.fixtures.peppol import RULES_DIR

ACCEPTED = ResponseCode.ACCEPTED
CHANGED = ResponseCode.ACCEPTED_WITH_CHANGES
REJECTED = ResponseCode.REJECTED
TODAY = date(2026, 11, 29)

SUPPLIER = StoreParty(
    "SUP", "Koppel Wholesale", endpoint_id="7300010000001", endpoint_scheme="0088"
)
CUSTOMER = StoreParty("C1", "Buyer Oy", endpoint_id="0216:003712345678", endpoint_scheme="0216")
PRODUCTS = {
    "W1": StoreProduct(
        "W1", "Widget", average_purchase_price=Decimal("3.00"), sales_price=Decimal("9.00")
    ),
    "W2": StoreProduct(
        "W2", "Gadget", purchase_price=Decimal("4.00"), sales_price=Decimal("12.00")
    ),
    "W3": StoreProduct("W3", "No price"),
    "W4": StoreProduct("W4", "No cost", sales_price=Decimal("1.00")),
}
DATA = SalesMasterData(
    store=SUPPLIER,
    customer=CUSTOMER,
    products_by_code=PRODUCTS,
    products_by_gtin={"7300010000101": PRODUCTS["W1"]},
    price_list_prices={"W1": Decimal("8.00")},
)

BUYER = Party(
    name="Buyer Oy",
    endpoint_id=PartyIdentifier(value="003712345678", scheme="0216"),
    identifiers=[PartyIdentifier(value="003712345678", scheme="0216")],
)
SELLER = Party(
    name="Koppel Wholesale", endpoint_id=PartyIdentifier(value="7300010000001", scheme="0088")
)


def line(
    code: str | None = "W1",
    price: str | None = "8.00",
    *,
    line_id: str = "1",
    quantity: str = "10",
    gtin: str | None = None,
) -> OrderLine:
    return OrderLine(
        line_id=line_id,
        supplier_article_code=code,
        gtin=gtin,
        gtin_scheme="0160" if gtin else None,
        quantity=Decimal(quantity),
        unit="EA",
        unit_price=None if price is None else Decimal(price),
    )


def order(*lines: OrderLine, type_code: str | None = "220") -> Order:
    return Order(
        order_id="ORD-55",
        order_type_code=type_code,
        issue_date=TODAY,
        currency="EUR",
        buyer=BUYER,
        seller=SELLER,
        lines=list(lines) or [line()],
    )


@dataclass(frozen=True)
class Case:
    """One sentence: the order, the supplier's data, and the answer it gets."""

    sentence: str
    lines: tuple[OrderLine, ...] = (line(),)
    data: SalesMasterData = DATA
    type_code: str | None = "220"
    response: ResponseCode = ACCEPTED
    line_responses: tuple[ResponseCode, ...] = ()
    """Each response line's code: T76 has lines only in a response accepted with changes."""
    document_notes: tuple[str, ...] = ()
    line_notes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    prices: tuple[Decimal | None, ...] = ()
    """Each response line's price."""


CASES = [
    Case("the message's price is the supplier's price-list price: accepted"),
    Case(
        "a price agreeing to the cent (8.001) is the same price",
        lines=(line(price="8.001"),),
    ),
    Case(
        "no price in the message: accepted at the supplier's price",
        lines=(line(price=None),),
    ),
    Case(
        "the message's price differs from the price list: the line is accepted with changes",
        lines=(line(price="7.50"), line("W2", "12.00", line_id="2")),
        response=CHANGED,
        line_responses=(CHANGED, ACCEPTED),
        line_notes={0: (PRICE_CHANGED,)},
        prices=(Decimal("8.00"), Decimal("12.00")),
    ),
    Case(
        "not on the price list: the product's sales price is the supplier's",
        lines=(line("W2", "11.00"),),
        response=CHANGED,
        line_responses=(CHANGED,),
        line_notes={0: (PRICE_CHANGED,)},
        prices=(Decimal("12.00"),),
    ),
    Case(
        "an unknown item: rejected, the reason naming its line",
        lines=(line(), line("NOPE", "1.00", line_id="2")),
        response=REJECTED,
        document_notes=("internal_pricing.product.unknown",),
    ),
    Case(
        "an item without any price at the supplier: rejected",
        lines=(line("W3", "5.00"),),
        response=REJECTED,
        document_notes=("internal_pricing.price.not_found",),
    ),
    Case(
        "the buyer is no customer: rejected",
        data=replace(DATA, customer=None),
        response=REJECTED,
        document_notes=("internal_pricing.customer.unknown",),
    ),
    Case(
        "the buyer is no customer: no price is its own, so none is compared",
        data=replace(DATA, customer=None),
        lines=(line(price="7.50"),),
        response=REJECTED,
        document_notes=("internal_pricing.customer.unknown",),
    ),
    Case(
        "a rejection wins over a price change, whose reason is given too",
        lines=(line(price="7.50"), line("NOPE", "1.00", line_id="2")),
        response=REJECTED,
        document_notes=("internal_pricing.product.unknown", PRICE_CHANGED),
    ),
    Case(
        "the supplier's missing cost is its own affair: still accepted",
        lines=(line("W4", "1.00"),),
    ),
    Case(
        "a Peppol order is never internal: UBL2.0SIS is priced normally, without a warning",
        type_code="UBL2.0SIS",
    ),
    Case(
        "an item found by its GTIN",
        lines=(line(None, gtin="7300010000101"),),
    ),
]


def decide(case: Case) -> PeppolImportDecision:
    return import_peppol_order(
        order(*case.lines, type_code=case.type_code), case.data, response_id="R-1", today=TODAY
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.sentence)
def test_peppol_order(case: Case) -> None:
    decision = decide(case)
    response = decision.response

    assert response.response is case.response
    assert [ln.response for ln in response.lines] == list(case.line_responses)
    assert [n.code for n in response.notes] == list(case.document_notes)
    for index, response_line in enumerate(response.lines):
        assert [n.code for n in response_line.notes] == list(case.line_notes.get(index, ()))
    assert [ln.unit_price for ln in response.lines] == list(case.prices)
    assert all(ln.item_name for ln in response.lines)
    assert (decision.sales_order is None) is (case.response is REJECTED)
    if decision.sales_order is not None:
        assert decision.sales_order.internal is False
        if case.prices:
            assert [ln.sales_price for ln in decision.sales_order.lines] == list(case.prices)


def test_the_response_names_the_parties_order_and_lines() -> None:
    decision = decide(
        Case("x", lines=(line(price="7.00", quantity="3"), line("W2", "12.00", line_id="2")))
    )
    response = decision.response

    assert response.response_id == "R-1"
    assert response.order_id == "ORD-55"
    assert response.issue_date == TODAY
    assert response.currency == "EUR"
    assert response.buyer is not None
    assert response.buyer.endpoint_id == PartyIdentifier(value="003712345678", scheme="0216")
    assert response.seller is not None
    assert response.seller.endpoint_id == PartyIdentifier(value="7300010000001", scheme="0088")
    first, second = response.lines
    assert (first.line_id, first.quantity, first.unit) == ("1", Decimal(3), "EA")
    assert (first.supplier_article_code, first.item_name) == ("W1", "Widget")
    assert (second.line_id, second.item_name) == ("2", "Gadget")


def test_the_sales_order_takes_the_suppliers_price() -> None:
    decision = decide(Case("x", lines=(line(price="7.50", quantity="4"),)))

    created = decision.sales_order
    assert created is not None
    assert created.customer_id == "C1"
    assert created.order_reference == "ORD-55"
    (taken,) = created.lines
    assert (taken.sales_price, taken.purchase_price) == (Decimal("8.00"), Decimal("3.00"))
    assert taken.price_source is PriceSource.PRICE_LIST
    assert taken.amount == Decimal("32.00")
    assert created.amount == Decimal("32.00")


def test_the_price_change_note_names_both_prices() -> None:
    decision = decide(Case("x", lines=(line(price="7.50"),)))

    (note,) = decision.response.lines[0].notes
    assert note.severity == "warning"
    assert "7.50 EUR" in note.message
    assert "8.00 EUR" in note.message
    assert "accepted at the supplier's price" in note.message
    changed = [p for p in decision.problems if p.code == PRICE_CHANGED]
    assert [p.field for p in changed] == ["lines[0].unit_price"]
    assert all(p.severity is Severity.WARNING for p in changed)


def test_a_rejection_gives_every_reason_at_once() -> None:
    decision = decide(
        Case(
            "x",
            data=replace(DATA, customer=None),
            lines=(line("NOPE"), line("GONE", line_id="2")),
        )
    )

    notes = decision.response.notes
    assert [n.code for n in notes] == [
        "internal_pricing.customer.unknown",
        "internal_pricing.product.unknown",
        "internal_pricing.product.unknown",
    ]
    assert "line 1" in notes[1].message
    assert "line 2" in notes[2].message
    assert decision.response.lines == []


# --- The answers are valid T76 documents ----------------------------------------------------------


T76_ANSWERS = {
    "accepted": Case("x"),
    "accepted_with_changes": Case(
        "x", lines=(line(price="7.50"), line("W2", "12.00", line_id="2"))
    ),
    "rejected": Case("x", lines=(line(), line("NOPE", "1.00", line_id="2"))),
}


@pytest.mark.parametrize("name", sorted(T76_ANSWERS))
def test_each_answer_is_a_valid_t76_response(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = RULES_DIR
    if rules is None:
        pytest.skip("PEPPOL RULES NOT FOUND: set KOPPEL_PEPPOL_RULES_DIR to the peppol-bis3 folder")
    monkeypatch.setenv("KOPPEL_PEPPOL_RULES_DIR", str(rules))
    peppol = default_registry().get("peppol.order_response")
    response = decide(T76_ANSWERS[name]).response
    assert response.response.value == name

    written = peppol.write(response, context={})

    assert peppol.validate(written, source=f"{name}.xml") == []
