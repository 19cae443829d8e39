"""A Peppol BIS 3 order into a supplier's ERP, and the order response that answers it (issue 11).

The second seed 003 template: a supplier on the same store ERP schema receives
Peppol BIS 3 orders (T01). Each becomes a sales order priced by the normal
price lookup (:func:`koppel.rules.internal_pricing.price_order` with internal
orders off: a Peppol order is never an internal one), and is answered with a
T76 order response:

* rejected — the buyer is no customer, or a line's item is unknown (or has no
  price at the supplier): the document is rejected with every reason as a
  note (a line's reason names its line; a differing price is named too, as
  the price that applies, unless the buyer is no customer and so has no
  price of its own);
* accepted with changes — a line's price in the message differs from the
  supplier's (compared to the currency's minor unit): the line is accepted at
  the supplier's price (line status changed), with a note naming both;
* accepted otherwise.

T76 shapes the answer: an accepted or rejected response carries no lines
(PEPPOL-T76-R008, R009), one accepted with changes at least one (R007), and
each line an item name (B05701). So only a response accepted with changes
has lines, and then all of them, each accepted or changed, so the buyer sees
every line's price and quantity; the line's item name is the supplier's
line description as priced (the order's, else the supplier's product
name), else the product code.

The supplier's own affairs (a product without a cost price) are warnings for
the user, not reasons for the buyer, so they do not change the answer. A
quantity the supplier cannot deliver would also be "accepted with changes",
but the master data carries no stock, so this is not decided here.

The message's price compared is the line's unit price (Peppol ``PriceAmount``,
the net item price); a line without one is accepted at the supplier's price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from koppel.documents import (
    Order,
    OrderLine,
    OrderResponse,
    OrderResponseLine,
    Problem,
    ResponseCode,
    ResponseNote,
    Severity,
    StoreSalesOrder,
    StoreSalesOrderLine,
    has_errors,
)
from koppel.rules.internal_pricing import currency_decimals, price_order
from koppel.rules.store_master_data import SalesMasterData

ERROR = Severity.ERROR
WARNING = Severity.WARNING

#: Problem code of a line accepted at the supplier's price instead of the message's.
PRICE_CHANGED = "peppol_ordering.price.changed"


@dataclass(frozen=True)
class PeppolImportDecision:
    """What importing one Peppol order decided.

    Attributes:
        sales_order: The sales order to create; None when the order is rejected.
        response: The order response for the buyer, always.
        problems: The pricing's problems and decisions, plus the price changes.
    """

    sales_order: StoreSalesOrder | None
    response: OrderResponse
    problems: list[Problem]


def import_peppol_order(
    order: Order, data: SalesMasterData, *, response_id: str, today: date
) -> PeppolImportDecision:
    """Price a Peppol order as a sales order and decide the order response.

    Args:
        order: The order as read from the (valid) Peppol BIS 3 message.
        data: The supplier's master data for it, read just now.
        response_id: The response's id, unique per order message answered.
        today: The response's issue date.
    """
    priced = price_order(order, data, allow_internal=False)
    problems = list(priced.problems)
    rejected = has_errors(problems)
    if data.customer is not None:  # else no price is the buyer's: nothing to compare
        for index, (line, taken) in enumerate(zip(order.lines, priced.lines, strict=True)):
            if taken is not None:
                problems.extend(_price_change(order, index, line, taken, accepted=not rejected))
    sales_order = None if rejected else priced.sales_order
    for_buyer = [p for p in problems if _for_buyer(p)]
    code = _code(for_buyer)
    by_line: dict[int, list[Problem]] = {}
    document: list[Problem] = []
    for problem in for_buyer:
        at = _line_index(problem)
        if code is ResponseCode.REJECTED or at is None or at >= len(order.lines):
            document.append(problem)
        else:
            by_line.setdefault(at, []).append(problem)
    lines = []
    if code is ResponseCode.ACCEPTED_WITH_CHANGES:
        for index, (line, taken) in enumerate(zip(order.lines, priced.lines, strict=True)):
            assert taken is not None  # accepted: every line was priced
            lines.append(_response_line(line, taken, by_line.get(index, [])))
    response = OrderResponse(
        response_id=response_id,
        order_id=order.order_id,
        issue_date=today,
        response=code,
        currency=order.currency,
        buyer=order.buyer,
        seller=order.seller,
        notes=[_note(p) for p in document],
        lines=lines,
    )
    return PeppolImportDecision(sales_order, response, problems)


def _price_change(
    order: Order, index: int, line: OrderLine, taken: StoreSalesOrderLine, *, accepted: bool
) -> list[Problem]:
    """A warning when the message's price differs from the supplier's, which is taken.

    In a rejection it is given too, so the buyer mends both in one new order,
    but it says the supplier's price applies: no line of a rejection is accepted.
    """
    if line.unit_price is None:
        return []
    exponent = Decimal(1).scaleb(-currency_decimals(order.currency))
    stated = line.unit_price.quantize(exponent, rounding=ROUND_HALF_UP)
    ours = taken.sales_price.quantize(exponent, rounding=ROUND_HALF_UP)
    if stated == ours:
        return []
    return [
        Problem(
            code=PRICE_CHANGED,
            message=(
                f"line {line.line_id}: the order's price {line.unit_price} {order.currency}"
                f" differs from the supplier's {taken.sales_price} {order.currency}"
                f" ({taken.price_source.value.replace('_', ' ')}): "
                + (
                    "accepted at the supplier's price"
                    if accepted
                    else "the supplier's price applies"
                )
            ),
            severity=WARNING,
            field=f"lines[{index}].unit_price",
        )
    ]


def _for_buyer(problem: Problem) -> bool:
    """Errors and the price changes are reasons for the buyer; the rest is the supplier's."""
    return problem.severity is ERROR or problem.code == PRICE_CHANGED


def _code(problems: list[Problem]) -> ResponseCode:
    if has_errors(problems):
        return ResponseCode.REJECTED
    if problems:
        return ResponseCode.ACCEPTED_WITH_CHANGES
    return ResponseCode.ACCEPTED


def _line_index(problem: Problem) -> int | None:
    field = problem.field or ""
    if not field.startswith("lines["):
        return None
    return int(field[len("lines[") : field.index("]")])


def _note(problem: Problem) -> ResponseNote:
    return ResponseNote(code=problem.code, severity=problem.severity.value, message=problem.message)


def _response_line(
    line: OrderLine, taken: StoreSalesOrderLine, problems: list[Problem]
) -> OrderResponseLine:
    """A line's answer: the product, the quantity, the price it is taken at, its reasons."""
    return OrderResponseLine(
        line_id=line.line_id,
        response=_code(problems),
        supplier_article_code=taken.product_code,
        customer_article_code=line.customer_article_code,
        gtin=line.gtin,
        gtin_scheme=line.gtin_scheme,
        item_name=taken.description or taken.product_code,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=taken.sales_price,
        notes=[_note(p) for p in problems],
    )
