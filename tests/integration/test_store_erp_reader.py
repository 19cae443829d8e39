"""Reading a store database (seed 003) for one message, on PostgreSQL and on SQLite.

The seeded stand-in stores (:mod:`koppel.sandbox.store_erp.seed`) are read
by :class:`koppel.hooks.store_erp.StoreErpReader` as the seed 003 rules get
them: an incoming order's customer, products and prices; a purchase order
with its supplier; a delivered sales order with what earlier deliveries
delivered. Each call costs the same few queries however many lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from koppel.documents import Order, OrderLine, Party, PartyIdentifier
from koppel.errors import TransportError
from koppel.hooks.store_erp import StoreErpReader
from koppel.hooks.store_erp_schema import products
from koppel.rules.store_master_data import (
    DeliveredSalesOrder,
    SalesOrderLineData,
    StoreProduct,
)
from koppel.sandbox.store_erp import (
    CAFE_B_ID,
    COFFEE,
    FILTERS,
    GLN_SCHEME,
    MUG,
    PEPPOL_CUSTOMER_GLN,
    PEPPOL_CUSTOMER_ID,
    ROASTERY_ID,
    STORE_A_GLN,
    STORE_A_ID,
    STORE_A_SEED,
    STORE_B_GLN,
    STORE_B_ID,
    TEA,
    DeliveredLot,
    OrderedLine,
    deliver_sales_order,
    load_seed,
    open_demo_store,
    post_purchase_order,
)
from koppel.store import create_store_engine
from tests.integration.statements import statements_run

pytestmark = pytest.mark.integration


def _order(buyer: Party | None, *lines: tuple[str | None, str | None]) -> Order:
    """An order from ``buyer`` with lines of (seller's item id, GTIN)."""
    return Order(
        order_id="4711",
        buyer=buyer,
        lines=[
            OrderLine(line_id=str(n), supplier_article_code=code, gtin=gtin, quantity=Decimal(1))
            for n, (code, gtin) in enumerate(lines, start=1)
        ],
    )


def _gln_party(gln: str) -> Party:
    return Party(identifiers=[PartyIdentifier(value=gln, scheme=GLN_SCHEME)])


def test_an_internal_order_finds_the_ordering_store_by_gln_and_the_products(
    store_b_engine: Engine,
) -> None:
    order = _order(_gln_party(STORE_A_GLN), (COFFEE, None), (TEA, None), (None, "6412345100033"))
    data = StoreErpReader(store_b_engine).sales_master_data(order)

    assert (data.store.party_id, data.store.gln, data.store.name) == (
        STORE_B_ID,
        STORE_B_GLN,
        "Nordkauppa Oy, Tampere",
    )
    assert data.customer is not None
    assert (data.customer.party_id, data.customer.gln) == (STORE_A_ID, STORE_A_GLN)
    assert data.products_by_code[COFFEE] == StoreProduct(
        product_code=COFFEE,
        name="Kahvi 500 g",
        gtin="6412345100019",
        unit="PCE",
        average_purchase_price=Decimal("3.7200"),
        purchase_price=Decimal("4.1000"),
        sales_price=Decimal("7.9000"),
    )
    tea = data.products_by_code[TEA]
    assert (tea.average_purchase_price, tea.purchase_price) == (None, Decimal("2.2000"))
    mug = data.products_by_gtin["6412345100033"]
    assert (mug.product_code, mug.average_purchase_price, mug.purchase_price) == (MUG, None, None)
    assert set(data.products_by_code) == {COFFEE, TEA, MUG}
    assert data.price_list_prices == {}  # the other store has no price list


def test_a_cafe_named_by_its_account_id_gets_its_price_list_prices(store_b_engine: Engine) -> None:
    buyer = Party(name="Kahvila Hämeenkatu", supplier_assigned_account_id=CAFE_B_ID)
    order = _order(buyer, (COFFEE, None), (FILTERS, None), (TEA, None), ("NO-SUCH", None))
    data = StoreErpReader(store_b_engine).sales_master_data(order)

    assert data.customer is not None
    assert data.customer.party_id == CAFE_B_ID
    assert data.price_list_prices == {COFFEE: Decimal("6.9000"), FILTERS: Decimal("1.9900")}
    assert set(data.products_by_code) == {COFFEE, FILTERS, TEA}


def test_a_peppol_buyer_is_found_by_its_endpoint_id(peppol_supplier_engine: Engine) -> None:
    buyer = Party(endpoint_id=PartyIdentifier(value=PEPPOL_CUSTOMER_GLN, scheme="0088"))
    order = _order(buyer, (None, "6412345200016"), ("VOI-500", None))
    data = StoreErpReader(peppol_supplier_engine).sales_master_data(order)

    assert data.customer is not None
    assert data.customer.party_id == PEPPOL_CUSTOMER_ID
    assert data.customer.endpoint_scheme == "0088"
    assert set(data.products_by_gtin) == {"6412345200016", "6412345200023"}
    assert data.price_list_prices == {"RUIS-750": Decimal("2.8000"), "VOI-500": Decimal("4.9000")}


def test_a_line_naming_its_product_by_sku_finds_it_too(peppol_supplier_engine: Engine) -> None:
    order = Order(
        order_id="7",
        lines=[OrderLine(line_id="1", sku=" JUUSTO-1KG ", quantity=Decimal(1))],
    )
    data = StoreErpReader(peppol_supplier_engine).sales_master_data(order)
    assert data.products_by_code["JUUSTO-1KG"].unit == "KGM"


def test_the_gln_wins_over_the_account_id_and_an_unknown_buyer_is_none(
    store_b_engine: Engine,
) -> None:
    reader = StoreErpReader(store_b_engine)
    both = Party(
        identifiers=[PartyIdentifier(value=STORE_A_GLN, scheme="GLN")],
        supplier_assigned_account_id=CAFE_B_ID,
    )
    found = reader.sales_master_data(_order(both, (COFFEE, None))).customer
    assert found is not None
    assert found.party_id == STORE_A_ID

    stranger = reader.sales_master_data(_order(_gln_party("6400000000000"), (COFFEE, None)))
    assert stranger.customer is None
    assert stranger.price_list_prices == {}
    assert set(stranger.products_by_code) == {COFFEE}
    nobody = reader.sales_master_data(_order(None))
    assert (nobody.customer, dict(nobody.products_by_code)) == (None, {})


def test_a_price_changed_in_the_store_is_seen_by_the_next_message(store_b_engine: Engine) -> None:
    reader = StoreErpReader(store_b_engine)
    order = _order(_gln_party(STORE_A_GLN), (COFFEE, None))
    assert reader.sales_master_data(order).products_by_code[COFFEE].average_purchase_price == (
        Decimal("3.7200")
    )
    with store_b_engine.begin() as conn:
        conn.execute(
            update(products)
            .where(products.c.product_code == COFFEE)
            .values(average_purchase_price=None)
        )
    assert reader.sales_master_data(order).products_by_code[COFFEE].average_purchase_price is None


def test_the_posted_purchase_order_with_its_supplier_and_products(store_a_engine: Engine) -> None:
    data = StoreErpReader(store_a_engine).purchase_order("1")

    assert data is not None
    assert (data.order_number, data.status, data.currency) == ("1", "posted", "EUR")
    assert (data.order_date, data.requested_delivery_date, data.note) == (
        date(2026, 11, 23),
        date(2026, 11, 27),
        "Joulumyyntiin",
    )
    assert (data.store.party_id, data.store.gln) == (STORE_A_ID, STORE_A_GLN)
    assert (data.supplier.party_id, data.supplier.gln, data.supplier.message_format) == (
        STORE_B_ID,
        STORE_B_GLN,
        "UBL2.0SIS",
    )
    assert [
        (ln.line_number, ln.product_code, ln.quantity, ln.purchase_price) for ln in data.lines
    ] == [
        (1, COFFEE, Decimal("10"), Decimal("4.1")),
        (2, TEA, Decimal("5"), Decimal("2.2")),
        (3, MUG, Decimal("2"), Decimal("5.5")),
    ]
    assert data.lines[0].description == "Kahvi 500 g"
    assert data.products_by_code[COFFEE].gtin == "6412345100019"
    assert data.products_by_code[COFFEE].average_purchase_price == Decimal("3.8500")


def test_a_posted_order_to_a_supplier_without_message_format(store_a_engine: Engine) -> None:
    number = post_purchase_order(
        store_a_engine,
        ROASTERY_ID,
        [OrderedLine(COFFEE, Decimal(20)), OrderedLine(MUG, Decimal(1))],
    )
    data = StoreErpReader(store_a_engine).purchase_order(str(number))

    assert data is not None
    assert data.order_number == str(number) != "1"
    assert (data.supplier.party_id, data.supplier.message_format) == (ROASTERY_ID, None)
    # Prices left out come from the product; the mug has none.
    assert [(ln.product_code, ln.purchase_price, ln.description) for ln in data.lines] == [
        (COFFEE, Decimal("4.1"), "Kahvi 500 g"),
        (MUG, Decimal(0), "Muki"),
    ]


@pytest.mark.parametrize("number", ["999", "abc", "", "1.0"])
def test_an_unknown_purchase_order_is_none(store_a_engine: Engine, number: str) -> None:
    assert StoreErpReader(store_a_engine).purchase_order(number) is None


def _seed_sales_order(engine: Engine) -> None:
    """Tampere's sales order 1 for Helsinki's purchase order 1, as the orders flow writes it."""

    def line(number: int, code: str, quantity: str, price: str) -> dict[str, Any]:
        return {
            "line_number": number,
            "line_id": str(number),
            "product_code": code,
            "description": None,
            "quantity": Decimal(quantity),
            "unit": "PCE",
            "sales_price": Decimal(price),
            "purchase_price": Decimal(price),
            "price_source": "average_purchase_price",
            "amount": Decimal(quantity) * Decimal(price),
        }

    load_seed(
        engine,
        {
            "sales_orders": [
                {
                    "customer_id": STORE_A_ID,
                    "order_reference": "1",
                    "internal": True,
                    "order_type_code": "UBL2.0SIS",
                    "currency": "EUR",
                    "amount": Decimal("48.2000"),
                    "lines": [
                        line(1, COFFEE, "10", "3.72"),
                        line(2, TEA, "5", "2.2"),
                        line(3, MUG, "2", "5.5"),
                    ],
                }
            ]
        },
    )


def test_a_first_and_a_second_delivery_of_a_sales_order(store_b_engine: Engine) -> None:
    _seed_sales_order(store_b_engine)
    first = deliver_sales_order(
        store_b_engine,
        1,
        {1: 6, 2: 5},
        lots={1: DeliveredLot(lot_number="L-2611", lot_expiry_date=date(2027, 5, 31))},
    )
    second = deliver_sales_order(store_b_engine, 1, {1: 3, 3: 2})
    third = deliver_sales_order(store_b_engine, 1, {1: "1"})
    reader = StoreErpReader(store_b_engine)

    data = reader.delivered_sales_order("1", str(first))
    assert data is not None
    assert (data.order_number, data.order_reference, data.internal, data.currency) == (
        "1",
        "1",
        True,
        "EUR",
    )
    assert (data.store.party_id, data.customer.party_id, data.customer.gln) == (
        STORE_B_ID,
        STORE_A_ID,
        STORE_A_GLN,
    )
    assert data.lines[0] == SalesOrderLineData(
        line_number=1,
        line_id="1",
        product_code=COFFEE,
        quantity=Decimal("10"),
        sales_price=Decimal("3.72"),
        unit="PCE",
        description=None,
        gtin="6412345100019",
        delivered_before=Decimal(0),
    )
    assert [ln.delivered_before for ln in data.lines] == [0, 0, 0]

    later = reader.delivered_sales_order("1", str(third))
    assert isinstance(later, DeliveredSalesOrder)
    assert [ln.delivered_before for ln in later.lines] == [Decimal(9), Decimal(5), Decimal(2)]
    between = reader.delivered_sales_order("1", str(second))
    assert between is not None
    assert [ln.delivered_before for ln in between.lines] == [Decimal(6), Decimal(5), Decimal(0)]


def test_an_unknown_sales_order_is_none(store_b_engine: Engine) -> None:
    reader = StoreErpReader(store_b_engine)
    assert reader.delivered_sales_order("1", "1") is None
    assert reader.delivered_sales_order("x", "1") is None


def test_delivering_a_line_the_order_lacks_is_refused(store_b_engine: Engine) -> None:
    _seed_sales_order(store_b_engine)
    with pytest.raises(ValueError, match=r"no line\(s\) \[7\]"):
        deliver_sales_order(store_b_engine, 1, {1: 1, 7: 1})


@pytest.fixture
def statements(store_b_engine: Engine) -> Iterator[list[str]]:
    """Every query the store engine runs while the test counts (SQLite's BEGIN is none)."""
    with statements_run(store_b_engine) as seen:
        yield seen


def test_the_number_of_queries_does_not_grow_with_the_lines(
    store_b_engine: Engine, statements: list[str]
) -> None:
    reader = StoreErpReader(store_b_engine)
    cafe = Party(supplier_assigned_account_id=CAFE_B_ID)
    codes = [COFFEE, TEA, MUG, FILTERS]

    reader.sales_master_data(_order(cafe, (COFFEE, None)))
    one_line = len(statements)
    statements.clear()
    many = [(codes[n % 4], "6412345100019") for n in range(200)]
    data = reader.sales_master_data(_order(cafe, *many))
    assert len(statements) == one_line <= 4
    assert set(data.products_by_code) == set(codes)

    _seed_sales_order(store_b_engine)
    small = deliver_sales_order(store_b_engine, 1, {1: 1})
    big = deliver_sales_order(store_b_engine, 1, {1: 1, 2: 1, 3: 1})
    statements.clear()
    reader.delivered_sales_order("1", str(small))
    one_delivery = len(statements)
    statements.clear()
    reader.delivered_sales_order("1", str(big))
    assert len(statements) == one_delivery <= 4


def test_the_purchase_order_costs_three_queries_whatever_its_lines(
    store_a_engine: Engine,
) -> None:
    number = post_purchase_order(
        store_a_engine, STORE_B_ID, [OrderedLine(COFFEE, Decimal(n)) for n in range(1, 101)]
    )
    with statements_run(store_a_engine) as seen:
        small = StoreErpReader(store_a_engine).purchase_order("1")
        small_count = len(seen)
        seen.clear()
        big = StoreErpReader(store_a_engine).purchase_order(str(number))
    assert small is not None
    assert big is not None
    assert len(big.lines) == 100
    assert len(seen) == small_count == 3


def test_an_unreachable_store_is_a_transport_error() -> None:
    engine = create_store_engine("postgresql+psycopg://koppel:secret@127.0.0.1:1/store")
    try:
        reader = StoreErpReader(engine)
        with pytest.raises(TransportError) as failed:
            reader.purchase_order("1")
        assert "secret" not in str(failed.value)
        with pytest.raises(TransportError):
            reader.sales_master_data(_order(_gln_party(STORE_A_GLN), (COFFEE, None)))
    finally:
        engine.dispose()


def test_a_demo_store_is_seeded_once_and_kept_on_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'helsinki.db'}"
    first = open_demo_store(url, STORE_A_SEED)
    number = post_purchase_order(first, STORE_B_ID, [OrderedLine(TEA, Decimal(1))])
    first.dispose()

    again = open_demo_store(url, STORE_A_SEED)
    try:
        reader = StoreErpReader(again)
        assert reader.purchase_order(str(number)) is not None
        assert reader.purchase_order(str(number + 1)) is None  # the seed's order not added twice
    finally:
        again.dispose()
