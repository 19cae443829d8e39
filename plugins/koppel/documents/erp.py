"""An order as an ERP imports it: resolved to the ERP's own customer, articles and prices.

The SCSN import checks (seed 002) turn a customer's order message into this:
the sales type found by the search path, each line's article and revision,
the price it takes and whether that price was set by hand (a deviating price
accepted). An SQL target writes it into the ERP's order tables.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from koppel.documents.base import Amount, CanonicalModel


class SalesOrderLine(CanonicalModel):
    """One line of the customer order to create."""

    line_id: str
    """The buyer's line id, kept so the order response and later messages can refer to it."""
    article_code: str
    revision: str | None = None
    customer_article_code: str | None = None
    description: str | None = None
    quantity: Amount
    unit: str = "PCE"
    unit_price: Amount
    discount_percentage: Amount = Decimal(0)
    manually_priced: bool = False
    """The price came from the message, not the ERP's price search path (seed 002, check 6)."""
    status: str | None = None
    """The line's status; a deviating price accepted gets the status configured for it."""
    amount: Amount
    """Quantity times price, less the discount, in the order's currency."""


class SalesOrder(CanonicalModel):
    """The customer order to create in (or update into) the ERP."""

    order_reference: str
    """The buyer's order reference; with ``buyer_scsn_id`` the order's key in the ERP."""
    buyer_scsn_id: str
    customer_id: str
    sales_type: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    order_type_code: str | None = None
    replaces_unconfirmed: str | None = None
    """The ERP order number of the unconfirmed order this message updates, if any."""
    requested_delivery_date: date | None = None
    note: str | None = None
    amount: Amount
    lines: list[SalesOrderLine] = Field(default_factory=list)
