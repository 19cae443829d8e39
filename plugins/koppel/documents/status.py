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


class WaybillLine(CanonicalModel):
    """A despatched line; UBL DespatchAdvice lines carry no price, so ours is optional."""

    line_id: str
    order_line_id: str | None = None
    sku: str | None = None
    gtin: str | None = None
    description: str | None = None
    quantity: Amount
    unit: str = "PCE"
    purchase_price: Amount | None = None


class Waybill(CanonicalModel):
    """A despatch advice answering an (internal) order (seed 003)."""

    waybill_id: str
    order_id: str
    issue_date: date | None = None
    despatch_party: Party | None = None
    delivery_party: Party | None = None
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
