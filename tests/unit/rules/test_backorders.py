"""Backorder handling at import, one case per sentence of SPEC.md section 4 and seed 000 FAQ 1."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from koppel.documents import (
    Order,
    OrderLine,
    OrderStatus,
    Problem,
    Severity,
    StatusLine,
    StatusUpdate,
)
from koppel.rules import apply_backorder_handling
from koppel.rules.backorders import without_stock_update

TOP = "JL-TOP-001-WHT-S"
DRESS = "JL-DRESS-001-BLK-M"
SCARF = "JL-SCARF-002"

INFO = Severity.INFO
WARNING = Severity.WARNING


def line(line_id: str, sku: str | None, quantity: str) -> OrderLine:
    return OrderLine(
        line_id=line_id,
        sku=sku,
        gtin=f"87{line_id:0>11}",
        quantity=Decimal(quantity),
        unit_price=Decimal("49.95"),
    )


def order(*lines: OrderLine) -> Order:
    return Order(order_id="JL-10023", lines=list(lines))


THREE_LINES = order(line("1", TOP, "2"), line("2", DRESS, "3"), line("3", SCARF, "1"))


def backordered(*lines: OrderLine, of: int) -> StatusUpdate:
    return StatusUpdate(
        order_id="JL-10023",
        status=OrderStatus.BACKORDERED,
        lines=[
            StatusLine(
                line_id=ln.line_id,
                sku=ln.sku,
                gtin=ln.gtin,
                quantity_ordered=ln.quantity,
                quantity_shipped=Decimal(0),
                quantity_backordered=ln.quantity,
            )
            for ln in lines
        ],
        reason=(
            f"{len(lines)} of {of} lines were not in stock at import and were removed from"
            " the warehouse order; they stay on backorder in IT's Perfect"
        ),
    )


def cancelled(source: Order) -> StatusUpdate:
    return StatusUpdate(
        order_id=source.order_id,
        status=OrderStatus.CANCELLED,
        lines=[
            StatusLine(
                line_id=ln.line_id,
                sku=ln.sku,
                gtin=ln.gtin,
                quantity_ordered=ln.quantity,
                quantity_shipped=Decimal(0),
            )
            for ln in source.lines
        ],
        reason="none of the lines were in stock at import, so the order was cancelled",
    )


@dataclass(frozen=True)
class Case:
    """One sentence: the order, the stock, and what must be shipped, reported and noted."""

    order: Order
    available: dict[str, Decimal]
    shipped_lines: tuple[str, ...] | None
    """Line ids of the order sent to the warehouse; None when nothing ships."""
    report: StatusUpdate | None
    notes: tuple[tuple[str, Severity, str | None], ...]
    removed: tuple[str, ...] = field(default=())


def stock(**quantities: str) -> dict[str, Decimal]:
    names = {"top": TOP, "dress": DRESS, "scarf": SCARF}
    return {names[name]: Decimal(q) for name, q in quantities.items()}


CASES = {
    "order lines that are not in stock are removed from the order when it is imported": Case(
        order=THREE_LINES,
        available=stock(top="5", dress="1", scarf="1"),
        shipped_lines=("1", "3"),
        removed=("2",),
        report=backordered(THREE_LINES.lines[1], of=3),
        notes=(("backorder.line_removed", INFO, "lines[1]"),),
    ),
    "the removed lines stay on backorder in IT's Perfect": Case(
        order=THREE_LINES,
        available=stock(top="5"),
        shipped_lines=("1",),
        removed=("2", "3"),
        report=backordered(THREE_LINES.lines[1], THREE_LINES.lines[2], of=3),
        notes=(
            ("backorder.line_removed", INFO, "lines[1]"),
            ("backorder.line_removed", INFO, "lines[2]"),
        ),
    ),
    "if at import none of the lines can be shipped, the whole order is reported cancelled": Case(
        order=THREE_LINES,
        available=stock(top="1", dress="2", scarf="0"),
        shipped_lines=None,
        removed=("1", "2", "3"),
        report=cancelled(THREE_LINES),
        notes=(
            ("backorder.line_removed", INFO, "lines[0]"),
            ("backorder.line_removed", INFO, "lines[1]"),
            ("backorder.line_removed", INFO, "lines[2]"),
            ("backorder.order_cancelled", INFO, None),
        ),
    ),
    "an order whose lines are all in stock ships unchanged and is not reported": Case(
        order=THREE_LINES,
        available=stock(top="2", dress="3", scarf="10"),
        shipped_lines=("1", "2", "3"),
        report=None,
        notes=(("backorder.all_in_stock", INFO, None),),
    ),
    "a line is kept only when its whole quantity is available (no partial lines)": Case(
        order=order(line("1", DRESS, "3")),
        available=stock(dress="2.999"),
        shipped_lines=None,
        removed=("1",),
        report=cancelled(order(line("1", DRESS, "3"))),
        notes=(
            ("backorder.line_removed", INFO, "lines[0]"),
            ("backorder.order_cancelled", INFO, None),
        ),
    ),
    "two lines of the same SKU share the stock": Case(
        order=order(line("1", DRESS, "2"), line("2", DRESS, "2"), line("3", TOP, "1")),
        available=stock(dress="3", top="1"),
        shipped_lines=("1", "3"),
        removed=("2",),
        report=backordered(line("2", DRESS, "2"), of=3),
        notes=(("backorder.line_removed", INFO, "lines[1]"),),
    ),
    "stock is allocated only to kept lines: a removed line leaves it for the next": Case(
        order=order(line("1", DRESS, "5"), line("2", DRESS, "2")),
        available=stock(dress="3"),
        shipped_lines=("2",),
        removed=("1",),
        report=backordered(line("1", DRESS, "5"), of=2),
        notes=(("backorder.line_removed", INFO, "lines[0]"),),
    ),
    "a SKU the stock does not list has none available": Case(
        order=order(line("1", TOP, "1"), line("2", "JL-UNKNOWN", "1")),
        available=stock(top="1"),
        shipped_lines=("1",),
        removed=("2",),
        report=backordered(line("2", "JL-UNKNOWN", "1"), of=2),
        notes=(("backorder.line_removed", INFO, "lines[1]"),),
    ),
    "negative stock (more reserved than on hand) counts as none": Case(
        order=order(line("1", TOP, "1"), line("2", DRESS, "1")),
        available=stock(top="1", dress="-4"),
        shipped_lines=("1",),
        removed=("2",),
        report=backordered(line("2", DRESS, "1"), of=2),
        notes=(("backorder.line_removed", INFO, "lines[1]"),),
    ),
    "a line without a SKU cannot be checked against stock and is removed with a warning": Case(
        order=order(line("1", TOP, "1"), line("2", None, "1")),
        available=stock(top="1"),
        shipped_lines=("1",),
        removed=("2",),
        report=backordered(line("2", None, "1"), of=2),
        notes=(("backorder.line_without_sku", WARNING, "lines[1]"),),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_backorder_handling(case: Case) -> None:
    decision = apply_backorder_handling(case.order, case.available)

    if case.shipped_lines is None:
        assert decision.to_ship is None
    else:
        assert decision.to_ship is not None
        expected = [ln for ln in case.order.lines if ln.line_id in case.shipped_lines]
        assert decision.to_ship == case.order.model_copy(update={"lines": expected})
    assert [ln.line_id for ln in decision.removed] == list(case.removed)
    assert decision.report == case.report
    assert [(n.code, n.severity, n.field) for n in decision.notes] == list(case.notes)


def test_removed_line_note_tells_why_the_line_was_not_shipped() -> None:
    decision = apply_backorder_handling(THREE_LINES, stock(top="5", dress="1", scarf="1"))

    assert decision.notes == (
        Problem(
            code="backorder.line_removed",
            message=(
                "line 2 (SKU JL-DRESS-001-BLK-M, quantity 3) removed at import: 1 available;"
                " it stays on backorder in IT's Perfect"
            ),
            severity=Severity.INFO,
            field="lines[1]",
        ),
    )


def test_cancelled_order_note_says_the_whole_order_goes_back_cancelled() -> None:
    decision = apply_backorder_handling(order(line("1", None, "1")), {})

    assert decision.notes == (
        Problem(
            code="backorder.line_without_sku",
            message=(
                "line 1 (quantity 1) removed at import: it has no SKU, so its stock cannot be"
                " checked and the warehouse cannot ship it; it stays on backorder in IT's Perfect"
            ),
            severity=Severity.WARNING,
            field="lines[0]",
        ),
        Problem(
            code="backorder.order_cancelled",
            message=(
                "none of the lines of order JL-10023 can be shipped: the whole order is"
                " reported back to IT's Perfect as cancelled"
            ),
            severity=Severity.INFO,
        ),
    )


def test_the_order_read_from_its_perfect_is_not_changed() -> None:
    before = THREE_LINES.model_copy(deep=True)

    apply_backorder_handling(THREE_LINES, stock(top="5"))

    assert before == THREE_LINES


# -- before the first full stock update: unknown stock is not zero stock -----------------------


def test_without_a_stock_update_the_order_is_held_not_cancelled() -> None:
    decision = without_stock_update(THREE_LINES, source="itsperfect_acme", pass_through=False)

    assert decision.held
    assert decision.to_ship is None
    assert decision.report is None  # nothing goes back to IT's Perfect: no cancellation
    assert decision.removed == ()
    assert decision.notes == (
        Problem(
            code="stock.unknown",
            message=(
                "order JL-10023 held: no stock update has been received for itsperfect_acme"
                " yet; unknown stock is not zero stock — the order goes out once the first"
                " full stock update arrives"
            ),
            severity=Severity.WARNING,
        ),
    )


def test_without_a_stock_update_pass_through_sends_the_order_unchanged_with_a_note() -> None:
    decision = without_stock_update(THREE_LINES, source="itsperfect_acme", pass_through=True)

    assert not decision.held
    assert decision.to_ship == THREE_LINES
    assert decision.report is None
    assert [(n.code, n.severity) for n in decision.notes] == [("stock.unknown_passed", INFO)]
    assert "its stock was not checked (option unknown_stock: pass)" in decision.notes[0].message


def test_an_order_judged_against_stock_is_never_held() -> None:
    assert not apply_backorder_handling(THREE_LINES, {}).held
