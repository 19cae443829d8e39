"""What the emulated IPSoft company holds, shared by the service and the tests.

Tests add and edit records directly (as a user in IPSoft would) while the
server answers from other threads, so every access goes through one lock and
every change stamps ``modified_at``: that time is what the paged list
operations select their window on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from koppel.sandbox.ipsoft.clock import now, utc
from koppel.sandbox.ipsoft.documents import (
    Account,
    DirectInvoice,
    Invoice,
    JournalEntry,
    Quote,
    SalesInvoice,
)
from koppel.sandbox.ipsoft.records import (
    Customer,
    Order,
    Price,
    PriceList,
    Product,
    Record,
    StockItem,
)

_R = TypeVar("_R", Customer, Product, Price, StockItem)


@dataclass
class IPSoftState:
    """What the emulated IPSoft company holds; every change stamps ``modified_at``."""

    customers: dict[str, Customer] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    price_lists: dict[str, PriceList] = field(default_factory=dict)
    prices: dict[tuple[str, str, Decimal], Price] = field(default_factory=dict)
    stock: dict[tuple[str, str], StockItem] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    quotes: dict[str, Quote] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    direct_invoices: dict[str, DirectInvoice] = field(default_factory=dict)
    sales_invoices: dict[str, SalesInvoice] = field(default_factory=dict)
    journal_entries: dict[str, JournalEntry] = field(default_factory=dict)
    """Keyed by source reference; a direct invoice's own entry by its invoice number."""
    accounts: dict[str, Account] = field(default_factory=dict)
    """The chart of accounts journal entries may book on, by account number."""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def put(self, record: _R, at: datetime | None = None) -> _R:
        """Add or replace ``record``; ``modified_at`` becomes ``at``, its own, or now."""
        stamped = replace(record, modified_at=utc(at or record.modified_at or now()))
        with self.lock:
            self._table(stamped)[stamped.key] = stamped
        return stamped

    def modify(self, record: _R, at: datetime | None = None, **changes: Any) -> _R:
        """Change fields of a stored record, as a user editing it in IPSoft at ``at`` (or now)."""
        return self.put(replace(record, **changes), at=at or now())

    def add_price_list(self, price_list: PriceList) -> PriceList:
        """Add or replace a price list."""
        with self.lock:
            self.price_lists[price_list.id] = price_list
        return price_list

    def add_account(self, account: Account) -> Account:
        """Add or replace an account of the chart."""
        with self.lock:
            self.accounts[account.number] = account
        return account

    def window(self, kind: str, since: datetime, until: datetime | None) -> list[Record]:
        """Records of ``kind`` modified in [since, until), ordered by (modified_at, key)."""
        with self.lock:
            records: list[Record] = list(self._tables()[kind].values())
        selected = [
            r
            for r in records
            if r.modified_at is not None
            and since <= r.modified_at
            and (until is None or r.modified_at < until)
        ]
        return sorted(selected, key=lambda r: (r.modified_at, str(r.key)))

    def sku_exists(self, sku: str) -> bool:
        """Whether any article carries this SKU."""
        with self.lock:
            return any(p.sku == sku for p in self.products.values())

    def _tables(self) -> dict[str, dict[Any, Any]]:
        return {
            "customers": self.customers,
            "products": self.products,
            "prices": self.prices,
            "stock": self.stock,
        }

    def _table(self, record: Record) -> dict[Any, Any]:
        kinds: dict[type, str] = {
            Customer: "customers",
            Product: "products",
            Price: "prices",
            StockItem: "stock",
        }
        return self._tables()[kinds[type(record)]]
