"""The ERP's master data as the SCSN import checks see it, read fresh for each message.

Seed 002's checks run against what the ERP holds *now*: a customer fixed in
the ERP this morning must be seen by a replay this afternoon. The reader of
the ERP database (``koppel.hooks.isah``) fills one :class:`OrderMasterData`
per order message with a fixed handful of queries (never one per field or
per line), and the checks (``koppel.rules.scsn_order_checks``) are pure
functions over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Customer:
    """A customer as the order import needs it (Isah: customer, tab Supply Chain Integration)."""

    customer_id: str
    name: str
    scsn_id: str
    sales_type: str | None
    """The customer's sales type for electronic orders; None falls back to the global default."""
    accept_deviating_prices: bool
    credit_check: bool
    """Credit limit checking on for quotes/orders and sales lines."""
    credit_limit: Decimal | None
    credit_includes_quotes: bool
    """Amounts of status type "quote" count towards the limit."""
    credit_includes_orders: bool
    """Amounts of status type "order" count towards the limit."""
    currency: str
    price_list_id: str | None
    discount_percentage: Decimal | None
    """The customer's general discount, applied to prices from a price list."""


@dataclass(frozen=True)
class Revision:
    """One revision (Änderungsindex) of an article."""

    revision: str
    released: bool
    sequence: int
    """Order of the revisions: the highest released one is the latest released."""


@dataclass(frozen=True)
class Article:
    """An article under the supplier's own code, with its revisions."""

    article_code: str
    description: str | None
    customer_id: str | None
    """Set for a customer-specific article: only that customer may order it."""
    revisions: tuple[Revision, ...] = ()

    def revision(self, name: str) -> Revision | None:
        """The revision called ``name``, if the article has it."""
        return next((r for r in self.revisions if r.revision == name), None)

    def latest_released(self) -> Revision | None:
        """The released revision with the highest sequence, if any is released."""
        released = [r for r in self.revisions if r.released]
        return max(released, key=lambda r: r.sequence) if released else None


@dataclass(frozen=True)
class CustomerArticle:
    """A customer's own code for one of the supplier's articles."""

    customer_code: str
    article_code: str
    revision: str | None
    """The customer's revision of the article as stored in the ERP; None when none is stored."""


@dataclass(frozen=True)
class PriceAgreement:
    """One price the search path can find: a customer price or a price-list price."""

    article_code: str
    currency: str
    unit_price: Decimal
    min_quantity: Decimal
    discount_percentage: Decimal | None
    """A customer price's own discount; None for a price-list price (the customer's applies)."""
    source: str
    """Where it was found, for the message: ``customer price`` or ``price list <id>``."""


@dataclass(frozen=True)
class ExistingOrder:
    """A customer order already in the ERP under the same (order reference, buyer SCSN id)."""

    order_number: str
    confirmed: bool
    amount: Decimal


@dataclass(frozen=True)
class CreditExposure:
    """What the customer owes or has asked for, towards the credit limit."""

    open_invoices: Decimal = Decimal(0)
    open_quotes: Decimal = Decimal(0)
    open_orders: Decimal = Decimal(0)
    """Amounts of the customer's open orders, not counting the order being updated, if any."""


@dataclass(frozen=True)
class OrderMasterData:
    """Everything the checks need about one order message, read in one go.

    ``customer`` is None when no customer has the buyer's SCSN id. The price
    mappings hold, per article code, the candidates of each step of the
    search path, so the checks (not the reader) decide which step wins.
    """

    customer: Customer | None
    default_sales_type: str | None
    deviating_price_status: str | None
    """The line status configured for accepted deviating prices (Isah Configuration)."""
    existing_order: ExistingOrder | None
    articles: Mapping[str, Article] = field(default_factory=dict)
    """By supplier article code: every article a line names, directly or via a customer code."""
    customer_articles: Mapping[str, CustomerArticle] = field(default_factory=dict)
    """By the customer's article code, this customer's only."""
    customer_prices: Mapping[str, tuple[PriceAgreement, ...]] = field(default_factory=dict)
    customer_price_list: Mapping[str, tuple[PriceAgreement, ...]] = field(default_factory=dict)
    default_price_list: Mapping[str, tuple[PriceAgreement, ...]] = field(default_factory=dict)
    exposure: CreditExposure = field(default_factory=CreditExposure)
    currency_decimals: Mapping[str, int] = field(default_factory=dict)
