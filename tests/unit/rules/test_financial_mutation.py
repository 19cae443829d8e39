"""Seed 001's ledger postings: four levels, each balanced to the minor unit.

The tables hold seed 001's kind of awkward order (3 x 0.333 at 21 % and 9 %, a
discount, shipping and a payment fee) posted at each level, with the exact
lines expected; the Hypothesis test generates webshop orders (totals and tax
computed the way a webshop does, rounding per line) and checks the guarantees
of :mod:`koppel.rules.financial_mutation` at every level.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koppel.documents import (
    CostKind,
    CostLine,
    Discount,
    FinancialMutation,
    MutationLevel,
    Order,
    OrderLine,
    Severity,
    TaxTotal,
)
from koppel.rules.financial_mutation import (
    DEFAULT_ACCOUNTS,
    LedgerAccounts,
    post_order,
    rounding_difference,
)
from koppel.rules.money import currency_decimals, quantize

D = Decimal
SIMPLE, RECOMMENDED, ADVANCED, EXTREME = (
    MutationLevel.SIMPLE,
    MutationLevel.RECOMMENDED,
    MutationLevel.ADVANCED,
    MutationLevel.EXTREME,
)
TAX_ACCOUNTS = frozenset(DEFAULT_ACCOUNTS.tax_payable.values())


def awkward(**changes: Any) -> Order:
    """Seed 001's awkward order: 3 x 0.333 at 21 % and at 9 %, a discount, shipping, a fee.

    Exclusive of tax, as a webshop computes it: line amounts 1.00 and 1.00 (0.999
    rounded), shipping 4.95, a discount of 0.50 and a payment fee of 0.29, all
    at 21 % but the 9 % line. Tax 21 %: (1.00 + 4.95 - 0.50 + 0.29) x 21 % = 1.2054
    -> 1.21; 9 %: 0.09. Total 5.74 + 1.00 + 1.21 + 0.09 = 8.04.
    """
    data: dict[str, Any] = {
        "order_id": "W-1001",
        "external_reference": "PO-77",
        "issue_date": date(2026, 11, 2),
        "lines": [
            OrderLine(line_id="1", quantity=D(3), unit_price=D("0.333"), tax_rate=D(21)),
            OrderLine(line_id="2", quantity=D(3), unit_price=D("0.333"), tax_rate=D(9)),
        ],
        "costs": [
            CostLine(kind=CostKind.SHIPPING, amount=D("4.95"), tax_rate=D(21)),
            CostLine(kind=CostKind.DISCOUNT, amount=D("0.50"), tax_rate=D(21)),
            CostLine(kind=CostKind.FEE, amount=D("0.29"), tax_rate=D(21)),
        ],
        "total_amount": D("8.04"),
    }
    data.update(changes)
    return Order(**data)


Row = tuple[str, str, str, str | None, bool]
"""(account, debit, credit, tax code, is rounding) of one posting line."""


def rows(mutation: FinancialMutation) -> list[Row]:
    """The posting's lines as plain tuples, in order."""
    return [
        (ln.account, str(ln.debit), str(ln.credit), ln.tax_code, ln.is_rounding)
        for ln in mutation.lines
    ]


@dataclass(frozen=True)
class Case:
    """One order posted at one level and the lines it must give."""

    name: str
    order: Order
    level: MutationLevel
    lines: list[Row]
    rounding: Decimal = Decimal(0)


