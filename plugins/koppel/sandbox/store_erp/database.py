"""A stand-in store database: the store ERP's tables on PostgreSQL or a SQLite file, seeded.

Seed 003's ERP exchanges orders through its database, so a stand-in store
*is* a database with the tables of :mod:`koppel.hooks.store_erp_schema`
plus demo data (:mod:`koppel.sandbox.store_erp.seed`). The two helpers below
do what a store's user does at the till: post a purchase order, deliver a
sales order. Each sets the row's ``changed_at``, so the SQL source of the
matching flow sees a changed row, exactly as it would in the real ERP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import URL, Engine, Table, select

from koppel.hooks.store_erp_schema import (
    deliveries,
    delivery_lines,
    metadata,
    products,
    purchase_order_lines,
    purchase_orders,
    sales_order_lines,
    sales_orders,
    store,
)
from koppel.sandbox.seeded_tables import create_seeded_database, insert_with_lines, load_tables
from koppel.sandbox.store_erp.seed import StoreSeed

#: Header tables whose seed rows carry their child rows under ``lines``: child table, key.
_WITH_LINES: dict[str, tuple[Table, str]] = {
    purchase_orders.name: (purchase_order_lines, "order_number"),
    sales_orders.name: (sales_order_lines, "order_number"),
    deliveries.name: (delivery_lines, "delivery_number"),
}


def create_store_database(url: str | URL, seed: StoreSeed | None = None) -> Engine:
    """Create the store's tables on ``url`` (an empty database), load ``seed``, return the engine.

    The engine is made as Koppel's SQL endpoints make theirs, so a test
    writing through it sees what a flow would.
    """
    return create_seeded_database(url, metadata, seed, _WITH_LINES)


def open_demo_store(url: str | URL, seed: StoreSeed) -> Engine:
    """A demo store's database at ``url``: created and seeded when new, else kept as it is.

    A restarted sandbox keeps what the store holds (orders imported,
    deliveries made, prices changed by hand) instead of seeding it twice.
    """
    engine = create_store_database(url, seed=None)
    with engine.connect() as conn:
        if conn.execute(select(store.c.store_id).limit(1)).first() is not None:
            return engine
    load_seed(engine, seed)
    return engine


def load_seed(engine: Engine, seed: StoreSeed) -> None:
    """Insert the seed's rows, tables in dependency order, in one transaction.

    Orders and deliveries get their numbers from the database, as in the
    store, so their ``lines`` are inserted under the number each got.
    """
    load_tables(engine, metadata, seed, _WITH_LINES)


@dataclass(frozen=True)
class OrderedLine:
    """A purchase-order line as a user enters it; what is left out comes from the product."""

    product_code: str
    quantity: Decimal
    purchase_price: Decimal | None = None
    """Left out: the product's purchase price (0 when it has none)."""
    description: str | None = None
    """Left out: the product's name."""


@dataclass(frozen=True)
class DeliveredLot:
    """Traceability of one delivered line: its lot, serial number, best-before date."""

    lot_number: str | None = None
    lot_expiry_date: date | None = None
    serial_number: str | None = None
    best_before_date: date | None = None


def post_purchase_order(
    engine: Engine,
    supplier_id: str,
    lines: Sequence[OrderedLine],
    *,
    currency: str = "EUR",
    order_date: date | None = None,
    requested_delivery_date: date | None = None,
    note: str | None = None,
) -> int:
    """Enter and post a purchase order to ``supplier_id``; return its order number.

    Lines are numbered 1, 2, ... in the order given.
    """
    codes = sorted({line.product_code for line in lines})
    with engine.begin() as conn:
        known = {
            row.product_code: row
            for row in conn.execute(
                select(
                    products.c.product_code,
                    products.c.name,
                    products.c.unit,
                    products.c.purchase_price,
                ).where(products.c.product_code.in_(codes))
            )
        }
        header = {
            "supplier_id": supplier_id,
            "status": "posted",
            "currency": currency,
            "order_date": order_date or datetime.now(UTC).date(),
            "requested_delivery_date": requested_delivery_date,
            "note": note,
            "changed_at": datetime.now(UTC),
        }
        rows = []
        for number, line in enumerate(lines, start=1):
            product = known.get(line.product_code)
            price = line.purchase_price
            if price is None:
                price = product.purchase_price if product and product.purchase_price else Decimal(0)
            rows.append(
                {
                    "line_number": number,
                    "product_code": line.product_code,
                    "description": line.description or (product.name if product else None),
                    "quantity": line.quantity,
                    "unit": product.unit if product else "PCE",
                    "purchase_price": price,
                }
            )
        return insert_with_lines(
            conn,
            purchase_orders,
            header,
            child=purchase_order_lines,
            parent_column="order_number",
            lines=rows,
        )


def deliver_sales_order(
    engine: Engine,
    order_number: int | str,
    quantities: Mapping[int, Decimal | int | str],
    *,
    lots: Mapping[int, DeliveredLot] | None = None,
    delivery_date: date | None = None,
    note: str | None = None,
) -> int:
    """Deliver ``quantities`` (sales-order line number -> quantity) of a sales order.

    Inserts one delivery with a line per entry, numbered 1, 2, ... in the
    order given, each with the sales-order line's product and, from
    ``lots``, its traceability; returns the delivery number.

    Raises:
        ValueError: a line number the sales order does not have.
    """
    lots = lots or {}
    with engine.begin() as conn:
        lines_of_order = select(
            sales_order_lines.c.line_number, sales_order_lines.c.product_code
        ).where(sales_order_lines.c.order_number == int(order_number))
        product_of = {row.line_number: row.product_code for row in conn.execute(lines_of_order)}
        unknown = sorted(set(quantities) - set(product_of))
        if unknown:
            raise ValueError(f"sales order {order_number} has no line(s) {unknown}")
        header = {
            "sales_order_number": int(order_number),
            "delivery_date": delivery_date or datetime.now(UTC).date(),
            "note": note,
            "changed_at": datetime.now(UTC),
        }
        rows = []
        for number, (line, quantity) in enumerate(quantities.items(), start=1):
            lot = lots.get(line, DeliveredLot())
            rows.append(
                {
                    "line_number": number,
                    "sales_order_line": line,
                    "product_code": product_of[line],
                    "quantity": Decimal(str(quantity)),
                    "lot_number": lot.lot_number,
                    "lot_expiry_date": lot.lot_expiry_date,
                    "serial_number": lot.serial_number,
                    "best_before_date": lot.best_before_date,
                }
            )
        return insert_with_lines(
            conn,
            deliveries,
            header,
            child=delivery_lines,
            parent_column="delivery_number",
            lines=rows,
        )
