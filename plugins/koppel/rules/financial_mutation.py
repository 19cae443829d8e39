"""Seed 001's financial mutation: an order posted to the ledger at one of four levels.

Seed 001 (Dutch; SPEC.md section 3) ends an order's life with "de daadwerkelijke
aanpassing in het grootboek" at one of four levels of detail:

* **simple** — one booking of the total turnover: the debtor is debited the
  document total (including tax) and one turnover account credited the same;
* **recommended** — the turnover split into revenue per tax rate (excluding
  tax) and tax payable per rate;
* **advanced** — "we splitsen ook de waarde op per kosten omzetregel zoals
  verzendkosten / vergoedingen": revenue per rate *and* per cost kind (goods,
  shipping, fees, other), order-level discounts on their own account;
* **extreme** — "per regelitem een regel": one line per order line and per cost
  line, plus tax per rate. The seed advises against it "vanwege het
  berekeningsverschil tussen bron- en doelsystemen": the lines rounded one by
  one do not add up to what the source invoiced.

Koppel supports all four and guarantees, for every posting :func:`post_order`
makes:

1. it balances exactly (sum of debits == sum of credits);
2. the debtor line is the document total as the source reports it
   (``Order.total_amount`` when stated, else computed);
3. the tax line of each rate is the source's ``tax_totals`` amount for that rate
   when stated (else the rate's taxable total times the rate, rounded once);
4. whatever the revenue lines fail to add up to sits on ONE explicit rounding
   line (``is_rounding=True``, the configured rounding account), never spread
   over other lines;
5. no line has both a debit and a credit, none is negative (a negative amount is
   posted on the other side), none is zero;
6. a refund or credit note (``Order.refund``) is the sale's posting with debit
   and credit swapped.

Discounts: an order line's own discounts are part of its amount (the line is
booked net, as the source computed ``line_amount``); an order-level discount
(a :class:`~koppel.documents.CostLine` of kind ``discount``) always lowers the
total whatever its sign in the source, and is booked at the advanced and
extreme levels as a *debit* on the discounts account (so revenue accounts show
gross turnover and the discount given stays visible), at the recommended level
inside the revenue of its rate.

Money is :class:`~decimal.Decimal` at the currency's minor unit (0 decimals for
JPY, 3 for BHD, else 2), rounded half up (:mod:`koppel.rules.money`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from koppel.documents import (
    CostKind,
    FinancialMutation,
    MutationLevel,
    Order,
    OrderLine,
    PostingLine,
    Problem,
    Severity,
)
from koppel.rules.money import minor_unit, quantize

#: The cost kind of an order line in :attr:`LedgerAccounts.revenue_by_kind`.
GOODS = "goods"

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LedgerAccounts:
    """The ledger accounts a connection posts to (mapped in the connection's YAML).

    Attributes:
        debtor: Debited the document total (the receivable).
        turnover: The one account of the simple level, credited the total
            including tax; None when the connection does not post simple.
        revenue: Revenue per tax rate, keyed by the rate as text (``"21"``,
            ``"9"``, ``"0"``, ``"5.5"``), credited the amount excluding tax.
        revenue_by_kind: Revenue per cost kind (``goods``, ``shipping``,
            ``fee``, ``other``) at the advanced and extreme levels; a kind not
            listed falls back to :attr:`revenue` of its rate.
        discounts: Debited order-level discounts at the advanced and extreme
            levels.
        tax_payable: Tax payable per rate, keyed like :attr:`revenue`.
        rounding: Takes the one rounding line.
    """

    debtor: str
    revenue: Mapping[str, str]
    tax_payable: Mapping[str, str]
    rounding: str
    turnover: str | None = None
    revenue_by_kind: Mapping[str, str] = field(default_factory=dict)
    discounts: str | None = None


#: A Dutch-style chart (after the common RGS-like numbering): 1300 Debiteuren,
#: 8000/8010/8020 Omzet hoog/laag/nul tarief (21/9/0 %), 8100 Verzendkosten,
#: 8200 Vergoedingen (payment and handling fees), 8300 Kortingen, 1500/1510 Af
#: te dragen btw hoog/laag, 8999 Afrondingsverschillen; 8000 also takes the
#: simple level's one booking of the total turnover.
DEFAULT_ACCOUNTS = LedgerAccounts(
    debtor="1300",
    turnover="8000",
    revenue={"21": "8000", "9": "8010", "0": "8020"},
    revenue_by_kind={"shipping": "8100", "fee": "8200"},
    discounts="8300",
    tax_payable={"21": "1500", "9": "1510"},
    rounding="8999",
)


@dataclass(frozen=True)
class PostingDecision:
    """What :func:`post_order` decided.

    Attributes:
        mutation: The balanced posting; None when the document cannot be posted
            (an error among the problems).
        problems: Why not, and warnings (a large rounding difference, a tax
            total for a rate no line has).
    """

    mutation: FinancialMutation | None
    problems: list[Problem]


@dataclass(frozen=True)
class _Item:
    """One order line or cost line, its amount in the order's price basis (net or gross)."""

    label: str
    kind: str
    rate: Decimal | None
    amount: Decimal
    where: str


def rate_key(rate: Decimal) -> str:
    """The rate as the accounts and tax codes name it: ``21`` for 21.00, ``5.5`` for 5.50."""
    return format(rate.normalize(), "f")


def post_order(
    order: Order,
    level: MutationLevel,
    accounts: LedgerAccounts = DEFAULT_ACCOUNTS,
    *,
    booking_date: date | None = None,
) -> PostingDecision:
    """Post ``order`` to the ledger at ``level``, balanced to the minor unit.

    Args:
        order: The document; its amounts as the source states them.
        level: How much detail the posting carries (seed 001).
        accounts: The connection's chart.
        booking_date: The entry's date; the order's issue date when None.

    Returns:
        The posting with the guarantees of the module docstring, or None and an
        error (``ledger.account.missing``, ``ledger.tax_rate.missing``,
        ``ledger.amount.missing``) when it cannot be posted.
    """
    problems: list[Problem] = []
    cur = order.currency
    items = _items(order, problems)
    needs_rates = level is not MutationLevel.SIMPLE or order.total_amount is None
    if needs_rates:
        for it in items:
            if it.rate is None:
                problems.append(
                    Problem(
                        code="ledger.tax_rate.missing",
                        message=f"{it.label} has no tax rate: its tax and account are unknown",
                        field=f"{it.where}.tax_rate",
                    )
                )
    if any(p.severity is Severity.ERROR for p in problems):
        return PostingDecision(None, problems)

    tax = _tax_per_rate(order, items) if needs_rates else {}
    total = (
        order.total_amount if order.total_amount is not None else _computed_total(order, items, tax)
    )
    total = quantize(total, cur)

    signed = _credit_lines(order, items, level, accounts, tax=tax, total=total, problems=problems)
    problems = list(dict.fromkeys(problems))
    if any(p.severity is Severity.ERROR for p in problems):
        return PostingDecision(None, problems)
    rounding = _rounding_line(
        order,
        accounts,
        total=total,
        signed=signed,
        roundings=len(items) + len(tax),
        problems=problems,
    )
    if rounding is not None:
        signed.append(rounding)
    debtor = PostingLine(account=accounts.debtor, description="Debtor")
    lines = [_sided(debtor, -total, order.refund)]
    lines += [_sided(line, amount, order.refund) for line, amount in signed if amount != _ZERO]
    reference = order.external_reference or order.order_id
    mutation = FinancialMutation(
        mutation_id=f"{order.order_id}-{level.value}",
        source_document_id=order.order_id,
        level=level,
        booking_date=booking_date or order.issue_date,
        currency=cur,
        reference=reference,
        description=f"{_document_name(order)} {order.order_id}",
        lines=[ln for ln in lines if ln.debit or ln.credit],
    )
    return PostingDecision(mutation, problems)


def _credit_lines(
    order: Order,
    items: list[_Item],
    level: MutationLevel,
    accounts: LedgerAccounts,
    *,
    tax: Mapping[str, Decimal],
    total: Decimal,
    problems: list[Problem],
) -> list[tuple[PostingLine, Decimal]]:
    """Every line but the debtor's and the rounding line, with its signed amount (credit > 0)."""
    if level is MutationLevel.SIMPLE:
        if accounts.turnover is None:
            problems.append(_missing("turnover", "the simple level's turnover"))
            return []
        return [(PostingLine(account=accounts.turnover, description="Turnover"), total)]
    signed = _revenue_lines(order, items, level, accounts, tax=tax, problems=problems)
    for key, amount in sorted(tax.items(), key=lambda kv: Decimal(kv[0])):
        if amount == _ZERO:
            continue
        account = accounts.tax_payable.get(key)
        if account is None:
            problems.append(_missing(f"tax_payable.{key}", f"tax payable at {key} %"))
            continue
        line = PostingLine(account=account, description=f"Tax {key} %", tax_code=key)
        signed.append((line, amount))
    stated = {rate_key(t.rate) for t in order.tax_totals}
    for key in sorted(stated - {rate_key(it.rate) for it in items if it.rate is not None}):
        problems.append(
            Problem(
                code="ledger.tax_total.unknown_rate",
                message=f"The source states tax at {key} % but no line has that rate",
                severity=Severity.WARNING,
                field="tax_totals",
            )
        )
    return signed


def _rounding_line(
    order: Order,
    accounts: LedgerAccounts,
    *,
    total: Decimal,
    signed: list[tuple[PostingLine, Decimal]],
    roundings: int,
    problems: list[Problem],
) -> tuple[PostingLine, Decimal] | None:
    """The one line that makes the posting balance, or None when the lines already do.

    A source rounds at most once per item and once per rate, so a difference
    beyond ``roundings + 1`` minor units is more than rounding: it is still
    posted (the total must be the source's), with a warning to look at it.
    """
    difference = total - sum((amount for _, amount in signed), _ZERO)
    if difference == _ZERO:
        return None
    allowed = minor_unit(order.currency) * (roundings + 1)
    if abs(difference) > allowed:
        problems.append(
            Problem(
                code="ledger.rounding.large",
                message=(
                    f"The lines differ from the source's total by {difference} "
                    f"{order.currency}, more than rounding explains ({allowed}); "
                    f"posted on the rounding account {accounts.rounding}"
                ),
                severity=Severity.WARNING,
                field="total_amount",
            )
        )
    line = PostingLine(
        account=accounts.rounding, description="Rounding difference", is_rounding=True
    )
    return line, difference


def _document_name(order: Order) -> str:
    """What the entry books, for its description: ``Invoice``, ``Credit note``, ..."""
    if order.refund:
        return "Credit note"
    return order.document_type.value.replace("_", " ").capitalize()


def rounding_difference(mutation: FinancialMutation) -> Decimal:
    """The rounding line's signed amount (credit positive), 0 when the posting has none.

    For reports: how far the source's own rounding was from the lines Koppel
    booked. A refund's rounding line is on the other side, so its sign flips.
    """
    return sum((ln.credit - ln.debit for ln in mutation.lines if ln.is_rounding), _ZERO)


# --- Amounts ------------------------------------------------------------------------------


def _items(order: Order, problems: list[Problem]) -> list[_Item]:
    """Every order line and cost line with its amount rounded to the currency, as a webshop does."""
    cur = order.currency
    items: list[_Item] = []
    for i, line in enumerate(order.lines):
        amount = line_amount(line)
        where = f"lines[{i}]"
        if amount is None:
            problems.append(
                Problem(
                    code="ledger.amount.missing",
                    message=f"Line {line.line_id} has neither an amount nor a unit price",
                    field=where,
                )
            )
            continue
        label = f"Line {line.line_id}" + (f" {line.description}" if line.description else "")
        items.append(_Item(label, GOODS, line.tax_rate, quantize(amount, cur), where))
    for i, cost in enumerate(order.costs):
        amount = -abs(cost.amount) if cost.kind is CostKind.DISCOUNT else cost.amount
        label = cost.description or cost.kind.value.capitalize()
        items.append(
            _Item(label, cost.kind.value, cost.tax_rate, quantize(amount, cur), f"costs[{i}]")
        )
    return items


def line_amount(line: OrderLine) -> Decimal | None:
    """The line's amount after its discounts: the source's ``line_amount`` when stated.

    Unrounded when computed (quantity x price less each discount): a posting
    rounds per account, a document per line (``koppel.rules.document_types``).
    """
    if line.line_amount is not None:
        return line.line_amount
    if line.unit_price is None:
        return None
    gross = line.quantity * line.unit_price
    amount = gross
    for discount in line.discounts:
        if discount.amount is not None:
            amount -= discount.amount
        elif discount.percentage is not None:
            amount -= gross * discount.percentage / _HUNDRED
    return amount


def _tax_of(amount: Decimal, rate: Decimal, inclusive: bool, currency: str) -> Decimal:
    """The tax in ``amount``: on top of it (exclusive) or inside it (inclusive), rounded once."""
    if inclusive:
        return quantize(amount * rate / (_HUNDRED + rate), currency)
    return quantize(amount * rate / _HUNDRED, currency)


def _tax_per_rate(order: Order, items: list[_Item]) -> dict[str, Decimal]:
    """Tax per rate: the source's when stated, else computed once on the rate's total."""
    base: dict[str, Decimal] = defaultdict(Decimal)
    rates: dict[str, Decimal] = {}
    for it in items:
        if it.rate is not None:
            key = rate_key(it.rate)
            base[key] += it.amount
            rates[key] = it.rate
    tax = {
        key: _tax_of(base[key], rates[key], order.prices_include_tax, order.currency)
        for key in base
    }
    for stated in order.tax_totals:
        key = rate_key(stated.rate)
        tax[key] = stated.tax_amount
    return {key: quantize(amount, order.currency) for key, amount in tax.items()}


def _computed_total(order: Order, items: list[_Item], tax: Mapping[str, Decimal]) -> Decimal:
    """The total including tax when the source does not state it."""
    lines = sum((it.amount for it in items), _ZERO)
    if order.prices_include_tax:
        return lines
    return lines + sum(tax.values(), _ZERO)


def _revenue_lines(
    order: Order,
    items: list[_Item],
    level: MutationLevel,
    accounts: LedgerAccounts,
    *,
    tax: Mapping[str, Decimal],
    problems: list[Problem],
) -> list[tuple[PostingLine, Decimal]]:
    """Revenue (and discount) lines excluding tax, grouped as ``level`` asks."""
    cur = order.currency
    groups: dict[tuple[str, str, int], list[_Item]] = {}
    for n, it in enumerate(items):
        if it.rate is None:  # refused by post_order before it gets here
            continue
        key = rate_key(it.rate)
        if level is MutationLevel.RECOMMENDED:
            group = ("revenue", key, 0)
        elif level is MutationLevel.ADVANCED:
            group = (it.kind, key, 0)
        else:
            group = (it.kind, key, n)
        groups.setdefault(group, []).append(it)
    out: list[tuple[PostingLine, Decimal]] = []
    for (kind, key, _), members in groups.items():
        rate = Decimal(key)
        amount = sum((it.amount for it in members), _ZERO)
        if order.prices_include_tax:
            # One group per rate: its tax is the rate's (the source's when stated), so
            # revenue plus tax is exactly what the lines say. Finer groups each take
            # their own share, and what those shares miss goes to the rounding line.
            share = _tax_of(amount, rate, True, cur)
            amount -= tax[key] if level is MutationLevel.RECOMMENDED else share
        account = _revenue_account(kind, key, accounts, problems)
        if account is None:
            continue
        if level is MutationLevel.EXTREME:
            description = members[0].label
        elif kind == "revenue":
            description = f"Revenue {key} %"
        else:
            description = f"{kind.capitalize()} {key} %"
        out.append((PostingLine(account=account, description=description, tax_code=key), amount))
    return out


def _revenue_account(
    kind: str, key: str, accounts: LedgerAccounts, problems: list[Problem]
) -> str | None:
    """The account of a revenue group; records a problem when the chart has none."""
    if kind == CostKind.DISCOUNT.value:
        if accounts.discounts is not None:
            return accounts.discounts
        problems.append(_missing("discounts", "order-level discounts"))
        return None
    by_kind = accounts.revenue_by_kind.get(kind)
    if by_kind is not None:
        return by_kind
    account = accounts.revenue.get(key)
    if account is None:
        problems.append(_missing(f"revenue.{key}", f"revenue at {key} %"))
    return account


def _missing(name: str, what: str) -> Problem:
    """The error for an account the chart lacks; the code names the rate or kind in the field."""
    return Problem(
        code="ledger.account.missing",
        message=f"No ledger account for {what}: map accounts.{name} in the connection",
        field=f"accounts.{name}",
    )


def _sided(line: PostingLine, signed: Decimal, refund: bool) -> PostingLine:
    """``line`` with ``signed`` on its side: positive credits, negative debits, a refund swaps."""
    if refund:
        signed = -signed
    if signed > _ZERO:
        return line.model_copy(update={"credit": signed, "debit": _ZERO})
    return line.model_copy(update={"debit": -signed, "credit": _ZERO})