CASES = [
    Case(
        "simple: one booking of the total",
        awkward(),
        SIMPLE,
        [("1300", "8.04", "0", None, False), ("8000", "0", "8.04", None, False)],
    ),
    Case(
        "recommended: revenue and tax per rate",
        awkward(),
        RECOMMENDED,
        [
            ("1300", "8.04", "0", None, False),
            ("8000", "0", "5.74", "21", False),
            ("8010", "0", "1.00", "9", False),
            ("1510", "0", "0.09", "9", False),
            ("1500", "0", "1.21", "21", False),
        ],
    ),
    Case(
        "advanced: per cost kind, the discount a debit on 8300",
        awkward(),
        ADVANCED,
        [
            ("1300", "8.04", "0", None, False),
            ("8000", "0", "1.00", "21", False),
            ("8010", "0", "1.00", "9", False),
            ("8100", "0", "4.95", "21", False),
            ("8300", "0.50", "0", "21", False),
            ("8200", "0", "0.29", "21", False),
            ("1510", "0", "0.09", "9", False),
            ("1500", "0", "1.21", "21", False),
        ],
    ),
    Case(
        "extreme: one line per order line and cost line",
        awkward(
            lines=[
                OrderLine(line_id="1", quantity=D(3), unit_price=D("0.333"), tax_rate=D(21)),
                OrderLine(line_id="2", quantity=D(3), unit_price=D("0.333"), tax_rate=D(9)),
                OrderLine(line_id="3", quantity=D(1), unit_price=D("0.999"), tax_rate=D(21)),
            ],
            total_amount=D("9.25"),
        ),
        EXTREME,
        [
            ("1300", "9.25", "0", None, False),
            ("8000", "0", "1.00", "21", False),
            ("8010", "0", "1.00", "9", False),
            ("8000", "0", "1.00", "21", False),
            ("8100", "0", "4.95", "21", False),
            ("8300", "0.50", "0", "21", False),
            ("8200", "0", "0.29", "21", False),
            ("1510", "0", "0.09", "9", False),
            ("1500", "0", "1.42", "21", False),
        ],
    ),
    Case(
        "a stated total one cent off the lines: the rounding line carries it",
        awkward(total_amount=D("8.05")),
        EXTREME,
        [
            ("1300", "8.05", "0", None, False),
            ("8000", "0", "1.00", "21", False),
            ("8010", "0", "1.00", "9", False),
            ("8100", "0", "4.95", "21", False),
            ("8300", "0.50", "0", "21", False),
            ("8200", "0", "0.29", "21", False),
            ("1510", "0", "0.09", "9", False),
            ("1500", "0", "1.21", "21", False),
            ("8999", "0", "0.01", None, True),
        ],
        D("0.01"),
    ),
    Case(
        "the source's tax per line (0.21 + 1.04 + ...) wins over the rate's: rounding line",
        awkward(
            tax_totals=[
                TaxTotal(rate=D(21), taxable_amount=D("5.74"), tax_amount=D("1.20")),
                TaxTotal(rate=D(9), taxable_amount=D("1.00"), tax_amount=D("0.09")),
            ],
            total_amount=D("8.03"),
        ),
        RECOMMENDED,
        [
            ("1300", "8.03", "0", None, False),
            ("8000", "0", "5.74", "21", False),
            ("8010", "0", "1.00", "9", False),
            ("1510", "0", "0.09", "9", False),
            ("1500", "0", "1.20", "21", False),
        ],
    ),
    Case(
        "tax-inclusive, recommended: net is the rate's gross minus its tax",
        awkward(
            prices_include_tax=True,
            costs=[CostLine(kind=CostKind.SHIPPING, amount=D("5.99"), tax_rate=D(21))],
            total_amount=D("7.99"),
        ),
        RECOMMENDED,
        # 21 %: 1.00 + 5.99 = 6.99 gross, tax 6.99 x 21/121 = 1.2131 -> 1.21, net 5.78;
        # 9 %: 1.00 gross, tax 0.0826 -> 0.08, net 0.92.
        [
            ("1300", "7.99", "0", None, False),
            ("8000", "0", "5.78", "21", False),
            ("8010", "0", "0.92", "9", False),
            ("1510", "0", "0.08", "9", False),
            ("1500", "0", "1.21", "21", False),
        ],
    ),
    Case(
        "tax-inclusive, extreme: each line's own split, adding up here: no rounding line",
        awkward(
            prices_include_tax=True,
            costs=[CostLine(kind=CostKind.SHIPPING, amount=D("5.99"), tax_rate=D(21))],
            total_amount=D("7.99"),
        ),
        EXTREME,
        # Line 1: 1.00 - 0.17 = 0.83; shipping 5.99 - 1.04 = 4.95: 5.78 + 1.21 = 6.99.
        [
            ("1300", "7.99", "0", None, False),
            ("8000", "0", "0.83", "21", False),
            ("8010", "0", "0.92", "9", False),
            ("8100", "0", "4.95", "21", False),
            ("1510", "0", "0.08", "9", False),
            ("1500", "0", "1.21", "21", False),
        ],
    ),
    Case(
        "JPY: no decimals",
        Order(
            order_id="J-1",
            currency="JPY",
            lines=[
                OrderLine(line_id="1", quantity=D(3), unit_price=D("333.5"), tax_rate=D(10)),
                OrderLine(line_id="2", quantity=D(1), unit_price=D(99), tax_rate=D(8)),
            ],
            total_amount=D(1208),
        ),
        RECOMMENDED,
        # 1000.5 -> 1001 (half up), tax 100.1 -> 100; 99 + 7.92 -> 8: 1001+100+99+8 = 1208.
        [
            ("1300", "1208", "0", None, False),
            ("8000", "0", "1001", "10", False),
            ("8000", "0", "99", "8", False),
            ("1500", "0", "8", "8", False),
            ("1500", "0", "100", "10", False),
        ],
    ),
    Case(
        "BHD: three decimals",
        Order(
            order_id="B-1",
            currency="BHD",
            lines=[OrderLine(line_id="1", quantity=D(3), unit_price=D("0.3333"), tax_rate=D(10))],
        ),
        ADVANCED,
        # 0.9999 -> 1.000, tax 0.100; no stated total: computed 1.100.
        [
            ("1300", "1.100", "0", None, False),
            ("8000", "0", "1.000", "10", False),
            ("1500", "0", "0.100", "10", False),
        ],
    ),
    Case(
        "a refund posts the sale with debit and credit swapped",
        awkward(refund=True, total_amount=D("8.05")),
        ADVANCED,
        [
            ("1300", "0", "8.05", None, False),
            ("8000", "1.00", "0", "21", False),
            ("8010", "1.00", "0", "9", False),
            ("8100", "4.95", "0", "21", False),
            ("8300", "0", "0.50", "21", False),
            ("8200", "0.29", "0", "21", False),
            ("1510", "0.09", "0", "9", False),
            ("1500", "1.21", "0", "21", False),
            ("8999", "0.01", "0", None, True),
        ],
        D("-0.01"),
    ),
]

