"""Orders as the store ERP of seed 003 books them: sales orders and purchase-order receipts.

Seed 003's ERP (a POS and webshop system run as one database per store) takes
a UBL order into a sales order priced by its own rules, and a waybill into the
purchase order it answers. These are the rows an SQL target writes: already
resolved to the store's product codes and prices, so the target has nothing
left to decide.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from koppel.documents.base import Amount, CanonicalModel


class PriceSource(StrEnum):
    """Where a sales-order line's price came from, so a user can see why it is what it is."""

    AVERAGE_PURCHASE_PRICE = "average_purchase_price"
    """Internal order: the product's average purchase price in the receiving store."""
    PURCHASE_PRICE = "purchase_price"
    """Internal order without an average purchase price: the product's purchase price."""
    MESSAGE = "message"
    """Internal order without either: the tax-exclusive price in the message."""
    PRICE_LIST = "price_list"
    """Normal order: the customer's price list."""
    LIST_PRICE = "list_price"
    """Normal order, no price-list price: the product's own sales price."""


class StoreSalesOrderLine(CanonicalModel):
    """One line of the sales order to create."""

    line_id: str
    """The buyer's line id (UBL ``LineItem/cbc:ID``), for the waybill's order line reference."""
    product_code: str
    description: str | None = None
    quantity: Amount
    unit: str = "PCE"
    sales_price: Amount
    purchase_price: Amount
    """The line's cost; for an internal order the same as the sales price (seed 003)."""
    price_source: PriceSource
    amount: Amount
    """Quantity times sales price, excluding tax."""


class StoreSalesOrder(CanonicalModel):
    """A sales order in a store's database, created from an order message.

    An internal order (UBL ``OrderTypeCode`` ``UBL2.0SIS``) is one between two
    stores of one company: the store records no sale for it.
    """

    order_reference: str
    """The buyer's order id; with ``customer_id`` the order's key in the store."""
    customer_id: str
    internal: bool
    order_type_code: str | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    order_date: date | None = None
    requested_delivery_date: date | None = None
    note: str | None = None
    amount: Amount
    lines: list[StoreSalesOrderLine] = Field(default_factory=list)


class ReceiptStatus(StrEnum):
    """What a waybill leaves the purchase order as."""

    RECEIVED = "received"
    """The goods receipt is made."""
    POSTED = "posted"
    """Price and quantity updated, the order left as it was (option ``do_not_receive``)."""


class PurchaseOrderReceiptLine(CanonicalModel):
    """A purchase-order line as the waybill leaves it."""

    line_number: int
    product_code: str
    description: str | None = None
    quantity: Amount
    unit: str = "PCE"
    purchase_price: Amount
    text: str | None = None
    """The line's text field; a changed quantity is noted here ("Ordered was 2")."""


class PurchaseOrderReceipt(CanonicalModel):
    """A purchase order updated (and, unless told not to, received) from a waybill.

    It carries every line of the order, also those the waybill leaves alone:
    the SQL target replaces the order's lines with these.
    """

    order_number: str
    """The purchase order's number in the ordering store (the UBL order's ``cbc:ID``)."""
    supplier_id: str
    status: ReceiptStatus
    waybill_id: str
    received_date: date | None = None
    lines: list[PurchaseOrderReceiptLine] = Field(default_factory=list)
