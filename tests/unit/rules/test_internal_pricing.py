"""Seed 003's pricing: one case per sentence of the seed (SPEC.md section 6).

Each table holds the cases of one sentence or decision: the message, the
receiving store's master data, and what the pricing must find: the errors
and warnings in order, the price source and prices of the first line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.documents import (
    Order,
    OrderLine,
    Party,
    PartyIdentifier,
    PriceSource,
    Severity,
)
from koppel.formats import default_registry
from koppel.rules.internal_pricing import (
    INTERNAL_ORDER_TYPE_CODE,
    OrderKind,
    SalesOrderDecision,
    is_internal_order,
    line_amount,
    order_kind,
    price_order,
    purchase_order_message,
)
from koppel.rules.store_master_data import (
    PurchaseOrderData,
    PurchaseOrderLineData,
    SalesMasterData,
    StoreParty,
    StoreProduct,
)

ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO

SEVERITIES: Mapping[str, Severity] = {
    "internal_pricing.order_type.internal": INFO,
    "internal_pricing.order_type.normal": INFO,
    "internal_pricing.order_type.malformed": WARNING,
    "internal_pricing.customer.unknown": ERROR,
    "internal_pricing.order.no_lines": ERROR,
    "internal_pricing.product.missing_id": ERROR,
    "internal_pricing.product.unknown": ERROR,
    "internal_pricing.price.source": INFO,
    "internal_pricing.price.missing": ERROR,
    "internal_pricing.price.not_found": ERROR,
    "internal_pricing.cost.missing": WARNING,
}

STORE_A = StoreParty("A", "Store A", gln="6410000000011", country="FI", city="Helsinki")
STORE_B = StoreParty("B", "Store B", gln="6410000000028", country="FI")
CUSTOMER_A = StoreParty("C-A", "Store A as customer of B", gln="6410000000011")

#: Every price known: average 4.00, purchase 5.00, sales 9.90.
FULL = StoreProduct(
    "P1",
    "Coffee 500 g",
    gtin="6410000000103",
    average_purchase_price=Decimal("4.00"),
    purchase_price=Decimal("5.00"),
    sales_price=Decimal("9.90"),
)
NO_AVERAGE = StoreProduct(
    "P2", "Tea 100 g", purchase_price=Decimal("2.50"), sales_price=Decimal("4.90")
)
NO_COST = StoreProduct("P3", "Sugar 1 kg", sales_price=Decimal("1.90"))
NO_PRICE = StoreProduct("P4", "Salt 1 kg")
PRODUCTS = {p.product_code: p for p in (FULL, NO_AVERAGE, NO_COST, NO_PRICE)}

DATA = SalesMasterData(
    store=STORE_B,
    customer=CUSTOMER_A,
    products_by_code=PRODUCTS,
    products_by_gtin={"6410000000103": FULL},
    price_list_prices={"P1": Decimal("8.50")},
)


def data(**changes: Any) -> SalesMasterData:
    return replace(DATA, **changes)


def line(
    code: str | None = "P1",
    *,
    line_id: str = "1",
    quantity: str = "2",
    unit_price: str | None = "6.00",
    line_amount: str | None = None,
    sku: str | None = None,
    gtin: str | None = None,
) -> OrderLine:
    return OrderLine(
        line_id=line_id,
        supplier_article_code=code,
        sku=sku,
        gtin=gtin,
        quantity=Decimal(quantity),
        unit_price=None if unit_price is None else Decimal(unit_price),
        line_amount=None if line_amount is None else Decimal(line_amount),
    )


BUYER = Party(
    id="A",
    name="Store A",
    identifiers=[PartyIdentifier(value="6410000000011", scheme="0088")],
    endpoint_id=PartyIdentifier(value="6410000000011", scheme="0088"),
)


def order(
    *lines: OrderLine, type_code: str | None = INTERNAL_ORDER_TYPE_CODE, currency: str = "EUR"
) -> Order:
    return Order(
        order_id="PO-1001",
        order_type_code=type_code,
        currency=currency,
        buyer=BUYER,
        issue_date=date(2026, 11, 29),
        lines=list(lines) or [line()],
    )


@dataclass(frozen=True)
class Case:
    """One seed sentence: the message, the master data, and what pricing must decide."""

    sentence: str
    lines: tuple[OrderLine, ...] = (line(),)
    data: SalesMasterData = DATA
    type_code: str | None = INTERNAL_ORDER_TYPE_CODE
    currency: str = "EUR"
    faults: tuple[str, ...] = ()
    """Codes of the errors and warnings, in order."""
    infos: tuple[str, ...] = ()
    internal: bool | None = None
    """Whether the sales order is internal (cases that create one)."""
    taken: Mapping[str, object] = field(default_factory=dict)
    """Attributes of the first sales-order line."""


def decide(case: Case) -> SalesOrderDecision:
    return price_order(
        order(*case.lines, type_code=case.type_code, currency=case.currency), case.data
    )


def assert_case(case: Case) -> SalesOrderDecision:
    decision = decide(case)
    for problem in decision.problems:
        assert problem.severity is SEVERITIES[problem.code], problem
        assert problem.field, problem
    assert [p.code for p in decision.problems if p.severity is not INFO] == list(case.faults)
    assert set(case.infos) <= {p.code for p in decision.problems if p.severity is INFO}
    created = decision.sales_order
    assert (created is None) is any(SEVERITIES[c] is ERROR for c in case.faults)
    if created is not None:
        if case.internal is not None:
            assert created.internal is case.internal
        first = created.lines[0]
        assert {name: getattr(first, name) for name in case.taken} == dict(case.taken)
        assert created.amount == sum(ln.amount for ln in created.lines)
    return decision


# --- "tarkistetaan onko ko tagi olemassa ja sen sisältö": the type code --------------------------

TYPE_CODES = [
    Case(
        "Jos tagi on olemassa ja oikeaa muotoa: UBL2.0SIS is an internal order",
        infos=("internal_pricing.order_type.internal",),
        internal=True,
        taken={"price_source": PriceSource.AVERAGE_PURCHASE_PRICE},
    ),
    Case(
        "the right form allows whitespace around the code",
        type_code="  UBL2.0SIS\n",
        internal=True,
        taken={"price_source": PriceSource.AVERAGE_PURCHASE_PRICE},
    ),
    Case(
        "a near miss in case (ubl2.0sis) is malformed: normal pricing and a warning",
        type_code="ubl2.0sis",
        faults=("internal_pricing.order_type.malformed",),
        internal=False,
        taken={"price_source": PriceSource.PRICE_LIST},
    ),
    Case(
        "a truncated code (UBL2.0) is malformed",
        type_code="UBL2.0",
        faults=("internal_pricing.order_type.malformed",),
        internal=False,
    ),
    Case(
        "another version's code (UBL2.1SIS) is malformed",
        type_code="UBL2.1SIS",
        faults=("internal_pricing.order_type.malformed",),
        internal=False,
    ),
    Case(
        "Muissa sanomamuodoissa: another type code (220) takes the normal price lookup",
        type_code="220",
        infos=("internal_pricing.order_type.normal",),
        internal=False,
        taken={"price_source": PriceSource.PRICE_LIST},
    ),
    Case(
        "onko ko tagi olemassa: no type code at all is a normal order",
        type_code=None,
        infos=("internal_pricing.order_type.normal",),
        internal=False,
    ),
]


@pytest.mark.parametrize("case", TYPE_CODES, ids=lambda c: c.sentence)
def test_type_code(case: Case) -> None:
    assert_case(case)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("UBL2.0SIS", OrderKind.INTERNAL),
        (" UBL2.0SIS ", OrderKind.INTERNAL),
        ("UBL2.0 SIS", OrderKind.MALFORMED_INTERNAL),
        ("SIS", OrderKind.MALFORMED_INTERNAL),
        ("ubl2.0sis", OrderKind.MALFORMED_INTERNAL),
        ("220", OrderKind.NORMAL),
        ("New", OrderKind.NORMAL),
        (None, OrderKind.NORMAL),
    ],
)
def test_order_kind(code: str | None, kind: OrderKind) -> None:
    message = order(type_code=code)

    assert order_kind(message) is kind
    assert is_internal_order(message) is (kind is OrderKind.INTERNAL)


# --- "myynti- ja ostohinta haetaan ... keskiostohinnasta", and the fallbacks ---------------------

INTERNAL_PRICES = [
    Case(
        "myynti- ja ostohinta: sales and purchase price are the average purchase price",
        taken={
            "sales_price": Decimal("4.00"),
            "purchase_price": Decimal("4.00"),
            "price_source": PriceSource.AVERAGE_PURCHASE_PRICE,
            "amount": Decimal("8.00"),
        },
    ),
    Case(
        "tilauksen vastaanottavan kannan: the receiving store's price, not the price list",
        data=data(price_list_prices={"P1": Decimal("1.00")}),
        taken={"sales_price": Decimal("4.00")},
    ),
    Case(
        "Jos keskiostohintaa ... ei ole: without an average, the product's purchase price",
        lines=(line("P2"),),
        taken={
            "sales_price": Decimal("2.50"),
            "purchase_price": Decimal("2.50"),
            "price_source": PriceSource.PURCHASE_PRICE,
        },
    ),
    Case(
        "Jos keskiostohintaa tai ostohintaa ei ole: the message's tax-exclusive price",
        lines=(line("P3", unit_price="1.25"),),
        taken={
            "sales_price": Decimal("1.25"),
            "purchase_price": Decimal("1.25"),
            "price_source": PriceSource.MESSAGE,
            "amount": Decimal("2.50"),
        },
    ),
    Case(
        "the message's price is after line discounts: line amount / quantity",
        lines=(line("P3", unit_price="1.25", quantity="3", line_amount="3.00"),),
        taken={"sales_price": Decimal("1.0000"), "price_source": PriceSource.MESSAGE},
    ),
    Case(
        "neither a store price nor a price in the message: error",
        lines=(line("P4", unit_price=None),),
        faults=("internal_pricing.price.missing",),
    ),
    Case(
        "the message's price is not used while the store has an average purchase price",
        lines=(line("P1", unit_price="99.00"),),
        taken={"sales_price": Decimal("4.00")},
    ),
]


@pytest.mark.parametrize("case", INTERNAL_PRICES, ids=lambda c: c.sentence)
def test_internal_prices(case: Case) -> None:
    assert_case(case)


# --- "hinnan muodostusta hinnanhakurutiinien mukaan": the normal price lookup --------------------

NORMAL_PRICES = [
    Case(
        "hinnanhakurutiinien mukaan: the customer's price list first",
        type_code="220",
        taken={
            "sales_price": Decimal("8.50"),
            "purchase_price": Decimal("4.00"),
            "price_source": PriceSource.PRICE_LIST,
            "amount": Decimal("17.00"),
        },
    ),
    Case(
        "not on the price list: the product's sales price, cost the purchase price",
        type_code="220",
        lines=(line("P2"),),
        taken={
            "sales_price": Decimal("4.90"),
            "purchase_price": Decimal("2.50"),
            "price_source": PriceSource.LIST_PRICE,
        },
    ),
    Case(
        "without any price list at all: the product's sales price",
        type_code="220",
        data=data(price_list_prices={}),
        taken={"sales_price": Decimal("9.90"), "price_source": PriceSource.LIST_PRICE},
    ),
    Case(
        "no cost price: the line's cost is 0 with a warning",
        type_code="220",
        lines=(line("P3"),),
        faults=("internal_pricing.cost.missing",),
        taken={"sales_price": Decimal("1.90"), "purchase_price": Decimal(0)},
    ),
    Case(
        "neither price-list nor sales price: error (the message's price is not used)",
        type_code="220",
        lines=(line("P4"),),
        faults=("internal_pricing.price.not_found",),
    ),
]


@pytest.mark.parametrize("case", NORMAL_PRICES, ids=lambda c: c.sentence)
def test_normal_prices(case: Case) -> None:
    assert_case(case)


# --- Customer and products -----------------------------------------------------------------------

LOOKUPS = [
    Case(
        "the buyer is no customer of the store: error",
        data=data(customer=None),
        faults=("internal_pricing.customer.unknown",),
    ),
    Case(
        "a product found by SKU when the seller's item id is missing",
        lines=(line(None, sku="P2"),),
        taken={"product_code": "P2", "price_source": PriceSource.PURCHASE_PRICE},
    ),
    Case(
        "a product found by GTIN when no code is given",
        lines=(line(None, gtin="6410000000103"),),
        taken={"product_code": "P1"},
    ),
    Case(
        "an unknown product: error on its line, the other lines still priced",
        lines=(line("NOPE"), line("P1", line_id="2")),
        faults=("internal_pricing.product.unknown",),
    ),
    Case(
        "a line without any item id: error",
        lines=(line(None),),
        faults=("internal_pricing.product.missing_id",),
    ),
    Case(
        "every problem at once: unknown customer and two unknown products",
        data=data(customer=None),
        lines=(line("NOPE"), line("GONE", line_id="2")),
        faults=(
            "internal_pricing.customer.unknown",
            "internal_pricing.product.unknown",
            "internal_pricing.product.unknown",
        ),
    ),
]


@pytest.mark.parametrize("case", LOOKUPS, ids=lambda c: c.sentence)
def test_lookups(case: Case) -> None:
    assert_case(case)


def test_an_unknown_product_names_its_line_and_field() -> None:
    decision = decide(Case("x", lines=(line("P1"), line("NOPE", line_id="7"))))

    unknown = next(p for p in decision.problems if p.code == "internal_pricing.product.unknown")
    assert unknown.field == "lines[1].supplier_article_code"
    assert "line 7" in unknown.message
    assert "'NOPE'" in unknown.message
    assert decision.lines[0] is not None
    assert decision.lines[1] is None


def test_each_line_says_where_its_price_came_from() -> None:
    decision = decide(
        Case("x", lines=(line("P1"), line("P2", line_id="2"), line("P3", line_id="3")))
    )

    sources = [p for p in decision.problems if p.code == "internal_pricing.price.source"]
    assert [p.field for p in sources] == [f"lines[{i}].unit_price" for i in range(3)]
    assert "average purchase price" in sources[0].message
    assert "purchase price" in sources[1].message
    assert "message's tax-exclusive price" in sources[2].message


def test_the_internal_sales_order() -> None:
    decision = decide(Case("x", lines=(line("P1", quantity="3"), line("P2", line_id="2"))))

    created = decision.sales_order
    assert created is not None
    assert created.internal is True
    assert created.order_reference == "PO-1001"
    assert created.customer_id == "C-A"
    assert created.order_type_code == "UBL2.0SIS"
    assert created.order_date == date(2026, 11, 29)
    assert [ln.line_id for ln in created.lines] == ["1", "2"]
    assert created.lines[0].description == "Coffee 500 g"
    assert created.amount == Decimal("12.00") + Decimal("5.00")


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("EUR", Decimal("3.34")), ("JPY", Decimal(3)), ("KWD", Decimal("3.335"))],
)
def test_amounts_are_rounded_half_up_to_the_currency(currency: str, amount: Decimal) -> None:
    assert line_amount(Decimal("1"), Decimal("3.335"), currency) == amount


@settings(max_examples=200, deadline=None)
@given(
    quantity=st.decimals(min_value=0, max_value=10_000, places=3),
    price=st.decimals(min_value=0, max_value=10_000, places=4),
)
def test_an_amount_is_always_quantity_times_price_rounded(
    quantity: Decimal, price: Decimal
) -> None:
    product = StoreProduct("PX", average_purchase_price=price)
    decision = price_order(
        order(OrderLine(line_id="1", supplier_article_code="PX", quantity=quantity)),
        data(products_by_code={"PX": product}),
    )

    assert decision.sales_order is not None
    taken = decision.sales_order.lines[0]
    assert taken.amount == (quantity * price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert decision.sales_order.amount == taken.amount


# --- The purchase order going out: "ostotilauksesta muodostaa UBL sanoma" ------------------------

SUPPLIER_B = StoreParty(
    "S1",
    "Store B (internal supplier)",
    gln="6410000000028",
    endpoint_id="0088:6410000000028",
    endpoint_scheme="0088",
    message_format="UBL2.0SIS",
)
PO = PurchaseOrderData(
    order_number="PO-1001",
    status="posted",
    store=STORE_A,
    supplier=SUPPLIER_B,
    currency="EUR",
    order_date=date(2026, 11, 29),
    requested_delivery_date=date(2026, 12, 3),
    lines=(
        PurchaseOrderLineData(1, "P1", Decimal("2"), Decimal("4.00")),
        PurchaseOrderLineData(
            2, "P2", Decimal("1.5"), Decimal("2.333"), unit="KGM", description="Tea"
        ),
    ),
    products_by_code={"P1": FULL, "P2": NO_AVERAGE},
)


@pytest.mark.parametrize(
    ("sentence", "po", "code"),
    [
        (
            "a draft is not ordered yet",
            replace(PO, status="draft"),
            "internal_pricing.export.not_posted",
        ),
        (
            "a received order is done",
            replace(PO, status="received"),
            "internal_pricing.export.not_posted",
        ),
        (
            "toimittajalle valittu UBL2.0SIS sanomaformatti: other suppliers get none",
            replace(PO, supplier=replace(SUPPLIER_B, party_id="S2", message_format="EDIFACT")),
            "internal_pricing.export.not_internal_supplier",
        ),
        (
            "a supplier without a message format gets none",
            replace(PO, supplier=replace(SUPPLIER_B, message_format=None)),
            "internal_pricing.export.not_internal_supplier",
        ),
    ],
)
def test_purchase_orders_not_sent(sentence: str, po: PurchaseOrderData, code: str) -> None:
    decision = purchase_order_message(po)

    assert decision.order is None
    assert [(p.code, p.severity) for p in decision.problems] == [(code, INFO)]


def test_the_info_note_names_the_supplier() -> None:
    po = replace(PO, supplier=replace(SUPPLIER_B, party_id="S2", message_format="EDIFACT"))

    (note,) = purchase_order_message(po).problems
    assert "supplier S2 takes no UBL2.0SIS messages" in note.message


@pytest.mark.parametrize(
    ("po", "code"),
    [
        (replace(PO, lines=()), "internal_pricing.export.no_lines"),
        (replace(PO, currency="euro"), "internal_pricing.export.currency_invalid"),
    ],
)
def test_a_broken_purchase_order_is_an_error(po: PurchaseOrderData, code: str) -> None:
    decision = purchase_order_message(po)

    assert decision.order is None
    assert [(p.code, p.severity) for p in decision.problems] == [(code, ERROR)]


def test_a_posted_purchase_order_becomes_an_internal_ubl_order() -> None:
    decision = purchase_order_message(PO)

    message = decision.order
    assert message is not None
    assert decision.problems == []
    assert message.order_id == "PO-1001"
    assert message.order_type_code == "UBL2.0SIS"
    assert message.version_id == "2.0"
    assert message.issue_date == date(2026, 11, 29)
    assert message.requested_delivery_date == date(2026, 12, 3)
    assert message.currency == "EUR"
    assert message.buyer is not None
    assert message.seller is not None
    assert message.buyer.identifier("0088") == "6410000000011"
    assert message.buyer.endpoint_id == PartyIdentifier(value="6410000000011", scheme="0088")
    assert message.buyer.address is not None
    assert message.buyer.address.country == "FI"
    assert message.seller.identifier("0088") == "6410000000028"
    assert message.seller.endpoint_id == PartyIdentifier(value="0088:6410000000028", scheme="0088")
    first, second = message.lines
    assert (first.line_id, first.supplier_article_code, first.customer_article_code) == (
        "1",
        "P1",
        "P1",
    )
    assert (first.gtin, first.gtin_scheme) == ("6410000000103", "0160")
    assert (first.quantity, first.unit, first.unit_price) == (Decimal(2), "PCE", Decimal("4.00"))
    assert first.line_amount == Decimal("8.00")
    assert first.description == "Coffee 500 g"
    assert (second.gtin, second.gtin_scheme, second.unit, second.description) == (
        None,
        None,
        "KGM",
        "Tea",
    )
    assert second.line_amount == Decimal("3.50")


def test_the_order_sent_is_read_back_as_internal_at_the_receiving_store() -> None:
    sent = purchase_order_message(PO).order
    assert sent is not None

    decision = price_order(sent, DATA)

    assert decision.sales_order is not None
    assert decision.sales_order.internal is True
    assert [ln.sales_price for ln in decision.sales_order.lines] == [
        Decimal("4.00"),
        Decimal("2.50"),
    ]


def test_a_country_that_is_no_iso_code_is_left_out_with_a_warning() -> None:
    decision = purchase_order_message(replace(PO, store=replace(STORE_A, country="Finland")))

    assert decision.order is not None
    assert decision.order.buyer is not None
    assert decision.order.buyer.address is not None
    assert decision.order.buyer.address.country is None
    assert [(p.code, p.severity) for p in decision.problems] == [
        ("internal_pricing.party.country_invalid", WARNING)
    ]


def test_the_order_sent_is_a_valid_ubl_20_order_read_back_as_internal() -> None:
    """Written by ubl.order (OASIS XSD), read back at store B: internal, at its average price."""
    ubl = default_registry().get("ubl.order")
    sent = purchase_order_message(PO).order
    assert sent is not None

    written = ubl.write(sent, context={})
    assert ubl.validate(written, source="po.xml") == []
    assert b"<cbc:UBLVersionID>2.0</cbc:UBLVersionID>" in written
    assert b"<cbc:OrderTypeCode>UBL2.0SIS</cbc:OrderTypeCode>" in written
    read = ubl.read(written, source="po.xml")
    assert read.problems == []
    (received,) = read.documents
    assert isinstance(received, Order)

    decision = price_order(received, DATA)

    assert decision.sales_order is not None
    assert decision.sales_order.internal is True
    taken = [(ln.line_id, ln.product_code, ln.sales_price) for ln in decision.sales_order.lines]
    assert taken == [("1", "P1", Decimal("4.00")), ("2", "P2", Decimal("2.50"))]
