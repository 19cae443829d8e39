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
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from koppel.documents import (
    CanonicalModel,
    DocumentType,
    MutationLevel,
    Order,
    Problem,
    Severity,
)
from koppel.rules.financial_mutation import LedgerAccounts, post_order

#: The option value that posts the order instead of handing it over as a document.
FINANCIAL_MUTATION = "financial_mutation"


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
    return DocumentDecision(order.model_copy(update={"document_type": kind}))


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
    lines = [line.model_copy(update={"sku": None}) for line in order.lines]
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
