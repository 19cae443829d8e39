"""The store ERP's tables (seed 003): one database per store, the same tables in each.

Seed 003's ERP is a POS and webshop system that keeps one database per
store. This module is its contract: the reader of master data
(:mod:`koppel.hooks.store_erp`), the stand-in stores
(:mod:`koppel.sandbox.store_erp`) and the SQL endpoints of the four
internal-order flows are all built on it. The tables an SQL target writes
(``sales_orders``, ``purchase_orders`` and their lines) name their columns as
the documents :mod:`koppel.documents.store_erp` name their fields, because
the target writes JSON keys as columns and refuses any it does not know.

SQLAlchemy Core only, so the same definitions create a store on PostgreSQL
(tests, cluster) and on SQLite (the demo). Money and quantities are NUMERIC:
no price passes through a binary float.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from koppel.hooks import sql_columns

metadata = MetaData()

# The column types both ERP contracts share, named here too: readers of this
# contract write ``erp.Money`` and ``erp.Quantity`` when they coerce a sum.
Money = sql_columns.Money
Quantity = sql_columns.Quantity
utc_now = sql_columns.utc_now

#: The message format of a supplier that takes internal UBL 2.0 orders (seed 003).
INTERNAL_ORDER_FORMAT = "UBL2.0SIS"

#: Purchase-order statuses: entered, posted (sent to the supplier), goods received.
PURCHASE_ORDER_STATUSES = ("draft", "posted", "received")
#: The status a new imported sales order gets.
NEW_SALES_ORDER_STATUS = "open"


def _party_columns() -> list[Column[Any]]:
    """The columns a party (the store, a customer, a supplier) is named by in messages."""
    return [
        Column("name", String(200), nullable=False),
        Column("gln", String(13)),
        Column("endpoint_id", String(100)),
        Column("endpoint_scheme", String(10)),
        Column("vat_number", String(40)),
        Column("street", String(200)),
        Column("city", String(100)),
        Column("postal_code", String(20)),
        Column("country", String(2)),
    ]


store = Table(
    "store",
    metadata,
    # One row: the store this database belongs to, the party its own messages name.
    Column("store_id", String(20), primary_key=True),
    *_party_columns(),
    # The language of texts the store writes itself ("Tilattu oli 2").
    Column("language", String(8), nullable=False, server_default="fi"),
)

products = Table(
    "products",
    metadata,
    Column("product_code", String(60), primary_key=True),
    Column("gtin", String(14), unique=True),
    Column("name", String(200)),
    Column("unit", String(10), nullable=False, server_default="PCE"),
    # Any of the three may be missing; the pricing rules fall back in order (seed 003).
    Column("average_purchase_price", Money),
    Column("purchase_price", Money),
    Column("sales_price", Money),
)

price_lists = Table(
    "price_lists",
    metadata,
    Column("price_list_id", String(40), primary_key=True),
    Column("description", String(200)),
)

price_list_prices = Table(
    "price_list_prices",
    metadata,
    Column("price_list_id", String(40), ForeignKey("price_lists.price_list_id"), primary_key=True),
    Column("product_code", String(60), ForeignKey("products.product_code"), primary_key=True),
    Column("price", Money, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(20), primary_key=True),
    *_party_columns(),
    Column("price_list_id", String(40), ForeignKey("price_lists.price_list_id")),
)

suppliers = Table(
    "suppliers",
    metadata,
    Column("supplier_id", String(20), primary_key=True),
    *_party_columns(),
    # How orders to this supplier are sent; 'UBL2.0SIS' makes them internal UBL orders.
    Column("message_format", String(20)),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("order_number", Integer, primary_key=True, autoincrement=True),
    Column("supplier_id", String(20), ForeignKey("suppliers.supplier_id"), nullable=False),
    Column("status", String(20), nullable=False, server_default="draft"),
    Column("currency", String(3), nullable=False, server_default="EUR"),
    Column("order_date", Date),
    Column("requested_delivery_date", Date),
    Column("note", Text),
    # Set by the waybill that answered the order (the waybills flow).
    Column("waybill_id", String(60)),
    Column("received_date", Date),
    # Which Koppel delivery wrote the row (the SQL target's import_column).
    Column("import_message", String(200)),
    # When the row last changed: the purchase_orders source reads rows by it.
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=utc_now()),
    CheckConstraint("status IN ('draft', 'posted', 'received')", name="purchase_orders_status"),
    sqlite_autoincrement=True,
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("order_number", Integer, primary_key=True),
    Column("line_number", Integer, primary_key=True),
    Column("product_code", String(60), ForeignKey("products.product_code"), nullable=False),
    Column("description", String(200)),
    Column("quantity", Quantity, nullable=False),
    Column("unit", String(10), nullable=False, server_default="PCE"),
    Column("purchase_price", Money, nullable=False),
    # Free text; a waybill changing the quantity notes the ordered one here.
    Column("text", Text),
    ForeignKeyConstraint(["order_number"], ["purchase_orders.order_number"], ondelete="CASCADE"),
)

sales_orders = Table(
    "sales_orders",
    metadata,
    # The store's order number, generated on insert: the import's receipt.
    Column("order_number", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(20), ForeignKey("customers.customer_id"), nullable=False),
    # The buyer's order id; with customer_id the order's key.
    Column("order_reference", String(100), nullable=False),
    # An order between two stores of the company: no sale is recorded for it.
    Column("internal", Boolean, nullable=False, server_default=false()),
    Column("order_type_code", String(40)),
    Column("currency", String(3), nullable=False, server_default="EUR"),
    Column("order_date", Date),
    Column("requested_delivery_date", Date),
    Column("note", Text),
    Column("amount", Money, nullable=False),
    Column("status", String(20), nullable=False, server_default=NEW_SALES_ORDER_STATUS),
    Column("import_message", String(200)),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=utc_now()),
    UniqueConstraint("customer_id", "order_reference", name="sales_orders_reference"),
    sqlite_autoincrement=True,
)

sales_order_lines = Table(
    "sales_order_lines",
    metadata,
    Column("order_number", Integer, primary_key=True),
    # The store's line number, 1, 2, ... in message order (the target's position_column).
    Column("line_number", Integer, primary_key=True),
    # The buyer's line id, which the waybill's order line reference gives back.
    Column("line_id", String(40), nullable=False),
    Column("product_code", String(60), ForeignKey("products.product_code"), nullable=False),
    Column("description", String(200)),
    Column("quantity", Quantity, nullable=False),
    Column("unit", String(10), nullable=False, server_default="PCE"),
    Column("sales_price", Money, nullable=False),
    Column("purchase_price", Money, nullable=False),
    # Which rule priced the line (koppel.documents.store_erp.PriceSource).
    Column("price_source", String(30), nullable=False),
    Column("amount", Money, nullable=False),
    ForeignKeyConstraint(["order_number"], ["sales_orders.order_number"], ondelete="CASCADE"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_number", Integer, primary_key=True, autoincrement=True),
    Column(
        "sales_order_number",
        Integer,
        ForeignKey("sales_orders.order_number"),
        nullable=False,
    ),
    Column("delivery_date", Date),
    Column("note", Text),
    # When the delivery was made or changed: the despatches source reads rows by it.
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=utc_now()),
    sqlite_autoincrement=True,
)

delivery_lines = Table(
    "delivery_lines",
    metadata,
    Column("delivery_number", Integer, primary_key=True),
    Column("line_number", Integer, primary_key=True),
    # The line_number of the sales-order line delivered (no foreign key: a sales
    # order updated by a new message gets its lines anew).
    Column("sales_order_line", Integer, nullable=False),
    Column("product_code", String(60), ForeignKey("products.product_code"), nullable=False),
    Column("quantity", Quantity, nullable=False),
    Column("lot_number", String(60)),
    Column("lot_expiry_date", Date),
    Column("serial_number", String(60)),
    Column("best_before_date", Date),
    ForeignKeyConstraint(["delivery_number"], ["deliveries.delivery_number"], ondelete="CASCADE"),
)
