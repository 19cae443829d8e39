"""The journal entry IPSoft books itself for a direct invoice.

A cash sale posts at once: the debtor is debited the total, revenue and tax
are credited per rate, and whatever those lines fail to add up to sits on the
rounding account, so the entry always balances however the source rounded.
The tax of a rate is the source's stated ``TaxTotal`` when there is one (IPSoft
books the tax that was invoiced), else computed once per rate. The accounts
are Koppel's :data:`~koppel.rules.financial_mutation.DEFAULT_ACCOUNTS`, which
the emulated chart holds; a rate without accounts is refused (``UNKNOWN_ACCOUNT``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

from koppel.rules.financial_mutation import DEFAULT_ACCOUNTS, rate_key
from koppel.rules.money import quantize
from koppel.sandbox.ipsoft.documents import Account, Amounts, JournalLine
from koppel.sandbox.ipsoft.soap import FaultError

#: The rate of a line or charge that states none: the article's default, Dutch high VAT.
DEFAULT_TAX_RATE = Decimal(21)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def line_amount(quantity: Decimal, unit_price: Decimal, stated: Decimal | None) -> Decimal:
    """A line's amount: as the source computed it when stated, else quantity times price."""
    return stated if stated is not None else quantity * unit_price


def amounts_per_rate(amounts: Amounts) -> dict[str, Decimal]:
    """The lines' and charges' amounts summed per rate, in the document's price basis.

    A discount charge always lowers the total, whatever its sign in the request.
    """
    per_rate: dict[str, Decimal] = defaultdict(Decimal)
    for line in amounts.lines:
        rate = line.tax_rate if line.tax_rate is not None else DEFAULT_TAX_RATE
        per_rate[rate_key(rate)] += line_amount(line.quantity, line.unit_price, line.line_amount)
    for charge in amounts.charges:
        rate = charge.tax_rate if charge.tax_rate is not None else DEFAULT_TAX_RATE
        value = -abs(charge.amount) if charge.kind == "discount" else charge.amount
        per_rate[rate_key(rate)] += value
    return {key: quantize(value, amounts.currency) for key, value in per_rate.items()}


def tax_per_rate(amounts: Amounts, bases: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The tax of each rate: the stated TaxTotal, else computed once on the rate's base."""
    stated = {rate_key(t.rate): t.tax_amount for t in amounts.tax_totals}
    tax: dict[str, Decimal] = {}
    for key, base in bases.items():
        if key in stated:
            tax[key] = stated[key]
            continue
        rate = Decimal(key)
        divisor = _HUNDRED + rate if amounts.prices_include_tax else _HUNDRED
        tax[key] = quantize(base * rate / divisor, amounts.currency)
    return tax


def book_direct_invoice(
    amounts: Amounts, chart: Mapping[str, Account], *, reference: str
) -> tuple[JournalLine, ...]:
    """The balanced lines of a direct invoice's entry (debit and credit swapped for a credit note).

    Raises:
        FaultError: ``UNKNOWN_ACCOUNT`` when a rate has no revenue or tax account in the chart.
    """
    bases = amounts_per_rate(amounts)
    tax = tax_per_rate(amounts, bases)
    revenue = {
        key: base - tax[key] if amounts.prices_include_tax else base for key, base in bases.items()
    }
    computed = sum(bases.values(), _ZERO) + (
        _ZERO if amounts.prices_include_tax else sum(tax.values(), _ZERO)
    )
    total = amounts.total_amount if amounts.total_amount is not None else computed
    signed: list[tuple[str, str, Decimal, str | None]] = [
        (DEFAULT_ACCOUNTS.debtor, f"Debtor {reference}", -total, None)
    ]
    for key in sorted(bases, key=Decimal):
        account = _account(DEFAULT_ACCOUNTS.revenue.get(key), chart, f"revenue at {key} %")
        signed.append((account, f"Revenue {key} %", revenue[key], key))
    for key in sorted(tax, key=Decimal):
        if tax[key] != _ZERO:
            account = _account(DEFAULT_ACCOUNTS.tax_payable.get(key), chart, f"tax at {key} %")
            signed.append((account, f"Tax {key} %", tax[key], key))
    difference = total - sum(revenue.values(), _ZERO) - sum(tax.values(), _ZERO)
    rounding = _account(DEFAULT_ACCOUNTS.rounding, chart, "rounding")
    signed.append((rounding, "Rounding difference", difference, None))
    lines = []
    for account, description, amount, tax_code in signed:
        credit = -amount if amounts.credit_note else amount
        if credit == _ZERO:
            continue
        lines.append(
            JournalLine(
                account=account,
                description=description,
                debit=-credit if credit < 0 else _ZERO,
                credit=credit if credit > 0 else _ZERO,
                tax_code=tax_code,
            )
        )
    return tuple(lines)


def _account(number: str | None, chart: Mapping[str, Account], purpose: str) -> str:
    if number is None or number not in chart:
        named = f"account {number}" if number else "no account"
        raise FaultError("UNKNOWN_ACCOUNT", f"{named} for {purpose} in the chart of accounts")
    return number
