"""Orders and the other document types an order becomes on its way (seed 001).

One model serves quotes, orders, invoices, direct invoices and sales invoices:
they differ in what the target does with them, not in their shape. A sales
invoice has lines without articles.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from koppel.documents.base import Amount, CanonicalModel
from koppel.documents.parties import Address, Party


class DocumentType(StrEnum):
    """The phase in which an order is handed to the target (SPEC.md section 3)."""

    QUOTE = "quote"
    ORDER = "order"
    INVOICE = "invoice"
    DIRECT_INVOICE = "direct_invoice"
    SALES_INVOICE = "sales_invoice"

    @property
    def needs_articles(self) -> bool:
        """Every type but the sales invoice books articles that must exist in the target."""
        return self is not DocumentType.SALES_INVOICE


class Channel(StrEnum):
    """Sales channel; IT's Perfect keeps separate settings per channel (seed 000)."""

    B2C = "B2C"
    B2B = "B2B"


class Discount(CanonicalModel):
    """A discount on a line: a percentage, an amount, or both as the source states them."""

    percentage: Amount | None = None
    amount: Amount | None = None
    reason: str | None = None


class LineDelivery(CanonicalModel):
    """One delivery of a line as the order states it: where, how many, by when.

    UBL (and so SCSN) lets a line be split over several deliveries
    (``cac:LineItem/cac:Delivery``); they are kept as sent so that a rule can
    see, for instance, two locations on one line (SCSN business rule BR-14).
    """

    location_id: str | None = None
    """The delivery location's id (``cac:DeliveryLocation/cbc:ID``), e.g. a dock or plant code."""
    address: Address | None = None
    quantity: Amount | None = None
    requested_delivery_date: date | None = None


class OrderLine(CanonicalModel):
    """One order line; articles are identified by any of SKU, GTIN or article codes."""

    line_id: str
    sku: str | None = None
    gtin: str | None = None
    gtin_scheme: str | None = None
    """The scheme of ``gtin`` as sent (UBL ``StandardItemIdentification/cbc:ID/@schemeID``:
    ``GTIN`` in the OASIS examples, ``0160`` in Peppol), when stated."""
    supplier_article_code: str | None = None
    supplier_article_revision: str | None = None
    customer_article_code: str | None = None
    customer_article_revision: str | None = None
    description: str | None = None
    item_description: str | None = None
    """The item's longer description when the source gives a name too (UBL ``cac:Item`` with
    both ``cbc:Name``, which is ``description``, and ``cbc:Description``)."""
    quantity: Amount
    unit: str = "PCE"
    unit_price: Amount | None = None
    """Price per unit, excluding tax and before discounts."""
    discounts: list[Discount] = Field(default_factory=list)
    tax_rate: Amount | None = None
    """Tax percentage, e.g. 21 for 21 %."""
    line_amount: Amount | None = None
    """Line total excluding tax, as the source computed it."""
    requested_delivery_date: date | None = None
    delivery_location_id: str | None = None
    """Where the line is to be delivered (the location of its first delivery), when stated."""
    deliveries: list[LineDelivery] = Field(default_factory=list)
    """Every delivery the line is split into, as sent; empty when the source has none."""
    note: str | None = None

    @property
    def article_key(self) -> str | None:
        """The most specific identifier of the article, for messages and lookups."""
        return self.sku or self.gtin or self.supplier_article_code or self.customer_article_code


class CostKind(StrEnum):
    """Order-level amounts that are not articles (seed 001: the 'advanced' mutation level)."""

    SHIPPING = "shipping"
    FEE = "fee"
    DISCOUNT = "discount"
    OTHER = "other"


class CostLine(CanonicalModel):
    """An order-level cost or discount, excluding tax."""

    kind: CostKind
    amount: Amount
    description: str | None = None
    tax_rate: Amount | None = None


class TaxTotal(CanonicalModel):
    """The tax of one rate as the source reports it (UBL ``cac:TaxSubtotal``, a webshop's summary).

    Kept as stated, not recomputed: the source rounds tax its own way (per line
    or per rate), and the ledger posting must carry the tax the source invoiced.
    """

    rate: Amount
    """Tax percentage, e.g. 21 for 21 %."""
    taxable_amount: Amount | None = None
    """The amount the tax is computed on, excluding tax, when stated."""
    tax_amount: Amount


class Order(CanonicalModel):
    """An order, quote or invoice between a buyer and a seller."""

    order_id: str
    """The order number in the source system; the key for duplicates and replays."""
    document_type: DocumentType = DocumentType.ORDER
    order_type_code: str | None = None
    """The wire format's own type code, e.g. UBL ``OrderTypeCode`` ``UBL2.0SIS``."""
    version_id: str | None = None
    """The wire document's syntax version as sent (UBL ``cbc:UBLVersionID``, e.g. ``2.0`` for
    the internal orders of seed 003), so that an order can be answered or passed on in
    the version it came in; None when the source does not say."""
    external_reference: str | None = None
    """The customer's own reference (PO number, webshop order number)."""
    channel: Channel | None = None
    issue_date: date | None = None
    issue_time: datetime | None = None
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    buyer: Party | None = None
    seller: Party | None = None
    delivery: Party | None = None
    """Where the goods go; its address is the shipping address."""
    invoicee: Party | None = None
    lines: list[OrderLine] = Field(default_factory=list)
    costs: list[CostLine] = Field(default_factory=list)
    payment_method: str | None = None
    shipping_method: str | None = None
    requested_delivery_date: date | None = None
    note: str | None = None
    total_amount: Amount | None = None
    """Total including tax as the source states it; rules may check it."""
    prices_include_tax: bool = False
    """True when unit prices and the amounts of lines and costs include tax (a B2C webshop);
    the default keeps the meaning of ``unit_price``, ``line_amount`` and ``CostLine.amount``
    as excluding tax."""
    tax_totals: list[TaxTotal] = Field(default_factory=list)
    """The tax per rate as the source reports it; empty when the source does not state it."""
    refund: bool = False
    """A refund or credit note: amounts are stated as on a sale; its posting has reversed signs."""
    valid_until: date | None = None
    """The last day a quote may be accepted (a quote's validity; empty for other types)."""
    original_order_id: str | None = None
    """For a refund: the order it refunds, as the source names it."""

    def goods_amount(self) -> Decimal:
        """Sum of the lines' amounts excluding tax (``line_amount`` or quantity times price)."""
        total = Decimal(0)
        for line in self.lines:
            if line.line_amount is not None:
                total += line.line_amount
            elif line.unit_price is not None:
                total += line.unit_price * line.quantity
        return total
