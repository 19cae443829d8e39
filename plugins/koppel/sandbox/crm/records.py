"""Building CRM quotes and deals as the CRM does: lines in, line totals and tax computed.

A quote offers articles (each line has a ``product_code``, the SKU); a deal
sells services (hours, a fixed-price workshop), so its lines have no
article at all. Totals are computed like the webshop's: tax per line,
rounded, summed per rate (see :mod:`koppel.sandbox.record_api.totals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from koppel.sandbox.record_api import StoredRecord, Taxed, line_total, tax_lines, text

QUOTE_STATUSES = ("draft", "sent", "accepted", "declined")
DEAL_STATUSES = ("open", "won", "lost")


@dataclass(frozen=True)
class QuoteLine:
    """A quoted article: amounts are decimal strings in the quote's tax mode."""

    product_code: str
    description: str
    quantity: str
    unit_price: str
    tax_rate: str = "21"


@dataclass(frozen=True)
class ServiceLine:
    """A service sold in a deal, e.g. hours of consultancy (``quantity`` "7.5"); no article."""

    description: str
    quantity: str
    unit_price: str
    tax_rate: str = "21"


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
    priced = _priced(
        [
            ({"product_code": line.product_code, "description": line.description}, line)
            for line in lines
        ],
        currency,
        prices_include_tax,
    )
    return _record(
        reference,
        status,
        created_at=created_at,
        updated_at=updated_at,
        dates={"valid_until": valid_until.isoformat()},
        account=account,
        currency=currency,
        prices_include_tax=prices_include_tax,
        priced=priced,
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
    priced = _priced(
        [({"description": line.description}, line) for line in lines],
        currency,
        prices_include_tax,
    )
    return _record(
        reference,
        status,
        created_at=created_at,
        updated_at=updated_at,
        dates={"closed_on": closed_on.isoformat() if closed_on else None},
        account=account,
        currency=currency,
        prices_include_tax=prices_include_tax,
        priced=priced,
    )


def _priced(
    lines: Sequence[tuple[dict[str, Any], QuoteLine | ServiceLine]],
    currency: str,
    prices_include_tax: bool,
) -> dict[str, Any]:
    """The lines with their totals, the tax lines and the total, as the record shows them."""
    rendered = []
    taxed = []
    for number, (identity, line) in enumerate(lines, start=1):
        total = line_total(Decimal(line.quantity), Decimal(line.unit_price), Decimal(0), currency)
        taxed.append(Taxed(total, Decimal(line.tax_rate)))
        rendered.append(
            {
                "line_number": number,
                **identity,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "tax_rate": line.tax_rate,
                "line_total": text(total),
            }
        )
    tax, total = tax_lines(taxed, prices_include_tax, currency)
    return {"lines": rendered, "tax_lines": tax, "total": text(total)}


def _record(
    reference: str,
    status: str,
    *,
    created_at: datetime | None,
    updated_at: datetime | None,
    dates: dict[str, Any],
    account: dict[str, Any] | None,
    currency: str,
    prices_include_tax: bool,
    priced: dict[str, Any],
) -> StoredRecord:
    created = created_at or datetime.now(UTC)
    return StoredRecord(
        reference=reference,
        status=status,
        created_at=created,
        updated_at=updated_at or created,
        fields={
            **dates,
            "currency": currency,
            "prices_include_tax": prices_include_tax,
            "account": dict(account or DEFAULT_ACCOUNT),
            **priced,
        },
    )
