"""Check 8 of an SCSN order import: the message conforms to the SCSN standard (SPEC.md section 5).

The XSD (UBL 2.1 Order-2, in the ``scsn.order`` format) has already checked
the structure when the order is read; these are the rules it cannot express:
what SCSN makes mandatory beyond UBL, and its business rules. Every rule runs
and every finding is an error (the order is not created), pointing at the
canonical field at fault, so that the inbox shows the whole list at once.
What each rule is based on (the SCSN business rule, the ERP's documented
check, or our own reading where the public pages are silent) is written down
in ``docs/formats/scsn.md``. Pure: no database, no Airflow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from koppel.documents import Order, OrderLine, Party, Problem, Severity

#: The identifier scheme of an SCSN id, as the ``scsn.order`` format records it.
SCSN_SCHEME = "SCSN"

_PREFIX = "scsn.conformance"


def _problem(rule: str, message: str, field: str) -> Problem:
    return Problem(code=f"{_PREFIX}.{rule}", message=message, severity=Severity.ERROR, field=field)


def _party_problems(party: Party | None, role: str) -> Iterator[Problem]:
    """The party must be there and carry an SCSN id: the ERP finds the customer by it."""
    if party is None:
        yield _problem(f"{role}_missing", f"the order names no {role} party", role)
    elif not party.identifier(SCSN_SCHEME):
        yield _problem(
            f"{role}_id",
            f"the {role} party ({party.name or 'no name'}) has no SCSN id",
            f"{role}.identifiers",
        )


def _line_problems(index: int, line: OrderLine) -> Iterator[Problem]:
    """What one line needs on its own: an article, a positive quantity, one delivery location."""
    where = f"lines[{index}]"
    if not line.supplier_article_code and not line.customer_article_code:
        yield _problem(
            "line_article",
            f"line {line.line_id} names no article (supplier or customer article code)",
            f"{where}.supplier_article_code",
        )
    if line.quantity <= 0:
        yield _problem(
            "line_quantity",
            f"line {line.line_id} orders {line.quantity}; the quantity must be positive",
            f"{where}.quantity",
        )
    # A location is known by its id; one stated by address only, by its address.
    locations = {
        delivery.location_id or (delivery.address and delivery.address.model_dump_json())
        for delivery in line.deliveries
    } - {None}
    if len(locations) > 1:
        yield _problem(
            "line_delivery_location",
            f"line {line.line_id} is delivered to {len(locations)} locations; "
            "all deliveries of one line must go to the same location",
            f"{where}.deliveries",
        )


def _lines_problems(order: Order) -> Iterator[Problem]:
    """At least one line; each id unique (every repeat reported); each line sound on its own."""
    if not order.lines:
        yield _problem("no_lines", "the order has no lines", "lines")
        return
    seen: Counter[str] = Counter()
    for index, line in enumerate(order.lines):
        seen[line.line_id] += 1
        if seen[line.line_id] > 1:
            yield _problem(
                "line_id_duplicate",
                f"line id {line.line_id} is used more than once in the order",
                f"lines[{index}].line_id",
            )
        yield from _line_problems(index, line)


def _order_id_problems(order: Order) -> Iterator[Problem]:
    """The order reference is half of the key the duplicate check (check 2) looks up."""
    if not order.order_id.strip():
        yield _problem("order_id", "the order has no order reference", "order_id")


_RULES: tuple[Callable[[Order], Iterator[Problem]], ...] = (
    _order_id_problems,
    lambda order: _party_problems(order.buyer, "buyer"),
    lambda order: _party_problems(order.seller, "seller"),
    _lines_problems,
)


def conformance_problems(order: Order) -> list[Problem]:
    """Every SCSN conformance error of ``order``, in field order; empty when it conforms.

    Codes are ``scsn.conformance.<rule>``: ``order_id``, ``buyer_missing``,
    ``buyer_id``, ``seller_missing``, ``seller_id``, ``no_lines``,
    ``line_id_duplicate``, ``line_article``, ``line_quantity`` and
    ``line_delivery_location``.
    """
    return [problem for rule in _RULES for problem in rule(order)]
