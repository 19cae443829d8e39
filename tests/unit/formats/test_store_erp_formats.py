"""Store ERP (seed 003) JSON formats: rows the SQL source reads, documents the SQL target writes.

The read formats are checked on what :class:`koppel.hooks.sql_source.SqlSource`
really makes of a seeded store's rows, and the written bodies are delivered
by :class:`koppel.hooks.sql.SqlDestination` into a seeded store: the
formats and the tables of :mod:`koppel.hooks.store_erp_schema` must fit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from koppel.config import SqlEndpoint
from koppel.documents import (
    Lot,
    Order,
    PriceSource,
    PurchaseOrderReceipt,
    PurchaseOrderReceiptLine,
    ReceiptStatus,
    SerialNumber,
    StoreSalesOrder,
    StoreSalesOrderLine,
    Waybill,
)
from koppel.errors import FatalSyncError
from koppel.formats import Format, default_registry
from koppel.hooks.sql import SqlDestination
from koppel.hooks.sql_source import SqlSource
from koppel.hooks.store_erp import StoreErpReader
from koppel.hooks.store_erp_schema import (
    purchase_order_lines,
    purchase_orders,
    sales_order_lines,
    sales_orders,
)
from koppel.rules.waybills import waybill_for_delivery
from koppel.sandbox.store_erp import (
    COFFEE,
    MUG,
    STORE_A_ID,
    STORE_B_ID,
    TEA,
    DeliveredLot,
    deliver_sales_order,
)


def _format(name: str) -> Format:
    return default_registry().get(name)


def _read(name: str, body: dict[str, Any] | bytes) -> Any:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    result = _format(name).read(payload, source="row.json")
    assert result.problems == []
    (document,) = result.documents
    return document


def _read_xml(name: str, payload: bytes) -> Any:
    result = _format(name).read(payload, source="written.xml")
    assert result.problems == []
    (document,) = result.documents
    return document


def _written(name: str, document: Any) -> bytes:
    fmt = _format(name)
    payload = fmt.write(document, context={})
    assert fmt.validate(payload, source=name) == []
    return payload


def _window() -> tuple[datetime, datetime]:
    return datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(minutes=1)


def _endpoint(**settings: object) -> SqlEndpoint:
    return SqlEndpoint.model_validate({"transport": "sql", "conn_id": "store"} | settings)


PURCHASE_ORDERS_SOURCE = _endpoint(
    format="store_erp.purchase_order",
    table="purchase_orders",
    identified_by=["order_number"],
    children={"lines": "purchase_order_lines"},
    parent_column="order_number",
    returning="order_number",
    watermark_column="changed_at",
)
DELIVERIES_SOURCE = _endpoint(
    format="store_erp.delivery",
    table="deliveries",
    identified_by=["delivery_number"],
    children={"lines": "delivery_lines"},
    parent_column="delivery_number",
    returning="delivery_number",
    watermark_column="changed_at",
)
SALES_ORDERS_TARGET = _endpoint(
    format="store_erp.sales_order",
    table="sales_orders",
    identified_by=["customer_id", "order_reference"],
    children={"lines": "sales_order_lines"},
    parent_column="order_number",
    returning="order_number",
    update_if={"status": "open"},
    import_column="import_message",
    position_column="line_number",
)
RECEIPTS_TARGET = _endpoint(
    format="store_erp.purchase_order_receipt",
    table="purchase_orders",
    identified_by=["order_number"],
    children={"lines": "purchase_order_lines"},
    parent_column="order_number",
    returning="order_number",
    update_if={"status": "posted"},
    import_column="import_message",
)


# --- store_erp.purchase_order --------------------------------------------------------------------

PURCHASE_ORDER_ROW: dict[str, Any] = {
    "order_number": 7,
    "supplier_id": "TRE",
    "status": "posted",
    "currency": "EUR",
    "order_date": "2026-11-23",
    "requested_delivery_date": None,
    "note": None,
    "waybill_id": None,
    "received_date": None,
    "import_message": None,
    "changed_at": "2026-11-23T08:00:00.123456+00:00",
    "lines": [
        {
            "order_number": 7,
            "line_number": 1,
            "product_code": "KAHVI-500",
            "description": "Kahvi 500 g",
            "quantity": "10.0000",
            "unit": "PCE",
            "purchase_price": "4.1000",
            "text": None,
        }
    ],
}


def test_a_purchase_order_row_is_an_order() -> None:
    order = _read("store_erp.purchase_order", PURCHASE_ORDER_ROW)

    assert isinstance(order, Order)
    assert (order.order_id, order.seller and order.seller.id, order.currency) == ("7", "TRE", "EUR")
    assert (order.issue_date, order.requested_delivery_date, order.note) == (
        date(2026, 11, 23),
        None,
        None,
    )
    (line,) = order.lines
    assert (line.line_id, line.sku, line.description, line.quantity, line.unit) == (
        "1",
        "KAHVI-500",
        "Kahvi 500 g",
        Decimal(10),
        "PCE",
    )
    assert line.unit_price == Decimal("4.1")


def test_a_column_added_to_the_store_is_read_past_but_a_line_without_product_is_refused() -> None:
    grown = PURCHASE_ORDER_ROW | {"cost_centre": "HKI-01"}
    assert _read("store_erp.purchase_order", grown).order_id == "7"

    broken = PURCHASE_ORDER_ROW | {"lines": [{"line_number": 1, "quantity": "1"}]}
    result = _format("store_erp.purchase_order").read(json.dumps(broken).encode(), source="x")
    assert result.documents == []
    assert result.problems


@pytest.mark.integration
def test_the_seeded_purchase_order_as_the_sql_source_reads_it(store_a_engine: Engine) -> None:
    (message,) = SqlSource(store_a_engine, PURCHASE_ORDERS_SOURCE).changed(*_window())
    assert message.name.startswith("purchase_orders/1@")

    order = _read("store_erp.purchase_order", message.payload)
    assert (order.order_id, order.seller.id, order.issue_date) == (
        "1",
        STORE_B_ID,
        date(2026, 11, 23),
    )
    assert (order.requested_delivery_date, order.note) == (date(2026, 11, 27), "Joulumyyntiin")
    assert [(ln.line_id, ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("1", COFFEE, Decimal(10), Decimal("4.1")),
        ("2", TEA, Decimal(5), Decimal("2.2")),
        ("3", MUG, Decimal(2), Decimal("5.5")),
    ]


# --- store_erp.delivery --------------------------------------------------------------------------


def _sales_order(reference: str = "1") -> StoreSalesOrder:
    """Tampere's internal sales order for Helsinki's purchase order ``reference``."""

    def line(line_id: str, code: str, quantity: str, price: str) -> StoreSalesOrderLine:
        return StoreSalesOrderLine(
            line_id=line_id,
            product_code=code,
            description=None,
            quantity=Decimal(quantity),
            sales_price=Decimal(price),
            purchase_price=Decimal(price),
            price_source=PriceSource.AVERAGE_PURCHASE_PRICE,
            amount=Decimal(quantity) * Decimal(price),
        )

    return StoreSalesOrder(
        order_reference=reference,
        customer_id=STORE_A_ID,
        internal=True,
        order_type_code="UBL2.0SIS",
        currency="EUR",
        order_date=date(2026, 11, 23),
        requested_delivery_date=date(2026, 11, 27),
        note="Joulumyyntiin",
        amount=Decimal("59.2000"),
        lines=[
            line("1", COFFEE, "10", "3.72"),
            line("2", TEA, "5", "2.2"),
            StoreSalesOrderLine(
                line_id="3",
                product_code=MUG,
                description="Muki",
                quantity=Decimal(2),
                sales_price=Decimal("5.5"),
                purchase_price=Decimal("5.5"),
                price_source=PriceSource.MESSAGE,
                amount=Decimal(11),
            ),
        ],
    )


@pytest.mark.integration
def test_a_delivery_as_the_sql_source_reads_it_is_a_waybill(store_b_engine: Engine) -> None:
    payload = _written("store_erp.sales_order", _sales_order())
    order_number = SqlDestination(store_b_engine, SALES_ORDERS_TARGET).deliver("orders", payload)
    assert order_number is not None
    delivery = deliver_sales_order(
        store_b_engine,
        order_number,
        {1: 8, 3: 2},
        lots={
            1: DeliveredLot(
                lot_number="L-2611",
                lot_expiry_date=date(2027, 5, 31),
                best_before_date=date(2027, 5, 1),
            ),
            3: DeliveredLot(serial_number="SN-1"),
        },
        delivery_date=date(2026, 11, 26),
    )

    (message,) = SqlSource(store_b_engine, DELIVERIES_SOURCE).changed(*_window())
    body = json.loads(message.payload)
    assert body["lines"][0]["lot_number"] == "L-2611"
    waybill = _read("store_erp.delivery", message.payload)

    assert isinstance(waybill, Waybill)
    assert (waybill.waybill_id, waybill.order_id, waybill.issue_date) == (
        str(delivery),
        order_number,
        date(2026, 11, 26),
    )
    assert [
        (ln.line_id, ln.order_line_id, ln.sku, ln.quantity, ln.best_before_date)
        for ln in waybill.lines
    ] == [
        ("1", "1", COFFEE, Decimal(8), date(2027, 5, 1)),
        ("2", "3", MUG, Decimal(2), None),
    ]
    assert [(ln.lots, ln.serial_numbers) for ln in waybill.lines] == [
        ([Lot(number="L-2611", expiry_date=date(2027, 5, 31))], []),
        ([], [SerialNumber(value="SN-1")]),
    ]

    # The despatches flow's rule, with the sales order as the store's reader has it,
    # keeps them on the buyer's lines, and the UBL despatch advice carries them.
    order = StoreErpReader(store_b_engine).delivered_sales_order(
        waybill.order_id, waybill.waybill_id
    )
    assert order is not None
    decision = waybill_for_delivery(waybill, order, include_line_prices=True)
    assert decision.waybill is not None
    despatch = _read_xml("ubl.despatch_advice", _written("ubl.despatch_advice", decision.waybill))
    assert [
        (ln.order_line_id, ln.best_before_date, ln.lots, ln.serial_numbers) for ln in despatch.lines
    ] == [
        ("1", date(2027, 5, 1), [Lot(number="L-2611", expiry_date=date(2027, 5, 31))], []),
        ("3", None, [], [SerialNumber(value="SN-1")]),
    ]


def _delivery_line(line_number: int, sales_line: int, **columns: object) -> dict[str, Any]:
    """A delivery_lines row as the SQL source writes it: every column, null where empty."""
    return {
        "delivery_number": 41,
        "line_number": line_number,
        "sales_order_line": sales_line,
        "product_code": COFFEE,
        "quantity": "4.0000",
        "lot_number": None,
        "lot_expiry_date": None,
        "serial_number": None,
        "best_before_date": None,
    } | columns


def test_a_delivery_lines_lot_serial_and_best_before_fill_the_waybill_line() -> None:
    body = {
        "delivery_number": 41,
        "sales_order_number": 12,
        "delivery_date": "2026-11-26",
        "note": None,
        "changed_at": "2026-11-26T10:00:00",
        "lines": [
            _delivery_line(
                1,
                1,
                lot_number="L-2611",
                lot_expiry_date="2027-05-31",
                serial_number="SN-1",
                best_before_date="2027-05-01",
            ),
            _delivery_line(2, 1, lot_number="L-2612"),
            _delivery_line(3, 2),
        ],
    }

    waybill = _read("store_erp.delivery", body)

    assert [
        (ln.line_id, ln.lots, ln.serial_numbers, ln.best_before_date) for ln in waybill.lines
    ] == [
        (
            "1",
            [Lot(number="L-2611", expiry_date=date(2027, 5, 31))],
            [SerialNumber(value="SN-1")],
            date(2027, 5, 1),
        ),
        ("2", [Lot(number="L-2612")], [], None),
        ("3", [], [], None),
    ]


# --- store_erp.sales_order -----------------------------------------------------------------------


def test_a_sales_order_is_written_as_a_row_with_lines() -> None:
    body = json.loads(_written("store_erp.sales_order", _sales_order()))

    assert {k: v for k, v in body.items() if k != "lines"} == {
        "customer_id": STORE_A_ID,
        "order_reference": "1",
        "internal": True,
        "order_type_code": "UBL2.0SIS",
        "currency": "EUR",
        "order_date": "2026-11-23",
        "requested_delivery_date": "2026-11-27",
        "note": "Joulumyyntiin",
        "amount": "59.2000",
    }
    assert body["lines"][0] == {
        "line_id": "1",
        "product_code": COFFEE,
        "description": None,
        "quantity": "10",
        "unit": "PCE",
        "sales_price": "3.72",
        "purchase_price": "3.72",
        "price_source": "average_purchase_price",
        "amount": "37.20",
    }
    assert body["lines"][2]["price_source"] == "message"


def test_a_normal_order_leaves_nothing_out() -> None:
    order = _sales_order().model_copy(
        update={"internal": False, "order_type_code": None, "note": None, "order_date": None}
    )
    body = json.loads(_written("store_erp.sales_order", order))
    assert (body["internal"], body["order_type_code"], body["note"], body["order_date"]) == (
        False,
        None,
        None,
        None,
    )


@pytest.mark.integration
def test_the_sql_target_writes_the_sales_order_into_the_store(store_b_engine: Engine) -> None:
    target = SqlDestination(store_b_engine, SALES_ORDERS_TARGET)
    payload = _written("store_erp.sales_order", _sales_order())
    receipt = target.deliver("orders", payload)
    assert receipt is not None
    assert target.deliver("orders", payload) == receipt  # a retry writes nothing again

    with store_b_engine.connect() as conn:
        header = conn.execute(select(sales_orders)).mappings().one()
        lines = conn.execute(
            select(sales_order_lines).order_by(sales_order_lines.c.line_number)
        ).mappings()
        rows = [
            (r["line_number"], r["line_id"], r["product_code"], r["sales_price"], r["price_source"])
            for r in lines
        ]
    assert (str(header["order_number"]), header["internal"], header["status"]) == (
        receipt,
        True,
        "open",
    )
    assert header["amount"] == Decimal("59.2")
    assert rows == [
        (1, "1", COFFEE, Decimal("3.72"), "average_purchase_price"),
        (2, "2", TEA, Decimal("2.2"), "average_purchase_price"),
        (3, "3", MUG, Decimal("5.5"), "message"),
    ]


# --- store_erp.purchase_order_receipt ------------------------------------------------------------


def _receipt(status: ReceiptStatus = ReceiptStatus.RECEIVED) -> PurchaseOrderReceipt:
    return PurchaseOrderReceipt(
        order_number="1",
        supplier_id=STORE_B_ID,
        status=status,
        waybill_id="5",
        received_date=date(2026, 11, 26) if status is ReceiptStatus.RECEIVED else None,
        lines=[
            PurchaseOrderReceiptLine(
                line_number=1,
                product_code=COFFEE,
                description="Kahvi 500 g",
                quantity=Decimal(8),
                purchase_price=Decimal("3.72"),
                text="Tilattu oli 10",
            ),
            PurchaseOrderReceiptLine(
                line_number=2,
                product_code=TEA,
                description="Tee 100 g",
                quantity=Decimal(5),
                purchase_price=Decimal("2.2"),
            ),
            PurchaseOrderReceiptLine(
                line_number=3,
                product_code=MUG,
                description="Muki",
                quantity=Decimal(2),
                purchase_price=Decimal("5.5"),
            ),
        ],
    )


def test_a_receipt_is_written_as_a_purchase_order_update() -> None:
    body = json.loads(_written("store_erp.purchase_order_receipt", _receipt()))

    assert {k: v for k, v in body.items() if k != "lines"} == {
        "order_number": 1,
        "supplier_id": STORE_B_ID,
        "status": "received",
        "waybill_id": "5",
        "received_date": "2026-11-26",
    }
    assert body["lines"][0] == {
        "line_number": 1,
        "product_code": COFFEE,
        "description": "Kahvi 500 g",
        "quantity": "8",
        "unit": "PCE",
        "purchase_price": "3.72",
        "text": "Tilattu oli 10",
    }
    assert body["lines"][1]["text"] is None
    kept = json.loads(_written("store_erp.purchase_order_receipt", _receipt(ReceiptStatus.POSTED)))
    assert (kept["status"], kept["received_date"]) == ("posted", None)


@pytest.mark.integration
def test_the_sql_target_updates_and_receives_the_posted_purchase_order(
    store_a_engine: Engine,
) -> None:
    target = SqlDestination(store_a_engine, RECEIPTS_TARGET)
    receipt = target.deliver("waybills", _written("store_erp.purchase_order_receipt", _receipt()))
    assert receipt == "1"

    with store_a_engine.connect() as conn:
        header = conn.execute(select(purchase_orders)).mappings().one()
        lines = [
            (r.line_number, r.quantity, r.purchase_price, r.text)
            for r in conn.execute(
                select(purchase_order_lines).order_by(purchase_order_lines.c.line_number)
            )
        ]
    assert (header["status"], header["waybill_id"], header["received_date"]) == (
        "received",
        "5",
        date(2026, 11, 26),
    )
    assert header["note"] == "Joulumyyntiin"  # columns the receipt does not name are kept
    assert lines == [
        (1, Decimal(8), Decimal("3.72"), "Tilattu oli 10"),
        (2, Decimal(5), Decimal("2.2"), None),
        (3, Decimal(2), Decimal("5.5"), None),
    ]

    # A received order is no longer updated by another waybill.
    again = _receipt().model_copy(update={"waybill_id": "6"})
    with pytest.raises(FatalSyncError, match="status is 'received'"):
        target.deliver("waybills", _written("store_erp.purchase_order_receipt", again))
