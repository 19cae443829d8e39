"""The records an emulated IPSoft company holds, as frozen dataclasses.

Frozen, so a test or the service can only change the state through
:class:`~koppel.sandbox.ipsoft.state.IPSoftState`, which stamps every change
with a modification time the paged list operations select on. Each listed
record has a ``key``: the identity under which the state stores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from koppel.sandbox.ipsoft.documents import Charge


@dataclass(frozen=True)
class Address:
    """A billing or delivery address; ``name`` only on delivery addresses."""

    street: str
    house_number: str
    postal_code: str
    city: str
    country_code: str
    house_number_addition: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Buyer:
    """A person ordering for a customer."""

    name: str
    email: str
    phone: str | None = None


@dataclass(frozen=True)
class Customer:
    """A customer, keyed by IPSoft's customer number."""

    number: str
    name: str
    currency: str
    billing_address: Address
    buyers: tuple[Buyer, ...] = ()
    vat_number: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    price_list_id: str | None = None
    modified_at: datetime | None = None
    revenue_account: str = "8000"
    """Where a sales invoice (lines without articles) is booked: the customer's default."""

    @property
    def key(self) -> str:
        return self.number


@dataclass(frozen=True)
class Product:
    """An article, keyed by IPSoft's internal article id (SKU and EAN13 may be missing)."""

    article_id: str
    name: str
    sku: str | None = None
    ean13: str | None = None
    description: str | None = None
    category: str | None = None
    colour: str | None = None
    size: str | None = None
    composition: str | None = None
    season: str | None = None
    brand: str | None = None
    active: bool = True
    modified_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.article_id


@dataclass(frozen=True)
class PriceList:
    """A price list; not paged and carries no modification time."""

    id: str
    name: str
    currency: str

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class Price:
    """A price of one SKU in one list from a minimum quantity on."""

    price_list_id: str
    sku: str
    currency: str
    amount: Decimal
    min_quantity: Decimal = Decimal(1)
    valid_from: date | None = None
    modified_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, Decimal]:
        return (self.price_list_id, self.sku, self.min_quantity)


@dataclass(frozen=True)
class StockItem:
    """Available-to-sell quantity of a SKU in a warehouse."""

    sku: str
    available: Decimal
    warehouse: str | None = None
    modified_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.warehouse or "")


@dataclass(frozen=True)
class OrderLine:
    """One line of a created order."""

    line_number: int
    sku: str
    quantity: Decimal
    unit_price: Decimal
    """Net per piece, excluding VAT, after the line's discounts."""
    tax_rate: Decimal | None = None
    line_amount: Decimal | None = None
    """The line's net total as the portal computed it; wins over quantity x price."""

    @property
    def amount(self) -> Decimal:
        """What the line is invoiced at excluding VAT: ``line_amount``, else quantity x price."""
        return self.line_amount if self.line_amount is not None else self.quantity * self.unit_price


@dataclass(frozen=True)
class Order:
    """An order created through CreateOrder, keyed by the portal's reference."""

    order_number: str
    reference: str
    customer_number: str
    order_date: date
    currency: str
    delivery_address: Address
    lines: tuple[OrderLine, ...]
    remarks: str | None
    created_at: datetime
    charges: tuple[Charge, ...] = ()
    """Shipping, fees and discounts excluding VAT, invoiced with the order."""


#: The records the paged list operations return, selected on ``modified_at``.
Record = Customer | Product | Price | StockItem
