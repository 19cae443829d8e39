"""The answer to an order: accepted, accepted with changes, or rejected, with the reasons.

An SCSN (or Peppol) supplier answers every order message it imports with an
order response (UBL ``OrderResponse-2``). The reasons sit where they belong:
a line's problem on that line, the order's (no sales type, credit limit) on
the document.
"""

from __future__ import annotations

from datetime import date
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
    quantity: Amount | None = None
    unit: str = "PCE"
    unit_price: Amount | None = None
    """The price the line was imported at: the message's own when accepted as deviating."""
    promised_delivery_date: date | None = None
    """When the supplier promises the line (SCSN BR-10 makes it mandatory on a response line):
    the date the buyer asked for, as Koppel plans nothing itself."""
    notes: list[ResponseNote] = Field(default_factory=list)


class OrderResponse(CanonicalModel):
    """The response to one order message."""

    response_id: str
    """The response's own id; unique per order message answered."""
    order_id: str
    """The buyer's order reference the response answers."""
    issue_date: date
    response: ResponseCode
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    buyer: Party | None = None
    seller: Party | None = None
    sales_order_number: str | None = None
    """The supplier's own order number, when the response names it."""
    notes: list[ResponseNote] = Field(default_factory=list)
    """Reasons that concern the whole order."""
    lines: list[OrderResponseLine] = Field(default_factory=list)
