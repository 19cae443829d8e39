"""Ledger postings: the financial mutation at the end of an order's life (seed 001)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from koppel.documents.base import Amount, CanonicalModel


class MutationLevel(StrEnum):
    """How much detail a financial mutation carries (SPEC.md section 3)."""

    SIMPLE = "simple"
    RECOMMENDED = "recommended"
    ADVANCED = "advanced"
    EXTREME = "extreme"


class PostingLine(CanonicalModel):
    """One booking line; positive ``debit`` or ``credit``, never both."""

    account: str
    description: str | None = None
    debit: Amount = Decimal(0)
    credit: Amount = Decimal(0)
    tax_code: str | None = None
    is_rounding: bool = False
    """Marks the explicit line that absorbs rounding differences."""


class FinancialMutation(CanonicalModel):
    """A ledger posting for one document; it must balance to the cent."""

    mutation_id: str
    source_document_id: str
    level: MutationLevel
    booking_date: date | None = None
    currency: str = "EUR"
    reference: str | None = None
    """The reference the target shows with the entry: the customer's or the source's number."""
    description: str | None = None
    lines: list[PostingLine] = Field(default_factory=list)

    def imbalance(self) -> Decimal:
        """Debit minus credit; zero for a balanced posting."""
        return sum((ln.debit - ln.credit for ln in self.lines), Decimal(0))