#: A chart for JPY and BHD's 10 % and 8 %.
OTHER_RATES = dataclasses.replace(
    DEFAULT_ACCOUNTS,
    revenue={"10": "8000", "8": "8000"},
    tax_payable={"10": "1500", "8": "1500"},
)


#: Charts missing one account, for the missing-account table.
NO_REVENUE_9 = dataclasses.replace(DEFAULT_ACCOUNTS, revenue={"21": "8000"})
NO_TAX_21 = dataclasses.replace(DEFAULT_ACCOUNTS, tax_payable={"9": "1510"})


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_posting(case: Case) -> None:
    accounts = OTHER_RATES if case.order.currency != "EUR" else DEFAULT_ACCOUNTS
    decision = post_order(case.order, case.level, accounts)
    assert decision.mutation is not None, decision.problems
    assert rows(decision.mutation) == case.lines
    assert decision.mutation.imbalance() == 0
    assert rounding_difference(decision.mutation) == case.rounding
    assert [p.severity for p in decision.problems] == []


def test_entry_header() -> None:
    mutation = post_order(awkward(), ADVANCED).mutation
    assert mutation is not None
    assert mutation.mutation_id == "W-1001-advanced"
    assert mutation.source_document_id == "W-1001"
    assert mutation.reference == "PO-77"
    assert mutation.booking_date == date(2026, 11, 2)
    assert mutation.description == "Order W-1001"
    assert mutation.level is ADVANCED
    other = post_order(awkward(refund=True), ADVANCED, booking_date=date(2026, 12, 1)).mutation
    assert other is not None
    assert other.booking_date == date(2026, 12, 1)
    assert other.description == "Credit note W-1001"


def test_line_discounts_lower_the_goods() -> None:
    order = Order(
        order_id="X",
        lines=[
            OrderLine(
                line_id="1",
                quantity=D("2.5"),
                unit_price=D("10"),
                tax_rate=D(21),
                discounts=[Discount(percentage=D(10))],
            ),
            OrderLine(
                line_id="2",
                quantity=D(1),
                unit_price=D("10"),
                tax_rate=D(21),
                discounts=[Discount(amount=D("1.5"))],
            ),
        ],
    )
    mutation = post_order(order, EXTREME).mutation
    assert mutation is not None
    assert rows(mutation) == [
        ("1300", "37.51", "0", None, False),
        ("8000", "0", "22.50", "21", False),
        ("8000", "0", "8.50", "21", False),
        ("1500", "0", "6.51", "21", False),
    ]


