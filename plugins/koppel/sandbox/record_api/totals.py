"""Money as webshops and CRMs compute it: per line and per charge, each rounded, then summed.

Kept apart from the records so both emulators (and their tests) compute totals
the same way. The point of this module is the rounding: tax is computed and
rounded half-up for every line and charge, then summed per rate, so the tax a
source reports can differ by a cent from one computed per rate (as Koppel's
ledger postings do). That difference is what the postings must book, not hide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple, Protocol

#: ISO 4217 currencies whose minor unit is not two decimals (the rest have two).
_CURRENCY_DECIMALS = {
    "BHD": 3,
    "CLP": 0,
    "ISK": 0,
    "IQD": 3,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "UGX": 0,
    "VND": 0,
}

_HUNDRED = Decimal(100)


class Taxed(NamedTuple):
    """One amount that carries tax: a line total or a charge, signed as it affects the total."""

    amount: Decimal
    rate: Decimal


class PricedLine(Protocol):
    """A line as a builder is given it: decimal strings in the record's tax mode."""

    @property
    def quantity(self) -> str: ...

    @property
    def unit_price(self) -> str: ...

    @property
    def tax_rate(self) -> str: ...

    @property
    def discount(self) -> str:
        """The line's discount amount, positive; "0" without one."""
        ...

    def fields(self, total: Decimal) -> dict[str, Any]:
        """The line's own keys (its article, name, discount details) given its line total."""
        ...


def currency_decimals(currency: str) -> int:
    """The number of decimals amounts in ``currency`` are rounded to (0 for JPY, 3 for BHD)."""
    return _CURRENCY_DECIMALS.get(currency, 2)


def money(value: Decimal, currency: str) -> Decimal:
    """``value`` rounded half-up (away from zero on a tie) to the currency's decimals."""
    return value.quantize(Decimal(1).scaleb(-currency_decimals(currency)), rounding=ROUND_HALF_UP)


def text(value: Decimal) -> str:
    """A decimal as the wire's JSON string: plain notation, never an exponent."""
    return format(value, "f")


def rate_text(rate: Decimal) -> str:
    """A tax rate as the wire writes it: ``21``, ``9``, ``5.5`` (no trailing zeros)."""
    return text(rate.normalize()) if rate != 0 else "0"


def line_total(quantity: Decimal, unit_price: Decimal, discount: Decimal, currency: str) -> Decimal:
    """Quantity times unit price less the line's discount, rounded to the currency."""
    return money(quantity * unit_price - discount, currency)


def tax_of(amount: Decimal, rate: Decimal, prices_include_tax: bool, currency: str) -> Decimal:
    """The tax in (inclusive) or on (exclusive) ``amount`` at ``rate`` percent, rounded."""
    divisor = _HUNDRED + rate if prices_include_tax else _HUNDRED
    return money(amount * rate / divisor, currency)


def priced_lines(
    lines: Sequence[PricedLine], currency: str
) -> tuple[list[dict[str, Any]], list[Taxed]]:
    """The lines as the record shows them (numbered from 1, with line totals), and what they tax."""
    rendered = []
    taxed = []
    for number, line in enumerate(lines, start=1):
        total = line_total(
            Decimal(line.quantity), Decimal(line.unit_price), Decimal(line.discount), currency
        )
        taxed.append(Taxed(total, Decimal(line.tax_rate)))
        rendered.append(
            {
                "line_number": number,
                **line.fields(total),
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "tax_rate": line.tax_rate,
                "line_total": text(total),
            }
        )
    return rendered, taxed


def tax_lines(
    items: Iterable[Taxed], prices_include_tax: bool, currency: str
) -> tuple[list[dict[str, str]], Decimal]:
    """The tax lines per rate (highest rate first) and the grand total, as the source reports them.

    Each item's tax is rounded on its own and the rounded taxes are summed per
    rate; ``taxable_amount`` always excludes tax. The grand total includes tax:
    the sum of the amounts when they include it, else amounts plus taxes.
    """
    taxable: dict[Decimal, Decimal] = {}
    taxes: dict[Decimal, Decimal] = {}
    total = Decimal(0)
    for amount, rate in items:
        tax = tax_of(amount, rate, prices_include_tax, currency)
        net = amount - tax if prices_include_tax else amount
        taxable[rate] = taxable.get(rate, Decimal(0)) + net
        taxes[rate] = taxes.get(rate, Decimal(0)) + tax
        total += amount if prices_include_tax else amount + tax
    lines = [
        {
            "rate": rate_text(rate),
            "taxable_amount": text(money(taxable[rate], currency)),
            "tax_amount": text(money(taxes[rate], currency)),
        }
        for rate in sorted(taxable, reverse=True)
    ]
    return lines, money(total, currency)
