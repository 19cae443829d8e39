"""Backorder handling at import: ship only what is in stock (SPEC.md section 4, seed 000 FAQ 1).

When a connection switches the option ``backorder_handling`` on, the warehouse
never holds a backorder: lines that are not in stock are taken out of the order
before it reaches Monta, stay on backorder in IT's Perfect (which creates a new
order for them when stock arrives), and an order of which nothing can ship is
reported back to IT's Perfect as cancelled.

All of that needs the warehouse's stock. Before the first full stock update
has arrived the stock is unknown, not zero: judging orders against nothing
would cancel every one of them, so they wait instead (or, if the merchant
chose so, go to the warehouse unchecked).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from koppel.documents import (
    Order,
    OrderLine,
    OrderStatus,
    Problem,
    Severity,
    StatusLine,
    StatusUpdate,
)

_ZERO = Decimal(0)


@dataclass(frozen=True)
class BackorderDecision:
    """What backorder handling decided for one order.

    Attributes:
        to_ship: The order with only the lines that can ship, to send to the
            warehouse; None when no line can ship or the order is held.
        removed: The lines taken out, in order; they stay on backorder in IT's Perfect.
        report: What IT's Perfect must be told now: the backordered lines, or
            the whole order as cancelled; None when every line ships.
        notes: One note per decision, so a user can see why a line was not shipped.
        held: The order cannot be judged yet and waits for the next run.
    """

    to_ship: Order | None
    removed: tuple[OrderLine, ...]
    report: StatusUpdate | None
    notes: tuple[Problem, ...]
    held: bool = False


def apply_backorder_handling(order: Order, available: Mapping[str, Decimal]) -> BackorderDecision:
    """Remove the order lines that are not in stock ("niet voorradige orderlines verwijderen").

    Lines are taken in order and stock is allocated as each is kept, so two
    lines of one SKU share its stock. A line is kept only when its whole
    quantity is available: the warehouse never ships part of a line, because the
    rest would then be a backorder held in the warehouse, which is what the
    option exists to prevent.

    A line without a SKU is removed, with a warning. Its stock cannot be
    checked, and Monta identifies articles by SKU only, so sending it would
    either make the warehouse hold it or make the order undeliverable; removed,
    it stays on backorder in IT's Perfect, where the merchant can see and fix it.

    Args:
        order: The order as read from IT's Perfect.
        available: Available-to-sell quantity per SKU (warehouse stock less open
            reservations); a SKU that is missing has none.

    Returns:
        The order to ship, the removed lines, the report for IT's Perfect and the notes.
    """
    remaining = dict(available)
    kept: list[OrderLine] = []
    removed: list[OrderLine] = []
    notes: list[Problem] = []
    for index, line in enumerate(order.lines):
        note = _allocate(line, index, remaining)
        if note is None:
            kept.append(line)
        else:
            removed.append(line)
            notes.append(note)
    if not removed:
        notes.append(_all_in_stock(order))
        return BackorderDecision(order, (), None, tuple(notes))
    if not kept:
        notes.append(_cancelled_note(order))
        return BackorderDecision(None, tuple(removed), _cancelled_report(order), tuple(notes))
    to_ship = order.model_copy(update={"lines": kept})
    return BackorderDecision(
        to_ship, tuple(removed), _backorder_report(order, removed), tuple(notes)
    )


def without_stock_update(order: Order, *, source: str, pass_through: bool) -> BackorderDecision:
    """Decide an order before the first full stock update: unknown stock is not zero stock.

    Judged against an empty store, every line would be removed and the whole
    order reported to IT's Perfect as cancelled, which cannot be undone from
    here. So the order is held, and goes out on the first run after the
    warehouse's first full stock update. A merchant who would rather ship
    unchecked than wait (``pass_through``) gets the order sent unchanged, as
    without backorder handling, with a note saying its stock was not checked.

    Args:
        order: The order as read from IT's Perfect.
        source: The connection whose stock is unknown, named in the note.
        pass_through: Send the order unchanged instead of holding it.
    """
    if pass_through:
        note = Problem(
            code="stock.unknown_passed",
            message=(
                f"order {order.order_id} sent unchanged: no stock update has been received for"
                f" {source} yet, so its stock was not checked (option unknown_stock: pass)"
            ),
            severity=Severity.INFO,
        )
        return BackorderDecision(order, (), None, (note,))
    note = Problem(
        code="stock.unknown",
        message=(
            f"order {order.order_id} held: no stock update has been received for {source} yet;"
            " unknown stock is not zero stock — the order goes out once the first full stock"
            " update arrives"
        ),
        severity=Severity.WARNING,
    )
    return BackorderDecision(None, (), None, (note,), held=True)


def _allocate(line: OrderLine, index: int, remaining: dict[str, Decimal]) -> Problem | None:
    """Take the line's quantity from ``remaining``; a note saying why not when it cannot ship."""
    field = f"lines[{index}]"
    if not line.sku:
        return Problem(
            code="backorder.line_without_sku",
            message=(
                f"line {line.line_id} (quantity {line.quantity}) removed at import: it has no"
                " SKU, so its stock cannot be checked and the warehouse cannot ship it; it"
                " stays on backorder in IT's Perfect"
            ),
            severity=Severity.WARNING,
            field=field,
        )
    in_stock = max(remaining.get(line.sku, _ZERO), _ZERO)
    if line.quantity <= in_stock:
        remaining[line.sku] = in_stock - line.quantity
        return None
    return Problem(
        code="backorder.line_removed",
        message=(
            f"line {line.line_id} (SKU {line.sku}, quantity {line.quantity}) removed at"
            f" import: {in_stock} available; it stays on backorder in IT's Perfect"
        ),
        severity=Severity.INFO,
        field=field,
    )


def _all_in_stock(order: Order) -> Problem:
    return Problem(
        code="backorder.all_in_stock",
        message=f"all {len(order.lines)} lines of order {order.order_id} are in stock",
        severity=Severity.INFO,
    )


def _cancelled_note(order: Order) -> Problem:
    return Problem(
        code="backorder.order_cancelled",
        message=(
            f"none of the lines of order {order.order_id} can be shipped: the whole order is"
            " reported back to IT's Perfect as cancelled"
        ),
        severity=Severity.INFO,
    )


def _cancelled_report(order: Order) -> StatusUpdate:
    """The whole order back to IT's Perfect as cancelled: every line with quantity 0."""
    return StatusUpdate(
        order_id=order.order_id,
        status=OrderStatus.CANCELLED,
        lines=[_unshipped(line, backordered=False) for line in order.lines],
        reason="none of the lines were in stock at import, so the order was cancelled",
    )


def _backorder_report(order: Order, removed: list[OrderLine]) -> StatusUpdate:
    """The removed lines, on backorder in IT's Perfect until stock arrives."""
    return StatusUpdate(
        order_id=order.order_id,
        status=OrderStatus.BACKORDERED,
        lines=[_unshipped(line, backordered=True) for line in removed],
        reason=(
            f"{len(removed)} of {len(order.lines)} lines were not in stock at import and were"
            " removed from the warehouse order; they stay on backorder in IT's Perfect"
        ),
    )


def _unshipped(line: OrderLine, *, backordered: bool) -> StatusLine:
    """A line reported with nothing shipped; backordered lines say how many stay open."""
    return StatusLine(
        line_id=line.line_id,
        sku=line.sku,
        gtin=line.gtin,
        quantity_ordered=line.quantity,
        quantity_shipped=_ZERO,
        quantity_backordered=line.quantity if backordered else None,
    )
