"""``case.yaml``: what a contract case is, every key optional (docs/contract_tests.md).

A case file is written by hand, so a mistake in it is reported naming the
file and the key (``orders/held/case.yaml: lookups.customer_reference: ...``),
never as a traceback from deep inside the runner.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from koppel.store import MessageStatus

#: The instant a case's stock report was taken, unless it says otherwise: long before
#: any order a case seeds, so every seeded reservation counts against the stock.
DEFAULT_STOCK_AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
#: The day a case runs on, unless it says otherwise: the day rules date their answers by
#: (an order response's issue date), fixed so the pinned documents do not age. The
#: sandbox's SCSN orders ask for delivery in December 2026, after it.
DEFAULT_TODAY = date(2026, 11, 30)


class CaseFileError(ValueError):
    """A case file that cannot be used; the message names the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReservedLine(_Model):
    """One line of an order sent to the warehouse earlier."""

    line_id: str
    sku: str | None = None
    quantity: Decimal


class ReservedOrder(_Model):
    """An order exported earlier, as the store remembers it (its reserved lines)."""

    order_id: str
    lines: list[ReservedLine] = Field(default_factory=list)
    status: Literal["open", "shipped", "cancelled"] = "open"
    """``shipped`` or ``cancelled``: the warehouse reported it closed (it holds no stock)."""


class MasterData(_Model):
    """The store's master data before the case's message is processed."""

    stock: dict[str, Decimal] | None = None
    """The warehouse's last full stock report per SKU; absent: no report yet (stock unknown)."""
    stock_as_of: datetime = DEFAULT_STOCK_AS_OF
    orders: list[ReservedOrder] = Field(default_factory=list)


class Lookups(_Model):
    """What the flow's partner systems answer while the message is processed."""

    customer_reference: dict[str, str | None] | None = None
    """The portal's ERP reference per customer id (a customer not listed has none)."""
    known_skus: list[str] | None = None
    """The products the target ERP knows."""
    database: str | None = None
    """A stand-in database for the SQL lookups, seeded from ``koppel.sandbox``:
    one of :data:`koppel.contract.lookups.DATABASES`."""
    database_rows: dict[str, list[dict[str, Any]]] | None = None
    """Rows put into a store ``database`` after its seed, table by table, in the
    seed's shape (an order's or delivery's rows under ``lines``, numbered by the
    database): the purchase order a waybill answers, the delivery a despatch is."""


class Expectation(_Model):
    """Hand-written assertions that hold for every connection the case runs for."""

    status: MessageStatus | None = None
    problems: list[str] = Field(default_factory=list)
    """Problem codes that must be among the message's problems."""


class CaseSpec(_Model):
    """The whole of ``case.yaml``."""

    description: str = ""
    source_name: str | None = None
    today: date = DEFAULT_TODAY
    options: dict[str, Any] = Field(default_factory=dict)
    master_data: MasterData = Field(default_factory=MasterData)
    lookups: Lookups = Field(default_factory=Lookups)
    expect: Expectation = Field(default_factory=Expectation)


def read_spec(path: Path | None) -> CaseSpec:
    """Read ``case.yaml`` (None: a case without one, all defaults).

    Raises:
        CaseFileError: the file is not YAML, not a mapping, or has a wrong key
            or value; every problem is named with its key.
    """
    if path is None:
        return CaseSpec()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CaseFileError(f"{path}: cannot read it: {exc}") from exc
    if data is None:
        return CaseSpec()
    if not isinstance(data, dict):
        raise CaseFileError(f"{path}: must be a mapping of keys, not {type(data).__name__}")
    try:
        return CaseSpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise CaseFileError(f"{path}: " + "; ".join(problems)) from exc
