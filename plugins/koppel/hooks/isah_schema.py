"""The ERP (Isah) database's tables: master data the SCSN checks read, and the order import tables.

This is the ERP's contract, as a WSDL is a SOAP service's: the reader of
master data (:mod:`koppel.hooks.isah`) and the stand-in ERP
(:mod:`koppel.sandbox.isah`) are built on it, and the order tables are what an
``isah.sales_order`` SQL target writes into. SQLAlchemy Core only, so the
same definitions create the database on PostgreSQL (tests, cluster) and on
SQLite (the demo's embedded default). Money and quantities are NUMERIC: no
amount passes through a binary float.
"""

from __future__ import annotations

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

#: Keys of the ``settings`` table the order import reads (Isah: general configuration).
DEFAULT_SALES_TYPE = "default_sales_type"
"""The global sales type for electronic orders, when the customer has none (check 1)."""
DEVIATING_PRICE_STATUS = "deviating_price_status"
"""The line status given to an accepted deviating price (check 6)."""
DEFAULT_PRICE_LIST = "default_price_list"
"""The price list of the last step of the price search path."""

#: Order statuses that no longer count as open towards the credit limit (check 7).
CLOSED_ORDER_STATUSES = ("shipped", "cancelled", "closed")
#: The status a new imported order gets.
NEW_ORDER_STATUS = "open"


settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200)),
)

currencies = Table(
    "currencies",
    metadata,
    Column("code", String(3), primary_key=True),
    Column("decimals", Integer, nullable=False, server_default="2"),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(20), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scsn_id", String(100), unique=True),
    Column("sales_type", String(20)),
    Column("accept_deviating_prices", Boolean, nullable=False, server_default=false()),
    Column("credit_check", Boolean, nullable=False, server_default=false()),
    Column("credit_limit", Money),
    Column("credit_include_quotes", Boolean, nullable=False, server_default=false()),
    Column("credit_include_orders", Boolean, nullable=False, server_default=false()),
    Column("currency", String(3), ForeignKey("currencies.code"), nullable=False),
    Column("price_list_id", String(40), ForeignKey("price_lists.price_list_id")),
    Column("discount_percentage", Quantity),
)

articles = Table(
    "articles",
    metadata,
    Column("article_code", String(60), primary_key=True),
    Column("description", String(200)),
    # Set for a customer-specific article (check 4): only that customer may order it.
    Column("customer_id", String(20), ForeignKey("customers.customer_id")),
)

article_revisions = Table(
    "article_revisions",
    metadata,
    Column("article_code", String(60), ForeignKey("articles.article_code"), primary_key=True),
    Column("revision", String(20), primary_key=True),
    Column("released", Boolean, nullable=False, server_default=false()),
    Column("sequence", Integer, nullable=False),
)

customer_articles = Table(
    "customer_articles",
    metadata,
    Column("customer_id", String(20), ForeignKey("customers.customer_id"), primary_key=True),
    Column("customer_article_code", String(60), primary_key=True),
    Column("article_code", String(60), ForeignKey("articles.article_code"), nullable=False),
    # The customer's revision as stored in the ERP; NULL when none is (check 5: a warning).
    Column("revision", String(20)),
)

price_lists = Table(
    "price_lists",
    metadata,
    Column("price_list_id", String(40), primary_key=True),
    Column("currency", String(3), ForeignKey("currencies.code"), nullable=False),
    Column("description", String(200)),
)

price_list_prices = Table(
    "price_list_prices",
    metadata,
    Column("price_list_id", String(40), ForeignKey("price_lists.price_list_id"), primary_key=True),
    Column("article_code", String(60), ForeignKey("articles.article_code"), primary_key=True),
    Column("min_quantity", Quantity, primary_key=True, server_default="1"),
    Column("unit_price", Money, nullable=False),
)

customer_prices = Table(
    "customer_prices",
    metadata,
    Column("customer_id", String(20), ForeignKey("customers.customer_id"), primary_key=True),
    Column("article_code", String(60), ForeignKey("articles.article_code"), primary_key=True),
    Column("currency", String(3), ForeignKey("currencies.code"), primary_key=True),
    Column("min_quantity", Quantity, primary_key=True, server_default="1"),
    Column("unit_price", Money, nullable=False),
    Column("discount_percentage", Quantity),
)

open_invoices = Table(
    "open_invoices",
    metadata,
    Column("invoice_number", String(20), primary_key=True),
    Column("customer_id", String(20), ForeignKey("customers.customer_id"), nullable=False),
    Column("open_amount", Money, nullable=False),
)

quotes = Table(
    "quotes",
    metadata,
    Column("quote_number", String(20), primary_key=True),
    Column("customer_id", String(20), ForeignKey("customers.customer_id"), nullable=False),
    Column("amount", Money, nullable=False),
    Column("status", String(20), nullable=False, server_default="open"),
    CheckConstraint("status IN ('open', 'closed')", name="quotes_status"),
)

sales_orders = Table(
    "sales_orders",
    metadata,
    # The ERP's order number, generated on insert: the import's receipt.
    Column("order_number", Integer, primary_key=True, autoincrement=True),
    Column("order_reference", String(100), nullable=False),
    Column("buyer_scsn_id", String(100), nullable=False),
    Column("customer_id", String(20), ForeignKey("customers.customer_id"), nullable=False),
    Column("sales_type", String(20), nullable=False),
    Column("currency", String(3), ForeignKey("currencies.code"), nullable=False),
    Column("order_type_code", String(40)),
    # A user confirms the order in the ERP; until then a "New" message may replace it.
    Column("confirmed", Boolean, nullable=False, server_default=false()),
    Column("status", String(20), nullable=False, server_default=NEW_ORDER_STATUS),
    Column("amount", Money, nullable=False),
    Column("requested_delivery_date", Date),
    Column("note", Text),
    # Which Koppel delivery wrote the row: a retry after a crash finds its own row.
    Column("import_message", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=utc_now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=utc_now()),
    UniqueConstraint("order_reference", "buyer_scsn_id", name="sales_orders_reference"),
    sqlite_autoincrement=True,
)

sales_order_lines = Table(
    "sales_order_lines",
    metadata,
    Column("order_number", Integer, primary_key=True),
    # The buyer's line id: unique within an order (SCSN conformance), so the line's key.
    Column("line_id", String(40), primary_key=True),
    # The ERP's own line number, 1, 2, ... in message order (the endpoint's position_column).
    Column("line_number", Integer),
    Column("article_code", String(60), ForeignKey("articles.article_code"), nullable=False),
    Column("revision", String(20)),
    Column("customer_article_code", String(60)),
    Column("description", String(200)),
    Column("quantity", Quantity, nullable=False),
    Column("unit", String(10), nullable=False, server_default="PCE"),
    Column("unit_price", Money, nullable=False),
    Column("discount_percentage", Quantity, nullable=False, server_default="0"),
    Column("manually_priced", Boolean, nullable=False, server_default=false()),
    Column("status", String(20)),
    Column("amount", Money, nullable=False),
    ForeignKeyConstraint(["order_number"], ["sales_orders.order_number"], ondelete="CASCADE"),
)
