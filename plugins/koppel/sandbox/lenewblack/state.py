"""What the Le New Black emulator holds: plain records that tests inspect directly.

Kept apart from the request handling so a test reading ``server.state`` (or the
portal helpers writing it) depends on data only, never on HTTP or routing.
Every PUT bumps a record's version, so a test can tell "sent again" from "sent
once".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

#: An order line as given to the portal helpers: (SKU, quantity, unit price).
LineInput = tuple[str, Decimal | str, Decimal | str]


@dataclass
class Versioned:
    """A record as last PUT, and how many times it was PUT (1 after the first)."""

    body: dict[str, Any]
    version: int = 1


@dataclass
class StoredOrder:
    """An order as Le New Black keeps it; the customer is referenced, never copied."""

    reference: str
    customer_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    currency: str
    lines: list[dict[str, Any]]
    delivery_address: dict[str, Any] | None = None
    remarks: str | None = None
    erp_order_number: str | None = None


@dataclass
class LeNewBlackState:
    """Everything the emulator holds; ``prices`` is keyed by price list, then SKU."""

    customers: dict[str, Versioned] = field(default_factory=dict)
    products: dict[str, Versioned] = field(default_factory=dict)
    price_lists: dict[str, dict[str, str]] = field(default_factory=dict)
    prices: dict[str, dict[str, Versioned]] = field(default_factory=dict)
    stock: dict[str, Versioned] = field(default_factory=dict)
    orders: dict[str, StoredOrder] = field(default_factory=dict)


class RecordedRequest(NamedTuple):
    """One request as received: ``path`` includes the query; ``body`` is the parsed JSON or None."""

    method: str
    path: str
    body: Any


def order_lines(lines: Sequence[LineInput]) -> list[dict[str, Any]]:
    """The stored form of an order's lines, numbered from 1 in the order given."""
    return [
        {"line_number": number, "sku": sku, "quantity": str(quantity), "unit_price": str(price)}
        for number, (sku, quantity, price) in enumerate(lines, start=1)
    ]
