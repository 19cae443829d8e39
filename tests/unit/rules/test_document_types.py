"""Seed 001's document types, case by case: each type with its articles known and unknown.

"Productgegevens moeten worden gesynchroniseerd tussen beide systemen. Als een
product niet bestaat, gooien we een fout in het validatieproces" (quote, order,
invoice, direct invoice); "Productgegevens zijn niet nodig bij dit type boeking,
we maken een regel zonder artikel / sku erop" (sales invoice, financial mutation).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from koppel.documents import (
    CostKind,
    CostLine,
    DocumentType,
    FinancialMutation,
    MutationLevel,
    Order,
    OrderLine,
    Severity,
)
from koppel.rules.document_types import needs_articles, prepare_document
from koppel.rules.financial_mutation import DEFAULT_ACCOUNTS

D = Decimal
KNOWN = frozenset({"KOP-MUG", "KOP-BEANS"})


def order(*skus: str | None) -> Order:
    lines = [
        OrderLine(
            line_id=str(number),
            sku=sku,
            description=f"item {number}",
            quantity=D(2),
            unit_price=D("4.50"),
            tax_rate=D(21),
        )
        for number, sku in enumerate(skus, start=1)
    ]
    return Order(
        order_id="W-1001",
        issue_date=date(2026, 11, 20),
        lines=lines,
        costs=[CostLine(kind=CostKind.SHIPPING, amount=D("4.95"), tax_rate=D(21))],
    )


ARTICLE_TYPES = ["quote", "order", "invoice", "direct_invoice"]

#: (document type, SKUs of the lines, decided type or None, held, problem codes)
CASES = [
    *[(kind, ("KOP-MUG", "KOP-BEANS"), kind, False, []) for kind in ARTICLE_TYPES],
    *[(kind, ("KOP-MUG", "KOP-NEW"), None, True, ["product.unknown"]) for kind in ARTICLE_TYPES],
    *[(kind, ("KOP-MUG", None), None, False, ["product.missing"]) for kind in ARTICLE_TYPES],
    ("sales_invoice", (None, None), "sales_invoice", False, []),
    ("sales_invoice", ("KOP-NEW", None), "sales_invoice", False, ["sales_invoice.article_dropped"]),
    ("financial_mutation", ("KOP-NEW", None), "financial_mutation", False, []),
]


@pytest.mark.parametrize(
    ("kind", "skus", "decided", "held", "codes"),
    CASES,
    ids=[f"{c[0]}-{'-'.join(str(s) for s in c[1])}" for c in CASES],
)
def test_each_type_with_articles_known_and_unknown(
    kind: str, skus: tuple[str | None, ...], decided: str | None, held: bool, codes: list[str]
) -> None:
    decision = prepare_document(order(*skus), kind, known_skus=KNOWN, accounts=DEFAULT_ACCOUNTS)
    assert [p.code for p in decision.problems] == codes
    assert decision.hold is held
    if decided is None:
        assert decision.document is None
        assert all(p.severity is Severity.ERROR for p in decision.problems)
    elif decided == "financial_mutation":
        assert isinstance(decision.document, FinancialMutation)
        assert decision.document.imbalance() == 0
    else:
        assert isinstance(decision.document, Order)
        assert decision.document.document_type == DocumentType(decided)


def test_an_unknown_product_names_its_line_and_says_the_order_waits() -> None:
    decision = prepare_document(
        order("KOP-MUG", "KOP-NEW"), "direct_invoice", known_skus=KNOWN, target="IPSoft"
    )
    (problem,) = decision.problems
    assert problem.field == "lines[1].sku"
    assert problem.message.startswith(
        "line 2: product KOP-NEW does not exist in IPSoft; the direct invoice waits"
    )


def test_unknown_and_missing_products_together_reject_rather_than_wait() -> None:
    """A line with no product cannot be cured by creating one: the order is not held."""
    decision = prepare_document(order("KOP-NEW", None), "invoice", known_skus=KNOWN)
    assert [p.code for p in decision.problems] == ["product.unknown", "product.missing"]
    assert decision.hold is False
    assert decision.document is None


def test_a_sales_invoice_carries_no_article() -> None:
    decision = prepare_document(order("KOP-MUG", "KOP-NEW"), "sales_invoice")
    assert isinstance(decision.document, Order)
    assert [line.sku for line in decision.document.lines] == [None, None]
    assert [line.description for line in decision.document.lines] == ["item 1", "item 2"]
    assert decision.problems[0].severity is Severity.INFO


@pytest.mark.parametrize("level", list(MutationLevel))
def test_a_financial_mutation_posts_at_the_level_asked(level: MutationLevel) -> None:
    decision = prepare_document(
        order("KOP-MUG"), "financial_mutation", level=level, accounts=DEFAULT_ACCOUNTS
    )
    assert isinstance(decision.document, FinancialMutation)
    assert decision.document.level is level
    assert decision.document.imbalance() == 0
    debtor = [ln for ln in decision.document.lines if ln.account == DEFAULT_ACCOUNTS.debtor]
    assert [ln.debit for ln in debtor] == [D("16.88")]  # (9.00 + 4.95) x 1.21 = 16.8795


def test_a_financial_mutation_without_accounts_is_refused() -> None:
    decision = prepare_document(order("KOP-MUG"), "financial_mutation", accounts=None)
    assert decision.document is None
    assert [p.code for p in decision.problems] == ["ledger.account.missing"]


def test_which_types_need_articles() -> None:
    assert [
        k for k in (*ARTICLE_TYPES, "sales_invoice", "financial_mutation") if needs_articles(k)
    ] == ARTICLE_TYPES


def test_an_order_that_totals_zero_posts_nothing_and_says_so() -> None:
    free = Order(
        order_id="W-0",
        issue_date=date(2026, 11, 20),
        lines=[OrderLine(line_id="1", quantity=D(1), unit_price=D("0.001"), tax_rate=D(0))],
        total_amount=D("0.00"),
    )
    decision = prepare_document(free, "financial_mutation", accounts=DEFAULT_ACCOUNTS)
    assert decision.document is None
    assert decision.hold is False
    assert [(p.code, p.severity) for p in decision.problems] == [
        ("ledger.nothing_to_post", Severity.INFO)
    ]