@pytest.mark.parametrize(
    ("accounts", "level", "field"),
    [
        (dataclasses.replace(DEFAULT_ACCOUNTS, revenue={"21": "8000"}), RECOMMENDED, "revenue.9"),
        (
            dataclasses.replace(DEFAULT_ACCOUNTS, tax_payable={"9": "1510"}),
            EXTREME,
            "tax_payable.21",
        ),
        (dataclasses.replace(DEFAULT_ACCOUNTS, discounts=None), ADVANCED, "discounts"),
        (dataclasses.replace(DEFAULT_ACCOUNTS, turnover=None), SIMPLE, "turnover"),
    ],
)
def test_missing_account(accounts: LedgerAccounts, level: MutationLevel, field: str) -> None:
    decision = post_order(awkward(), level, accounts)
    assert decision.mutation is None
    assert [(p.code, p.field, p.severity) for p in decision.problems] == [
        ("ledger.account.missing", f"accounts.{field}", Severity.ERROR)
    ]


def test_missing_rate_and_amount() -> None:
    order = awkward(
        lines=[
            OrderLine(line_id="1", quantity=D(1), unit_price=D(1)),
            OrderLine(line_id="2", quantity=D(1), tax_rate=D(21)),
        ]
    )
    decision = post_order(order, RECOMMENDED)
    assert decision.mutation is None
    assert [(p.code, p.field) for p in decision.problems] == [
        ("ledger.amount.missing", "lines[1]"),
        ("ledger.tax_rate.missing", "lines[0].tax_rate"),
    ]


def test_simple_needs_no_rate_when_the_total_is_stated() -> None:
    order = awkward(lines=[OrderLine(line_id="1", quantity=D(1), unit_price=D(1))], costs=[])
    mutation = post_order(order, SIMPLE).mutation
    assert mutation is not None
    assert rows(mutation) == [
        ("1300", "8.04", "0", None, False),
        ("8000", "0", "8.04", None, False),
    ]


def test_a_difference_beyond_rounding_is_posted_with_a_warning() -> None:
    decision = post_order(awkward(total_amount=D("9.04")), RECOMMENDED)
    assert decision.mutation is not None
    assert decision.mutation.imbalance() == 0
    assert rounding_difference(decision.mutation) == D("1.00")
    assert [(p.code, p.severity) for p in decision.problems] == [
        ("ledger.rounding.large", Severity.WARNING)
    ]


def test_a_tax_total_for_a_rate_no_line_has() -> None:
    order = awkward(
        tax_totals=[TaxTotal(rate=D(9), tax_amount=D("0.09")), TaxTotal(rate=D(6), tax_amount=D(0))]
    )
    decision = post_order(order, RECOMMENDED)
    assert decision.mutation is not None
    assert [(p.code, p.severity) for p in decision.problems] == [
        ("ledger.tax_total.unknown_rate", Severity.WARNING)
    ]


# --- Properties -------------------------------------------------------------------------------

RATES = (D(0), D(9), D(21))
CURRENCIES = ("EUR", "JPY", "BHD")

#: The largest absolute rounding difference seen per level and currency (in minor
#: units: cents, yen, fils), and the examples run.
LARGEST: dict[tuple[MutationLevel, str], int] = defaultdict(int)
RUN: list[int] = [0]


