"""A store database's master data as the seed 003 rules see it, read fresh for each message.

Seed 003's ERP keeps one database per store. Each flow's rules need a small,
fixed part of one store's data: the products and prices an incoming order is
priced from, the purchase order a waybill answers, the sales order a delivery
belongs to. The reader (``koppel.hooks.store_erp``) fills these with a fixed
handful of queries per message; the rules (``koppel.rules.internal_pricing``,
``koppel.rules.waybills``, ``koppel.rules.peppol_ordering``) are pure
functions over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class StoreParty:
    """A store itself, one of its customers or one of its suppliers, as messages name it.

    ``party_id`` is the row's id in the store's database (customer or supplier
    number, or the store's own code).
    """

    party_id: str
    name: str
    gln: str | None = None
    """The party's GLN, its identifier in UBL messages (``PartyIdentification``, scheme 0088)."""
    endpoint_id: str | None = None
    """Its electronic address (UBL ``EndpointID``), e.g. a Peppol participant id."""
    endpoint_scheme: str | None = None
    vat_number: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    message_format: str | None = None
    """Suppliers only: the message format orders to this supplier go in (``UBL2.0SIS``)."""


@dataclass(frozen=True)
class StoreProduct:
    """A product with the prices seed 003 chooses between."""

    product_code: str
    name: str | None = None
    gtin: str | None = None
    unit: str = "PCE"
    average_purchase_price: Decimal | None = None
    purchase_price: Decimal | None = None
    sales_price: Decimal | None = None
    """The product's own (list) sales price: the price lookup's last step."""


@dataclass(frozen=True)
class SalesMasterData:
    """What pricing one incoming order needs from the receiving store's database."""

    store: StoreParty
    """The receiving store: the order's seller."""
    customer: StoreParty | None
    """The customer the order's buyer is, found by GLN, endpoint or customer id; None if unknown."""
    products_by_code: Mapping[str, StoreProduct] = field(default_factory=dict)
    """The order's products by product code (the seller's item id of a line)."""
    products_by_gtin: Mapping[str, StoreProduct] = field(default_factory=dict)
    price_list_prices: Mapping[str, Decimal] = field(default_factory=dict)
    """Product code -> the customer's price-list price, for the products of the order."""


@dataclass(frozen=True)
class PurchaseOrderLineData:
    """A purchase-order line as the ordering store has it."""

    line_number: int
    product_code: str
    quantity: Decimal
    purchase_price: Decimal
    unit: str = "PCE"
    description: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class PurchaseOrderData:
    """A purchase order of the ordering store, with its supplier and the store itself."""

    order_number: str
    status: str
    """``draft``, ``posted`` or ``received``."""
    store: StoreParty
    """The ordering store: the order's buyer."""
    supplier: StoreParty
    currency: str
    order_date: date | None = None
    requested_delivery_date: date | None = None
    note: str | None = None
    lines: tuple[PurchaseOrderLineData, ...] = ()
    products_by_code: Mapping[str, StoreProduct] = field(default_factory=dict)
    """The lines' products, for their GTINs and names in the message."""


@dataclass(frozen=True)
class SalesOrderLineData:
    """A sales-order line as the delivering store has it."""

    line_number: int
    line_id: str
    """The buyer's line id the order message gave the line."""
    product_code: str
    quantity: Decimal
    sales_price: Decimal
    unit: str = "PCE"
    description: str | None = None
    gtin: str | None = None
    delivered_before: Decimal = Decimal(0)
    """What earlier deliveries of this sales order already delivered of the line."""


@dataclass(frozen=True)
class DeliveredSalesOrder:
    """The sales order a delivery belongs to, with the parties its waybill names."""

    order_number: str
    order_reference: str
    """The buyer's order id (the ordering store's purchase-order number)."""
    internal: bool
    currency: str
    store: StoreParty
    """The delivering store: the waybill's despatch (seller) party."""
    customer: StoreParty
    """The buyer: the waybill's delivery party."""
    lines: tuple[SalesOrderLineData, ...] = ()
