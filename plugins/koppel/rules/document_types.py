"""Seed 001: an order handed to the target as the document type the connection chose.

"Binnen APIcenter bepalen we in welke fase we onze bestelgegevens willen
toevoegen": quote, order, invoice, direct invoice, sales invoice or financial
mutation (SPEC.md section 3). For every type with articles the seed says
"Als een product niet bestaat, gooien we een fout in het validatieproces": each
line's product must already exist in the target. Such an order is an error
that a fix in master data can cure (the products flow brings the article), so
it is not thrown away: it waits, and is tried again on every run. A sales
invoice and a financial mutation need no articles ("we maken een regel zonder
artikel / sku erop"). A financial mutation is the order posted to the ledger
at the connection's level (:mod:`koppel.rules.financial_mutation`).

Prices: every document gets the price a piece is sold at, after the line's
discounts (:func:`discounted_prices`); an order, which IPSoft's CreateOrder
takes in net prices excluding VAT only, is made net first (:func:`net_prices`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from koppel.documents import (
    CanonicalModel,
    CostLine,
    DocumentType,
    MutationLevel,
    Order,
    OrderLine,
    Problem,
    Severity,
)
from koppel.rules.financial_mutation import LedgerAccounts, line_amount, post_order
from koppel.rules.money import quantize

#: The option value that posts the order instead of handing it over as a document.
FINANCIAL_MUTATION = "financial_mutation"
#: Decimals of a unit price that cannot be exact in the currency's minor unit
#: (0.83 over 3 pieces is 0.2767): the line's own amount then states the total.
UNIT_PRICE_DECIMALS = 4
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class DocumentDecision:
    """What becomes of one order.

    Attributes:
        document: what the target gets (the order as its type, or its posting);
            None when it cannot go now.
        problems: why not, and what was changed on the way.
        hold: the order waits for master data (an unknown product) and is tried
            again on the next run; otherwise a missing document means rejected.
    """

    document: CanonicalModel | None
    problems: list[Problem] = field(default_factory=list)
    hold: bool = False


def needs_articles(document_type: str) -> bool:
    """Whether every line of this type must name a product the target knows."""
    return document_type != FINANCIAL_MUTATION and DocumentType(document_type).needs_articles


def prepare_document(
    order: Order,
    document_type: str,
    *,
    known_skus: Collection[str] = (),
    level: MutationLevel = MutationLevel.RECOMMENDED,
    accounts: LedgerAccounts | None = None,
    target: str = "the target",
) -> DocumentDecision:
    """The document the target gets for ``order`` as ``document_type``.

    Args:
        known_skus: the SKUs the target knows, of those the order names (only
            read for types with articles).
        level: a financial mutation's level of detail.
        accounts: the connection's ledger accounts (a financial mutation needs them).
        target: the target system's name, for the messages a user reads.
    """
    if document_type == FINANCIAL_MUTATION:
        return _posting(order, level, accounts)
    kind = DocumentType(document_type)
    if not kind.needs_articles:
        return _without_articles(order, kind)
    problems = _article_problems(order, kind, known_skus, target)
    if problems:
        unknown = [p for p in problems if p.code == "product.unknown"]
        return DocumentDecision(None, problems, hold=len(unknown) == len(problems))
    if kind is DocumentType.ORDER:
        return _net_order(order)
    return DocumentDecision(discounted_prices(order).model_copy(update={"document_type": kind}))


def discounted_prices(order: Order) -> Order:
    """``order`` with every discounted line's unit price the price it is sold at.

    A target that keeps a price per piece and a line amount (IPSoft's quotes and
    invoices) must get the price after the line's discounts, or it shows 2 x 29.95
    for a line of 54.90. The amounts keep the order's tax basis (its
    ``prices_include_tax`` says which). A line without discounts is left as it is:
    its price is the shop's, even when the shop rounded the line's amount (3 x 0.333
    is 1.00). The line's discounts are then in its price, so they are dropped.
    """
    lines = []
    for line in order.lines:
        total = _line_total(line, order.currency)
        if not line.discounts or total is None or not line.quantity:
            lines.append(line)
            continue
        price = per_piece(total, line.quantity, order.currency)
        lines.append(
            line.model_copy(update={"unit_price": price, "line_amount": total, "discounts": []})
        )
    return order.model_copy(update={"lines": lines})


def net_prices(order: Order) -> tuple[Order, list[Problem]]:
    """``order`` in amounts excluding tax, after line discounts, for a target that takes no other.

    IPSoft's CreateOrder states "net price per piece, excluding VAT": each line's
    ``line_amount`` becomes its amount after discounts excluding tax, and its
    ``unit_price`` that amount per piece (see :func:`per_piece`); each cost line
    its amount excluding tax. When prices include tax, a line's or cost's net
    amount is its gross amount divided by 1 + rate, rounded half up to the
    currency's minor unit, once per line. The stated ``tax_totals`` and
    ``total_amount`` stay as the source invoiced them. A line or cost without a
    tax rate in an order with prices including tax cannot be made net: an error.
    """
    cur = order.currency
    inclusive = order.prices_include_tax
    problems: list[Problem] = []
    lines: list[OrderLine] = []
    for index, line in enumerate(order.lines):
        total = _line_total(line, cur)
        if total is None:
            problems.append(
                Problem(
                    code="price.missing",
                    message=f"line {line.line_id} has neither an amount nor a unit price",
                    field=f"lines[{index}].unit_price",
                )
            )
            continue
        if (not inclusive and not line.discounts and line.unit_price is not None) or (
            not line.quantity  # no price per piece; IPSoft's XSD refuses the line anyway
        ):
            lines.append(line.model_copy(update={"line_amount": total}))
            continue
        net = _net(total, line.tax_rate, inclusive, cur)
        if net is None:
            problems.append(_no_rate(f"line {line.line_id}", f"lines[{index}].tax_rate"))
            continue
        price = per_piece(net, line.quantity, cur)
        lines.append(
            line.model_copy(update={"unit_price": price, "line_amount": net, "discounts": []})
        )
    costs: list[CostLine] = []
    for index, cost in enumerate(order.costs):
        amount = _net(cost.amount, cost.tax_rate, inclusive, cur)
        if amount is None:
            label = cost.description or cost.kind.value
            problems.append(_no_rate(label, f"costs[{index}].tax_rate"))
            continue
        costs.append(cost.model_copy(update={"amount": amount}))
    update = {"lines": lines, "costs": costs, "prices_include_tax": False}
    return order.model_copy(update=update), problems


def per_piece(amount: Decimal, quantity: Decimal, currency: str) -> Decimal:
    """``amount`` per piece: in the currency's minor unit when that is exact, else 4 decimals.

    54.90 over 2 is 27.45, and 2 x 27.45 is the line again. 0.83 over 3 has no
    exact price: it is 0.2767 (half up, :data:`UNIT_PRICE_DECIMALS`), and the line
    amount, stated beside it, is what counts.
    """
    exact = quantize(amount / quantity, currency)
    if exact * quantity == amount:
        return exact
    step = Decimal(1).scaleb(-UNIT_PRICE_DECIMALS)
    return (amount / quantity).quantize(step, rounding=ROUND_HALF_UP)


def _line_total(line: OrderLine, currency: str) -> Decimal | None:
    """The line's amount after its discounts, in the order's tax basis: the source's when stated.

    Computed (quantity x price less each discount, rounded to the currency once)
    only when the source states none.
    """
    amount = line_amount(line)
    if amount is None or line.line_amount is not None or not line.discounts:
        return amount
    return quantize(amount, currency)


def _net(amount: Decimal, rate: Decimal | None, inclusive: bool, currency: str) -> Decimal | None:
    """``amount`` excluding tax; None when it includes tax at a rate the source did not state."""
    if not inclusive:
        return amount
    if rate is None:
        return None
    return quantize(amount * _HUNDRED / (_HUNDRED + rate), currency)


def _no_rate(what: str, where: str) -> Problem:
    return Problem(
        code="price.tax_rate.missing",
        message=f"{what}: the price includes tax at no stated rate, so the price excluding"
        " tax the target needs cannot be computed",
        field=where,
    )


def _net_order(order: Order) -> DocumentDecision:
    """An order for a target that takes amounts excluding tax only (IPSoft's CreateOrder)."""
    net, problems = net_prices(order)
    if problems:
        return DocumentDecision(None, problems)
    return DocumentDecision(net.model_copy(update={"document_type": DocumentType.ORDER}))


def _article_problems(
    order: Order, kind: DocumentType, known_skus: Collection[str], target: str
) -> list[Problem]:
    """An error per line without a product or with one the target does not know."""
    problems: list[Problem] = []
    for index, line in enumerate(order.lines):
        where = f"lines[{index}].sku"
        if not line.sku:
            problems.append(
                Problem(
                    code="product.missing",
                    message=f"line {line.line_id} names no product: a {_name(kind)} needs an"
                    " article on every line",
                    field=where,
                )
            )
        elif line.sku not in known_skus:
            problems.append(
                Problem(
                    code="product.unknown",
                    message=f"line {line.line_id}: product {line.sku} does not exist in"
                    f" {target}; the {_name(kind)} waits and is tried again on every run until"
                    " the product is created there (by the products flow or a user)",
                    field=where,
                )
            )
    if not order.lines:
        problems.append(Problem(code="document.no_lines", message="the order has no lines"))
    return problems


def _name(kind: DocumentType) -> str:
    return kind.value.replace("_", " ")


def _without_articles(order: Order, kind: DocumentType) -> DocumentDecision:
    """A sales invoice: every line is booked on the target's defaults, without a product."""
    dropped = [line.line_id for line in order.lines if line.sku]
    lines = [line.model_copy(update={"sku": None}) for line in discounted_prices(order).lines]
    notes = []
    if dropped:
        notes.append(
            Problem(
                code="sales_invoice.article_dropped",
                severity=Severity.INFO,
                message=f"line(s) {', '.join(dropped)}: the product is left off; a sales invoice"
                " books its lines on the customer's defaults",
                field="lines",
            )
        )
    document = order.model_copy(update={"document_type": kind, "lines": lines})
    return DocumentDecision(document, notes)


def _posting(
    order: Order, level: MutationLevel, accounts: LedgerAccounts | None
) -> DocumentDecision:
    if accounts is None:
        problem = Problem(
            code="ledger.account.missing",
            message="the connection maps no ledger accounts (ledger_accounts)",
            field="ledger_accounts",
        )
        return DocumentDecision(None, [problem])
    decision = post_order(order, level, accounts)
    mutation = decision.mutation
    if mutation is not None and not mutation.lines:
        # Every amount is zero (a free sample, 1 x 0.001): an entry without lines is no
        # booking, and a ledger would refuse it. Nothing goes out, and the note says why.
        nothing = Problem(
            code="ledger.nothing_to_post",
            severity=Severity.INFO,
            message=f"order {order.order_id} totals 0 {order.currency}: there is nothing to post",
        )
        return DocumentDecision(None, [*decision.problems, nothing])
    return DocumentDecision(mutation, list(decision.problems))