@st.composite
def webshop_orders(draw: st.DrawFn) -> tuple[Order, Decimal, dict[str, Decimal]]:
    """An order as a webshop sends it, with the total and tax per rate it computed.

    The webshop rounds each line (and its tax) to the currency and adds them
    up; the posting must carry exactly those numbers.
    """
    currency = draw(st.sampled_from(CURRENCIES))
    inclusive = draw(st.booleans())
    lines: list[OrderLine] = []
    items: list[tuple[Decimal, Decimal]] = []
    for n in range(draw(st.integers(1, 50))):
        quantity = D(draw(st.integers(1, 5000))) / D(draw(st.sampled_from((1, 10, 1000))))
        price = D(draw(st.integers(0, 200_000))) / D(draw(st.sampled_from((1, 100, 1000, 10000))))
        rate = draw(st.sampled_from(RATES))
        discounts = draw(
            st.sampled_from(([], [Discount(percentage=D(10))], [Discount(percentage=D("33.3"))]))
        )
        gross = quantity * price
        amount = quantize(
            gross - sum((gross * d.percentage / 100 for d in discounts if d.percentage), D(0)),
            currency,
        )
        stated = draw(st.booleans())
        lines.append(
            OrderLine(
                line_id=str(n + 1),
                quantity=quantity,
                unit_price=price,
                discounts=discounts,
                tax_rate=rate,
                line_amount=amount if stated else None,
            )
        )
        items.append((amount, rate))
    costs: list[CostLine] = []
    for kind in (CostKind.SHIPPING, CostKind.FEE, CostKind.DISCOUNT):
        if draw(st.booleans()):
            amount = quantize(D(draw(st.integers(1, 2000))) / 100, currency)
            rate = draw(st.sampled_from(RATES))
            costs.append(CostLine(kind=kind, amount=amount, tax_rate=rate))
            items.append((-amount if kind is CostKind.DISCOUNT else amount, rate))
    tax: dict[str, Decimal] = defaultdict(Decimal)
    for amount, rate in items:
        share = amount * rate / ((100 + rate) if inclusive else 100)
        tax[str(rate)] += quantize(share, currency)
    total = sum((a for a, _ in items), D(0)) + (D(0) if inclusive else sum(tax.values(), D(0)))
    total += draw(st.sampled_from((D(0), D(0), D(0), D(1), D(-1)))) * D(1).scaleb(
        -currency_decimals(currency)
    )
    state_tax = draw(st.booleans())
    order = Order(
        order_id="H",
        currency=currency,
        lines=lines,
        costs=costs,
        prices_include_tax=inclusive,
        refund=draw(st.booleans()),
        total_amount=total,
        tax_totals=[TaxTotal(rate=D(k), tax_amount=v) for k, v in tax.items()] if state_tax else [],
    )
    return order, total, dict(tax) if state_tax else {}


def _check(order: Order, total: Decimal, tax: dict[str, Decimal], level: MutationLevel) -> None:
    decision = post_order(order, level)
    errors = [p for p in decision.problems if p.severity is Severity.ERROR]
    assert decision.mutation is not None, errors
    mutation = decision.mutation
    sign = -1 if order.refund else 1
    exponent = -currency_decimals(order.currency)
    assert mutation.imbalance() == 0
    debtor = [ln for ln in mutation.lines if ln.account == DEFAULT_ACCOUNTS.debtor]
    assert len(debtor) == (1 if total else 0)  # a zero line is omitted
    assert sign * sum((ln.debit - ln.credit for ln in debtor), D(0)) == total
    for ln in mutation.lines:
        assert (ln.debit == 0) != (ln.credit == 0), ln
        assert ln.debit >= 0
        assert ln.credit >= 0
        assert len(str(ln.debit + ln.credit).partition(".")[2]) <= -exponent  # the minor unit
    assert sum(ln.is_rounding for ln in mutation.lines) <= 1
    if level is not SIMPLE:
        posted: dict[str, Decimal] = defaultdict(Decimal)
        for ln in mutation.lines:
            if ln.account in TAX_ACCOUNTS:
                assert ln.tax_code is not None
                posted[ln.tax_code] += sign * (ln.credit - ln.debit)
        assert posted == {k: v for k, v in tax.items() if v} or not tax
    if order.refund:
        sale = post_order(order.model_copy(update={"refund": False}), level).mutation
        assert sale is not None
        assert [(ln.account, ln.debit, ln.credit) for ln in mutation.lines] == [
            (ln.account, ln.credit, ln.debit) for ln in sale.lines
        ]
    minor = int(abs(rounding_difference(mutation)).scaleb(-exponent))
    key = (level, order.currency)
    LARGEST[key] = max(LARGEST[key], minor)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(webshop_orders())
def _every_level_balances(generated: tuple[Order, Decimal, dict[str, Decimal]]) -> None:
    order, total, tax = generated
    RUN[0] += 1
    for level in MutationLevel:
        _check(order, total, tax, level)


def test_every_level_balances_on_generated_webshop_orders() -> None:
    """Run the property and report its examples and the largest rounding per level."""
    _every_level_balances()
    print(f"\nHypothesis examples run: {RUN[0]} (each posted at all four levels)")
    for level in MutationLevel:
        seen = ", ".join(f"{c} {LARGEST[level, c]}" for c in CURRENCIES)
        print(f"largest |rounding line| at {level.value}, in minor units: {seen}")
    assert RUN[0] >= 300
    assert all(LARGEST[SIMPLE, c] == 0 for c in CURRENCIES)
