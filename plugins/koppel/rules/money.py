"""Money at a currency's own precision: the ISO 4217 minor units and rounding to them.

Several rules round amounts (seed 003's internal prices, seed 001's ledger
postings); they must agree on how many decimals a currency has and on the
rounding mode, or a posting made by one rule does not match a total computed
by another. This module is the one place that decides both.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: ISO 4217 minor units of the currencies that do not have two.
CURRENCY_DECIMALS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
DEFAULT_CURRENCY_DECIMALS = 2


def currency_decimals(currency: str) -> int:
    """The currency's minor unit (ISO 4217), 2 unless listed in :data:`CURRENCY_DECIMALS`."""
    return CURRENCY_DECIMALS.get(currency, DEFAULT_CURRENCY_DECIMALS)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency: ``1`` for JPY, ``0.01`` for EUR, ``0.001`` for BHD."""
    return Decimal(1).scaleb(-currency_decimals(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor unit.

    Half up (away from zero on a tie) is what invoices and webshops use; banker's
    rounding would make our totals differ from the source's by a minor unit on
    every tie.
    """
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
