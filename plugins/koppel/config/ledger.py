"""The ledger accounts a connection posts to: ``ledger_accounts:`` in its YAML, checked on load.

Seed 001's financial mutations book on accounts the merchant's bookkeeper
chooses, so the chart lives beside the connection, not in code. Keys are the
fields of :class:`~koppel.rules.financial_mutation.LedgerAccounts`. The
platform template holds a whole chart and a merchant's file overrides what
differs (templates merge key by key), so no account is ever guessed in code::

    ledger_accounts:
      debtor: "1400"
      revenue: {21: "8001", 9: "8011", 0: "8021"}
      rounding: "8990"

Account numbers must be quoted strings: YAML reads an unquoted ``0700`` as the
octal number 448, which would post to an account nobody has. Tax-rate keys may
be numbers (``21:``, ``5.5:``) and are named as the rules name rates (``21``).
``koppel post --accounts FILE`` reads the same keys from a file of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import TypeAdapter, ValidationError

from koppel.errors import ConfigError
from koppel.rules.financial_mutation import LedgerAccounts, rate_key

#: The keys ``ledger_accounts:`` takes, in the order the docs list them.
ACCOUNT_KEYS = tuple(f.name for f in dataclasses.fields(LedgerAccounts))
_RATE_TABLES = ("revenue", "tax_payable")


def ledger_accounts(data: object, *, where: str) -> LedgerAccounts:
    """The accounts of a ``ledger_accounts`` mapping, over the defaults.

    Args:
        data: the mapping as YAML read it.
        where: what to name in an error (a file, or a file and its field).

    Raises:
        ConfigError: ``data`` is not a mapping, or a key is unknown or of the
            wrong type; the message names the key.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of accounts (debtor: '1300', ...)")
    unknown = sorted(str(key) for key in data if key not in ACCOUNT_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(ACCOUNT_KEYS)}")
    values: dict[str, Any] = dict(data)
    for key in _RATE_TABLES:
        table = values.get(key)
        if isinstance(table, Mapping):
            values[key] = {_rate_name(rate): account for rate, account in table.items()}
    try:
        return TypeAdapter(LedgerAccounts).validate_python(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        hint = " (quote account numbers: '1300')" if error["type"] == "string_type" else ""
        raise ConfigError(f"{where}: {field}: {error['msg']}{hint}") from exc


def _rate_name(rate: object) -> object:
    """A tax-rate key as the rules name it (``21.0`` and ``"21.00"`` are ``21``); others as is."""
    if isinstance(rate, bool) or not isinstance(rate, int | float | str):
        return rate
    try:
        return rate_key(Decimal(str(rate)))
    except InvalidOperation:
        return rate
