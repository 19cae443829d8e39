"""The answer to an order: accepted, accepted with changes, or rejected, with the reasons.

An SCSN (or Peppol) supplier answers every order message it imports with an
order response (UBL ``OrderResponse-2``). The reasons sit where they belong:
a line's problem on that line, the order's (no sales type, credit limit) on
the document. The general UBL and Peppol BIS 3 (T76) responses add what a
partner's answer carries beyond ours: free-text notes, the issue time, the
promised delivery period, the item's names and ids (docs/formats/ubl_order_response.md).
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum

from pydantic import Field

from koppel.documents.base import Amount, CanonicalModel
from koppel.documents.parties import Party


class ResponseCode(StrEnum):
    """What the supplier did with the order or one of its lines."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_CHANGES = "accepted_with_changes"
    """Imported, but not exactly as sent: a price taken over as deviating, a revision warning."""
    REJECTED = "rejected"
    ACKNOWLEDGED = "acknowledged"
    """Received, no decision yet (Peppol ``AB``): the answer with a decision follows later."""


class ResponseNote(CanonicalModel):
    """One reason given to the buyer: the problem's code, severity and text."""

    code: str
    severity: str = Field(pattern=r"^(error|warning|info)$")
    message: str


class OrderResponseLine(CanonicalModel):
    """The answer for one order line, referring to the buyer's line id."""

    line_id: str
    response: ResponseCode
    supplier_article_code: str | None = None
    supplier_article_revision: str | None = None
    """The revision the supplier will make, when revision management chose one."""
    customer_article_code: str | None = None
    gtin: str | None = None
    """The item's standard id (UBL ``StandardItemIdentification``), a GTIN in most schemes."""
    gtin_scheme: str | None = None
    """The standard id's scheme as written (``0160`` GTIN in Peppol, ``GTIN`` in OASIS examples)."""
    item_name: str | None = None
    """The item's name as the supplier names it."""
    quantity: Amount | None = None
    """The quantity the supplier will deliver: with response accepted_with_changes and
    a quantity other than the order's, the changed quantity (the order keeps the ordered one)."""
    unit: str = "PCE"
    unit_price: Amount | None = None
    """The price the line was imported at: the message's own when accepted as deviating."""
    promised_delivery_start_date: date | None = None
    """The start of the promised delivery period, when the supplier promises a period."""
    promised_delivery_date: date | None = None
    """When the supplier promises the line (SCSN BR-10 makes it mandatory on a response line):
    the date the buyer asked for, as Koppel plans nothing itself."""
    note: str | None = None
    """Free text on the line as the sender wrote it (coded reasons are ``notes``)."""
    notes: list[ResponseNote] = Field(default_factory=list)


class OrderResponse(CanonicalModel):
    """The response to one order message."""

    response_id: str
    """The response's own id; unique per order message answered."""
    order_id: str
    """The buyer's order reference the response answers."""
    order_issue_date: date | None = None
    """The answered order's issue date, when the response names it (UBL only, not Peppol)."""
    issue_date: date
    issue_time: time | None = None
    response: ResponseCode
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    customer_reference: str | None = None
    """The buyer's reference the response repeats (UBL ``cbc:CustomerReference``)."""
    buyer: Party | None = None
    seller: Party | None = None
    sales_order_number: str | None = None
    """The supplier's own order number, when the response names it (UBL ``cbc:SalesOrderID``)."""
    promised_delivery_start_date: date | None = None
    """The start of the delivery period promised for the whole order."""
    promised_delivery_date: date | None = None
    """The end of the delivery period promised for the whole order."""
    note: str | None = None
    """Free text for the whole response as the sender wrote it (coded reasons are ``notes``)."""
    notes: list[ResponseNote] = Field(default_factory=list)
    """Reasons that concern the whole order."""
    lines: list[OrderResponseLine] = Field(default_factory=list)
