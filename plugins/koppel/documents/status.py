"""What happened to an order after it left: shipments, cancellations, waybills, returns."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from koppel.documents.base import Amount, CanonicalModel
from koppel.documents.parties import Party


class OrderStatus(StrEnum):
    """The state a warehouse or ERP reports for an order."""

    ACCEPTED = "accepted"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    PARTIALLY_SHIPPED = "partially_shipped"
    CANCELLED = "cancelled"
    DELETED = "deleted"
    """Deleted in the warehouse without shipping (seed 000: reported with quantity 0)."""


class StatusLine(CanonicalModel):
    """The shipped (or cancelled, with quantity 0) quantity of one order line."""

    line_id: str | None = None
    sku: str | None = None
    gtin: str | None = None
    quantity_ordered: Amount | None = None
    quantity_shipped: Amount
    quantity_backordered: Amount | None = None


class Shipment(CanonicalModel):
    """A parcel with its carrier and track-and-trace code."""

    carrier: str | None = None
    tracking_code: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None


class StatusUpdate(CanonicalModel):
    """An order update from warehouse to ERP (IT's Perfect OU, SPEC.md section 4)."""

    order_id: str
    status: OrderStatus
    lines: list[StatusLine] = Field(default_factory=list)
    shipments: list[Shipment] = Field(default_factory=list)
    reason: str | None = None
    reported_at: datetime | None = None


class Lot(CanonicalModel):
    """A production lot (batch) of a despatched item: UBL ``cac:LotIdentification``.

    Traceability and recalls follow the lot, and food and medicine expire per lot,
    so the expiry date travels with the number.
    """

    number: str
    expiry_date: date | None = None


class SerialNumber(CanonicalModel):
    """The serial number of one despatched unit: UBL ``cac:ItemInstance/cbc:SerialID``.

    An object rather than a bare string so that mappings can repeat over it
    (``each``) like any other canonical list.
    """

    value: str


class WaybillLine(CanonicalModel):
    """A despatched line; UBL DespatchAdvice lines carry no price, so ours is optional.

    ``quantity`` is the delivered quantity; ``outstanding_quantity`` is what is
    still to come in a later despatch, ``backorder_quantity`` what the supplier
    has put on backorder. The purchase price travels in UBL as the item property
    ``PurchasePrice`` (docs/formats/ubl_despatch_advice.md), because a despatch
    line has no price element and seed 003 needs the price per line.
    """

    line_id: str
    order_line_id: str | None = None
    """The id of the order line this line answers (UBL ``OrderLineReference/cbc:LineID``)."""
    sales_order_line_id: str | None = None
    """The seller's own id of that order line (UBL ``OrderLineReference/cbc:SalesOrderLineID``)."""
    line_order_id: str | None = None
    """The order the answered order line belongs to, when the line says so (UBL
    ``OrderLineReference/cac:OrderReference/cbc:ID``): one despatch may answer several orders."""
    sku: str | None = None
    gtin: str | None = None
    gtin_scheme: str | None = None
    """The scheme of ``gtin`` as sent (UBL ``StandardItemIdentification/cbc:ID/@schemeID``:
    ``0160`` in Peppol, ``GTIN`` in the OASIS examples)."""
    supplier_article_code: str | None = None
    """The seller's item id (UBL ``SellersItemIdentification/cbc:ID``)."""
    customer_article_code: str | None = None
    """The buyer's item id (UBL ``BuyersItemIdentification/cbc:ID``)."""
    description: str | None = None
    item_description: str | None = None
    """The item's longer description when the source gives a name too (UBL ``cac:Item``
    with both ``cbc:Name``, which is ``description``, and ``cbc:Description``)."""
    note: str | None = None
    quantity: Amount
    unit: str = "PCE"
    outstanding_quantity: Amount | None = None
    outstanding_reason: str | None = None
    backorder_quantity: Amount | None = None
    backorder_reason: str | None = None
    purchase_price: Amount | None = None
    best_before_date: date | None = None
    lots: list[Lot] = Field(default_factory=list)
    serial_numbers: list[SerialNumber] = Field(default_factory=list)


class Waybill(CanonicalModel):
    """A despatch advice answering an (internal) order (seed 003).

    ``despatch_party`` despatches the goods (UBL ``DespatchSupplierParty``),
    ``delivery_party`` receives them (``DeliveryCustomerParty``); ``buyer`` and
    ``seller`` are the order's parties when they differ. ``currency`` is the
    currency of the lines' purchase prices.
    """

    waybill_id: str
    order_id: str
    issue_date: date | None = None
    despatch_advice_type_code: str | None = None
    """The sender's type code (UBL ``cbc:DespatchAdviceTypeCode``), e.g. ``delivery``."""
    note: str | None = None
    despatch_party: Party | None = None
    delivery_party: Party | None = None
    buyer: Party | None = None
    seller: Party | None = None
    shipment_id: str | None = None
    """The shipment's id (UBL ``cac:Shipment/cbc:ID``); UBL writes a shipment only with it."""
    despatch_date: date | None = None
    """When the goods left (UBL ``Shipment/Delivery/Despatch/cbc:ActualDespatchDate``)."""
    delivery_start_date: date | None = None
    delivery_end_date: date | None = None
    """The delivery period the advice announces (UBL ``Shipment/Delivery`` estimated,
    else requested, delivery period)."""
    carrier: str | None = None
    tracking_code: str | None = None
    lines: list[WaybillLine] = Field(default_factory=list)
    currency: str | None = None


class ReturnLine(CanonicalModel):
    """One returned article with its reason."""

    sku: str | None = None
    gtin: str | None = None
    quantity: Amount
    reason: str | None = None
    condition: str | None = None


class ReturnRegistration(CanonicalModel):
    """A return registered by the warehouse (IT's Perfect RRU)."""

    return_id: str
    order_id: str | None = None
    registered_at: datetime | None = None
    lines: list[ReturnLine] = Field(default_factory=list)


class InboundLine(CanonicalModel):
    """An expected or received purchase line."""

    sku: str | None = None
    gtin: str | None = None
    quantity_expected: Amount | None = None
    quantity_received: Amount | None = None


class InboundDelivery(CanonicalModel):
    """An inbound (purchase) delivery: forecast (IFI) or received (IU)."""

    inbound_id: str
    supplier: Party | None = None
    expected_date: date | None = None
    received_at: datetime | None = None
    lines: list[InboundLine] = Field(default_factory=list)
