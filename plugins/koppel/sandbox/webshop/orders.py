"""Building webshop orders as the shop does: lines and charges in, totals and tax lines computed.

Tests and the demo describe an order by what a customer put in the basket
(:class:`ShopLine`, :class:`ShopCharge`); :func:`webshop_order` computes the
line totals, the tax per line and per charge, the tax lines per rate and the
grand total the way many webshops do (see :mod:`koppel.sandbox.record_api.totals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from koppel.sandbox.record_api import (
    StoredRecord,
    Taxed,
    new_record,
    priced_lines,
    tax_lines,
    text,
)

ORDER_STATUSES = ("pending", "paid", "shipped", "completed", "cancelled", "refunded")
CHARGE_KINDS = ("shipping", "fee", "discount")


@dataclass(frozen=True)
class ShopLine:
    """A basket line: amounts are decimal strings in the order's tax mode.

    ``discount`` is the line's discount amount (positive, lowering the line);
    ``discount_code`` names the coupon that gave it, if any.
    """

    sku: str
    name: str
    quantity: str
    unit_price: str
    tax_rate: str = "21"
    discount: str = "0"
    discount_code: str | None = None

    def fields(self, total: Decimal) -> dict[str, Any]:
        """The article, its name and the discount, the amount in the line total's decimals."""
        discounted = Decimal(self.discount) != 0
        return {
            "sku": self.sku,
            "name": self.name,
            "discount_amount": text(Decimal(self.discount).quantize(total)),
            "discounts": [{"amount": self.discount, "code": self.discount_code}]
            if discounted
            else [],
        }


@dataclass(frozen=True)
class ShopCharge:
    """An order-level charge: ``shipping``, a payment ``fee`` or a positive ``discount``."""

    kind: str
    amount: str
    tax_rate: str = "21"
    description: str | None = None


#: The customer of an order as the shop shows it, by default a known IPSoft customer.
DEFAULT_CUSTOMER: dict[str, Any] = {
    "id": "cust-17",
    "name": "Boutique Lotte",
    "email": "inkoop@boutiquelotte.nl",
    "erp_customer_number": "C10023",
}
DEFAULT_ADDRESS: dict[str, Any] = {
    "name": "Boutique Lotte",
    "street": "Haarlemmerstraat",
    "house_number": "112",
    "house_number_addition": "A",
    "postal_code": "1013 EX",
    "city": "Amsterdam",
    "country": "NL",
}


def webshop_order(
    reference: str,
    *,
    lines: Sequence[ShopLine],
    charges: Sequence[ShopCharge] = (),
    currency: str = "EUR",
    prices_include_tax: bool = False,
    kind: str = "sale",
    original_reference: str | None = None,
    channel: str = "web",
    status: str = "paid",
    customer: dict[str, Any] | None = None,
    shipping_address: dict[str, Any] | None = DEFAULT_ADDRESS,
    payment_method: str = "ideal",
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> StoredRecord:
    """An order as ``GET /api/v1/orders/{reference}`` shows it, with the shop's own totals.

    A refund (``kind="refund"``) states its amounts positive, as on a sale,
    and names the order it refunds in ``original_reference``.
    """
    rendered_lines, taxed = priced_lines(lines, currency)
    for charge in charges:
        sign = -1 if charge.kind == "discount" else 1
        taxed.append(Taxed(sign * Decimal(charge.amount), Decimal(charge.tax_rate)))
    tax, grand_total = tax_lines(taxed, prices_include_tax, currency)
    return new_record(
        reference,
        status,
        {
            "kind": kind,
            "original_reference": original_reference,
            "channel": channel,
            "currency": currency,
            "prices_include_tax": prices_include_tax,
            "customer": dict(customer or DEFAULT_CUSTOMER),
            "shipping_address": shipping_address,
            "payment_method": payment_method,
            "lines": rendered_lines,
            "charges": [
                {
                    "kind": charge.kind,
                    "description": charge.description,
                    "amount": charge.amount,
                    "tax_rate": charge.tax_rate,
                }
                for charge in charges
            ],
            "tax_lines": tax,
            "grand_total": text(grand_total),
        },
        created_at,
        updated_at,
    )
