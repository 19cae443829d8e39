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
    Discount,
    DocumentType,
    FinancialMutation,
    MutationLevel,
    Order,
    OrderLine,
    Severity,
)
from koppel.rules.document_types import needs_articles, per_piece, prepare_document
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


# --- Prices IPSoft gets: after discounts; for CreateOrder net, excluding tax ----------------


def shop_order(*, inclusive: bool) -> Order:
    """W-1001's line 1 (2 x 29.95 less a 5.00 coupon) and W-1006's awkward lines and costs."""
    return Order(
        order_id="W-1",
        issue_date=date(2026, 11, 23),
        prices_include_tax=inclusive,
        lines=[
            OrderLine(
                line_id="1",
                sku="KOP-MUG",
                quantity=D(2),
                unit_price=D("29.95"),
                discounts=[Discount(amount=D("5.00"), reason="WELKOM5")],
                tax_rate=D(21),
                line_amount=D("54.90"),
            ),
            OrderLine(
                line_id="2",
                sku="KOP-BEANS",
                quantity=D(3),
                unit_price=D("0.333"),
                tax_rate=D(9),
                line_amount=D("1.00"),
            ),
            OrderLine(
                line_id="3", sku="KOP-MUG", quantity=D(1), unit_price=D("2.49"), tax_rate=D(21)
            ),
        ],
        costs=[
            CostLine(kind=CostKind.DISCOUNT, amount=D("1.00"), tax_rate=D(21)),
            CostLine(kind=CostKind.SHIPPING, amount=D("4.95"), tax_rate=D(21)),
        ],
        total_amount=D("8.44"),
    )


def _prices(document: object) -> list[tuple[Decimal | None, Decimal | None]]:
    assert isinstance(document, Order)
    return [(line.unit_price, line.line_amount) for line in document.lines]


def test_an_order_gets_the_price_after_its_line_discount() -> None:
    decision = prepare_document(shop_order(inclusive=False), "order", known_skus=KNOWN)
    assert decision.problems == []
    document = decision.document
    assert isinstance(document, Order)
    # 2 x 27.45 is the 54.90 the shop charged; undiscounted lines keep their own price.
    assert _prices(document) == [
        (D("27.45"), D("54.90")),
        (D("0.333"), D("1.00")),
        (D("2.49"), D("2.49")),
    ]
    assert all(line.discounts == [] for line in document.lines)
    assert [c.amount for c in document.costs] == [D("1.00"), D("4.95")]


def test_an_order_with_prices_including_tax_becomes_net_per_line() -> None:
    """Each line's gross amount / (1 + rate), rounded once to the cent; the price per piece
    is exact in cents where it can be (2.06), else 4 decimals beside its line amount."""
    decision = prepare_document(shop_order(inclusive=True), "order", known_skus=KNOWN)
    document = decision.document
    assert isinstance(document, Order)
    assert document.prices_include_tax is False
    assert _prices(document) == [
        (D("22.685"), D("45.37")),  # 54.90 / 1.21 = 45.3719
        (D("0.3067"), D("0.92")),  # 1.00 / 1.09 = 0.9174; 0.92 / 3
        (D("2.06"), D("2.06")),  # 2.49 / 1.21 = 2.0579
    ]
    assert [c.amount for c in document.costs] == [D("0.83"), D("4.09")]
    assert document.total_amount == D("8.44")  # as the shop charged it, not recomputed


def test_an_inclusive_price_without_a_tax_rate_cannot_be_made_net() -> None:
    inclusive = shop_order(inclusive=True)
    line = inclusive.lines[1].model_copy(update={"tax_rate": None})
    broken = inclusive.model_copy(update={"lines": [inclusive.lines[0], line]})
    decision = prepare_document(broken, "order", known_skus=KNOWN)
    assert decision.document is None
    assert decision.hold is False
    assert [(p.code, p.field) for p in decision.problems] == [
        ("price.tax_rate.missing", "lines[1].tax_rate")
    ]


@pytest.mark.parametrize("kind", ["quote", "invoice", "direct_invoice", "sales_invoice"])
@pytest.mark.parametrize("inclusive", [False, True])
def test_other_documents_get_the_discounted_price_in_their_own_tax_basis(
    kind: str, inclusive: bool
) -> None:
    """Quotes and invoices state PricesIncludeTax, so their amounts keep the shop's basis."""
    decision = prepare_document(shop_order(inclusive=inclusive), kind, known_skus=KNOWN)
    document = decision.document
    assert isinstance(document, Order)
    assert document.prices_include_tax is inclusive
    assert _prices(document) == [
        (D("27.45"), D("54.90")),
        (D("0.333"), D("1.00")),
        (D("2.49"), None),
    ]
    assert [c.amount for c in document.costs] == [D("1.00"), D("4.95")]


@pytest.mark.parametrize(
    ("amount", "quantity", "currency", "price"),
    [
        ("54.90", "2", "EUR", "27.45"),
        ("0.83", "3", "EUR", "0.2767"),
        ("100", "3", "JPY", "33.3333"),
        ("1.500", "2", "BHD", "0.750"),
        ("1.26", "12.5", "EUR", "0.1008"),
    ],
)
def test_a_price_per_piece_is_exact_in_the_currency_or_has_four_decimals(
    amount: str, quantity: str, currency: str, price: str
) -> None:
    assert str(per_piece(D(amount), D(quantity), currency)) == price


def test_an_order_line_without_any_price_is_rejected_not_sent_at_zero() -> None:
    priced = shop_order(inclusive=False)
    line = priced.lines[2].model_copy(update={"unit_price": None})
    decision = prepare_document(
        priced.model_copy(update={"lines": [priced.lines[0], line]}), "order", known_skus=KNOWN
    )
    assert decision.document is None
    assert [(p.code, p.field) for p in decision.problems] == [
        ("price.missing", "lines[1].unit_price")
    ]
