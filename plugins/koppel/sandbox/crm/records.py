"""Building CRM quotes and deals as the CRM does: lines in, line totals and tax computed.

A quote offers articles (each line has a ``product_code``, the SKU); a deal
sells services (hours, a fixed-price workshop), so its lines have no
article at all. Totals are computed like the webshop's: tax per line,
rounded, summed per rate (see :mod:`koppel.sandbox.record_api.totals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from koppel.sandbox.record_api import (
    PricedLine,
    StoredRecord,
    new_record,
    priced_lines,
    tax_lines,
    text,
)

QUOTE_STATUSES = ("draft", "sent", "accepted", "declined")
DEAL_STATUSES = ("open", "won", "lost")


@dataclass(frozen=True)
class ServiceLine:
    """A service sold in a deal, e.g. hours of consultancy (``quantity`` "7.5"); no article."""

    description: str
    quantity: str
    unit_price: str
    tax_rate: str = "21"
    discount: str = "0"

    def fields(self, total: Decimal) -> dict[str, Any]:
        """What the line says it is: a description, no article."""
        return {"description": self.description}


@dataclass(frozen=True)
class QuoteLine:
    """A quoted article: ``product_code`` is its SKU; amounts in the quote's tax mode."""

    product_code: str
    description: str
    quantity: str
    unit_price: str
    tax_rate: str = "21"
    discount: str = "0"

    def fields(self, total: Decimal) -> dict[str, Any]:
        """The article's code and its description."""
        return {"product_code": self.product_code, "description": self.description}


#: The account of a quote or deal as the CRM shows it, by default a known IPSoft customer.
DEFAULT_ACCOUNT: dict[str, Any] = {
    "id": "acc-0001",
    "name": "Boutique Lotte",
    "erp_customer_number": "C10023",
}


def crm_quote(
    reference: str,
    *,
    lines: Sequence[QuoteLine],
    valid_until: date,
    status: str = "sent",
    account: dict[str, Any] | None = None,
    currency: str = "EUR",
    prices_include_tax: bool = False,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> StoredRecord:
    """A quote as ``GET /api/v1/quotes/{reference}`` shows it, with the CRM's own totals."""
    fields = _priced(lines, account, currency, prices_include_tax)
    return new_record(
        reference,
        status,
        {"valid_until": valid_until.isoformat(), **fields},
        created_at,
        updated_at,
    )


def crm_deal(
    reference: str,
    *,
    lines: Sequence[ServiceLine],
    status: str = "won",
    closed_on: date | None = None,
    account: dict[str, Any] | None = None,
    currency: str = "EUR",
    prices_include_tax: bool = False,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> StoredRecord:
    """A deal as ``GET /api/v1/deals/{reference}`` shows it; ``closed_on`` is None while open."""
    fields = _priced(lines, account, currency, prices_include_tax)
    return new_record(
        reference,
        status,
        {"closed_on": closed_on.isoformat() if closed_on else None, **fields},
        created_at,
        updated_at,
    )


def _priced(
    lines: Sequence[PricedLine],
    account: dict[str, Any] | None,
    currency: str,
    prices_include_tax: bool,
) -> dict[str, Any]:
    """The fields quotes and deals share: account, money, lines, tax lines and total."""
    rendered, taxed = priced_lines(lines, currency)
    tax, total = tax_lines(taxed, prices_include_tax, currency)
    return {
        "currency": currency,
        "prices_include_tax": prices_include_tax,
        "account": dict(account or DEFAULT_ACCOUNT),
        "lines": rendered,
        "tax_lines": tax,
        "total": text(total),
    }
