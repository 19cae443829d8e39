"""The documents of an order's life IPSoft keeps besides orders (seed 001).

Quotes, invoices, direct invoices, sales invoices and journal entries, each
stored under the source reference it was created for: that reference is the
idempotency key, so a repeated call finds the document instead of creating a
second one. Frozen like :mod:`.records`, so only the service changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Account:
    """An account of the emulated chart; journal entries may book only on these."""

    number: str
    name: str


@dataclass(frozen=True)
class DocumentLine:
    """A quote or invoice line; ``sku`` is None on a sales invoice (no article)."""

    line_number: int
    quantity: Decimal
    unit_price: Decimal
    sku: str | None = None
    description: str | None = None
    tax_rate: Decimal | None = None
    line_amount: Decimal | None = None


@dataclass(frozen=True)
class Charge:
    """A document-level amount that is no article: shipping, fee, discount or other."""

    kind: str
    amount: Decimal
    description: str | None = None
    tax_rate: Decimal | None = None


@dataclass(frozen=True)
class TaxAmount:
    """The tax of one rate as the source invoiced it."""

    rate: Decimal
    tax_amount: Decimal
    taxable_amount: Decimal | None = None


@dataclass(frozen=True)
class Amounts:
    """What an invoice states about its money, shared by the three kinds of invoice."""

    currency: str
    prices_include_tax: bool
    lines: tuple[DocumentLine, ...]
    charges: tuple[Charge, ...] = ()
    tax_totals: tuple[TaxAmount, ...] = ()
    total_amount: Decimal | None = None
    credit_note: bool = False


@dataclass(frozen=True)
class Quote:
    """A quote created through CreateQuote, keyed by its source reference."""

    quote_number: str
    reference: str
    customer_number: str
    quote_date: date
    valid_until: date | None
    currency: str
    prices_include_tax: bool
    lines: tuple[DocumentLine, ...]
    remarks: str | None
    created_at: datetime
    charges: tuple[Charge, ...] = ()
    """Shipping, fees and discounts quoted besides the lines, in the lines' tax basis."""


@dataclass(frozen=True)
class Invoice:
    """An invoice for an existing order (CreateInvoice), keyed by its source reference."""

    invoice_number: str
    reference: str
    order_reference: str
    order_number: str
    customer_number: str
    invoice_date: date
    amounts: Amounts
    credited_reference: str | None
    remarks: str | None
    created_at: datetime


@dataclass(frozen=True)
class StockChange:
    """What a direct invoice did to one stock record: ``change`` is signed."""

    sku: str
    warehouse: str | None
    change: Decimal
    available_after: Decimal

    @property
    def went_negative(self) -> bool:
        """IPSoft sells what it does not have rather than refuse a cash sale."""
        return self.available_after < 0


@dataclass(frozen=True)
class DirectInvoice:
    """A cash sale (CreateDirectInvoice): its order, invoice, stock changes and entry."""

    invoice_number: str
    order_number: str
    journal_entry_number: str
    reference: str
    customer_number: str
    invoice_date: date
    amounts: Amounts
    stock_changes: tuple[StockChange, ...]
    credited_reference: str | None
    remarks: str | None
    created_at: datetime

    @property
    def negative_stock(self) -> tuple[str, ...]:
        """The SKUs this sale took below zero."""
        return tuple(change.sku for change in self.stock_changes if change.went_negative)


@dataclass(frozen=True)
class SalesInvoice:
    """An invoice without articles (CreateSalesInvoice), on the customer's revenue account."""

    invoice_number: str
    reference: str
    customer_number: str
    invoice_date: date
    amounts: Amounts
    revenue_account: str
    credited_reference: str | None
    remarks: str | None
    created_at: datetime


@dataclass(frozen=True)
class JournalLine:
    """One booking line: a debit or a credit."""

    account: str
    debit: Decimal
    credit: Decimal
    description: str | None = None
    tax_code: str | None = None


@dataclass(frozen=True)
class JournalEntry:
    """A balanced ledger posting, keyed by the source reference it was booked for.

    A direct invoice's own entry is keyed by its invoice number (its
    ``reference``), so it can never take the key of a posting a client books.
    """

    entry_number: str
    reference: str
    booking_date: date
    currency: str
    lines: tuple[JournalLine, ...]
    entry_reference: str | None
    description: str | None
    created_at: datetime

    def totals(self) -> tuple[Decimal, Decimal]:
        """The sums of the debits and of the credits."""
        debit = sum((line.debit for line in self.lines), Decimal(0))
        credit = sum((line.credit for line in self.lines), Decimal(0))
        return debit, credit
