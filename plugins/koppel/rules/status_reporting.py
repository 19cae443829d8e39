"""Order updates from Monta to IT's Perfect (OU; SPEC.md section 4, seed 000 FAQ 1 and 2).

IT's Perfect reads a shipment report as "these products were shipped" and
cancels the lines it does not list, so what Koppel leaves out of a report
matters as much as what it puts in: a warehouse split (``-1``) order is never
reported, a partial shipment lists only the shipped products, and an order
deleted in the warehouse comes back with quantity 0 on every line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from koppel.documents import OrderStatus, Problem, Severity, StatusLine, StatusUpdate

_ZERO = Decimal(0)
_SPLIT_SUFFIX = re.compile(r"^(?P<base>.+)-[1-9][0-9]*$")


@dataclass(frozen=True)
class OrderLineRef:
    """A line Koppel sent to Monta for an order, to compare Monta's update with."""

    line_id: str
    sku: str | None
    quantity: Decimal


@dataclass(frozen=True)
class StatusDecision:
    """What to report to IT's Perfect for one update from Monta, and why.

    Attributes:
        report: The update to send to IT's Perfect; None when nothing is reported.
        notes: The decisions taken, so a user can see why a line was or was not reported.
    """

    report: StatusUpdate | None
    notes: tuple[Problem, ...]


def split_base(order_id: str) -> str | None:
    """The original order id of a warehouse split ("12345-1" -> "12345"), or None.

    Monta names the order it splits off in its portal or e-check after the
    original with a ``-1`` suffix (further splits ``-2`` and so on). The suffix
    alone does not prove a split: "WEB-1" may be an order number of its own.
    The caller must therefore pass ``is_split=True`` to :func:`report_status`
    only when this returns a base AND Koppel knows the base order while it does
    not know the suffixed id itself.
    """
    match = _SPLIT_SUFFIX.match(order_id)
    return match.group("base") if match else None


def report_status(
    update: StatusUpdate, *, sent_lines: Sequence[OrderLineRef] | None, is_split: bool
) -> StatusDecision:
    """Decide what IT's Perfect is told about an order update from Monta.

    Args:
        update: The update as read from Monta.
        sent_lines: The lines Koppel sent to Monta for this order; None when the
            order is unknown to Koppel.
        is_split: True for a split order made in the warehouse (see :func:`split_base`).

    Returns:
        The report (None when nothing may be reported) and the notes.
    """
    if is_split:
        return StatusDecision(None, (_split_note(update),))
    notes: list[Problem] = []
    if sent_lines is None:
        notes.append(_unknown_order_note(update))
    if update.status in (OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED):
        report, shipped_notes = _shipped(update, sent_lines)
        return StatusDecision(report, (*notes, *shipped_notes))
    if update.status is OrderStatus.DELETED:
        report = _deleted(update, sent_lines)
        notes.append(_deleted_note(report))
        return StatusDecision(report, tuple(notes))
    notes.append(_passed_through_note(update))
    return StatusDecision(update, tuple(notes))


def _matches(line: StatusLine, ref: OrderLineRef) -> bool:
    """Lines are matched on line id when the update has one, else on SKU."""
    if line.line_id is not None:
        return line.line_id == ref.line_id
    return line.sku is not None and line.sku == ref.sku


def _describe(line_id: str | None, sku: str | None) -> str:
    parts = [f"line {line_id}" if line_id is not None else "a line"]
    if sku is not None:
        parts.append(f"(SKU {sku})")
    return " ".join(parts)


def _shipped(
    update: StatusUpdate, sent_lines: Sequence[OrderLineRef] | None
) -> tuple[StatusUpdate | None, list[Problem]]:
    """Report only the shipped products; IT's Perfect cancels the lines a report leaves out."""
    shipped = [line for line in update.lines if line.quantity_shipped > _ZERO]
    if not shipped:
        return None, [_nothing_shipped_note(update)]
    notes = _left_out_notes(update, sent_lines)
    partial = bool(notes) or any(_short(line, sent_lines) for line in shipped)
    status = OrderStatus.PARTIALLY_SHIPPED if partial else OrderStatus.SHIPPED
    report = update.model_copy(update={"status": status, "lines": shipped})
    notes.append(
        Problem(
            code="status.shipped",
            message=(
                f"order {update.order_id}: {len(shipped)} shipped lines reported to IT's Perfect"
                " as done"
            ),
            severity=Severity.INFO,
        )
    )
    return report, notes


def _left_out_notes(
    update: StatusUpdate, sent_lines: Sequence[OrderLineRef] | None
) -> list[Problem]:
    """One note per line that was not shipped: the update's own, or a sent line it lacks."""
    left_out: list[tuple[int | None, str | None, str | None]] = [
        (index, line.line_id, line.sku)
        for index, line in enumerate(update.lines)
        if line.quantity_shipped <= _ZERO
    ]
    if sent_lines is not None:
        left_out += _missing(update, sent_lines)
    return [
        Problem(
            code="status.line_left_out",
            message=(
                f"{_describe(line_id, sku)} of order {update.order_id} was not shipped and is"
                " left out of the report; IT's Perfect cancels the lines a shipment does not list"
            ),
            severity=Severity.INFO,
            field=f"lines[{index}]" if index is not None else None,
        )
        for index, line_id, sku in left_out
    ]


def _missing(
    update: StatusUpdate, sent_lines: Sequence[OrderLineRef]
) -> list[tuple[int | None, str | None, str | None]]:
    """Sent lines that the update does not mention at all."""
    return [
        (None, ref.line_id, ref.sku)
        for ref in sent_lines
        if not any(_matches(line, ref) for line in update.lines)
    ]


def _short(line: StatusLine, sent_lines: Sequence[OrderLineRef] | None) -> bool:
    """True when a line shipped less than was ordered (as Koppel sent it, else as Monta says)."""
    ordered = line.quantity_ordered
    if sent_lines is not None:
        ref = next((ref for ref in sent_lines if _matches(line, ref)), None)
        ordered = ref.quantity if ref is not None else ordered
    return ordered is not None and line.quantity_shipped < ordered


def _deleted(update: StatusUpdate, sent_lines: Sequence[OrderLineRef] | None) -> StatusUpdate:
    """The order with quantity 0 on every line Koppel sent (or Monta listed, if unknown)."""
    if sent_lines is None:
        lines = [
            line.model_copy(update={"quantity_shipped": _ZERO, "quantity_backordered": None})
            for line in update.lines
        ]
    else:
        lines = [_zero_line(update, ref) for ref in sent_lines]
    return update.model_copy(update={"lines": lines})


def _zero_line(update: StatusUpdate, ref: OrderLineRef) -> StatusLine:
    """A sent line at quantity 0, with the GTIN Monta gave for it, if any."""
    known = next((line for line in update.lines if _matches(line, ref)), None)
    return StatusLine(
        line_id=ref.line_id,
        sku=ref.sku,
        gtin=known.gtin if known is not None else None,
        quantity_ordered=ref.quantity,
        quantity_shipped=_ZERO,
    )


def _split_note(update: StatusUpdate) -> Problem:
    return Problem(
        code="status.split_not_reported",
        message=(
            f"order {update.order_id} is a split made in the warehouse (a backorder of order"
            f" {split_base(update.order_id)}); shipments of a split order are never reported"
            " to IT's Perfect"
        ),
        severity=Severity.INFO,
        field="order_id",
    )


def _unknown_order_note(update: StatusUpdate) -> Problem:
    return Problem(
        code="status.unknown_order",
        message=(
            f"order {update.order_id} was not sent to Monta by Koppel; the update is reported"
            " as Monta sent it, without checking its lines against the order"
        ),
        severity=Severity.WARNING,
        field="order_id",
    )


def _nothing_shipped_note(update: StatusUpdate) -> Problem:
    return Problem(
        code="status.nothing_shipped",
        message=(
            f"order {update.order_id} is reported {update.status.value} without any shipped"
            " quantity; nothing is reported to IT's Perfect, which would otherwise cancel"
            " every line"
        ),
        severity=Severity.WARNING,
        field="lines",
    )


def _deleted_note(report: StatusUpdate) -> Problem:
    return Problem(
        code="status.order_deleted",
        message=(
            f"order {report.order_id} was deleted in the warehouse without shipping; it is"
            f" reported to IT's Perfect with quantity 0 on all {len(report.lines)} lines"
        ),
        severity=Severity.INFO,
    )


def _passed_through_note(update: StatusUpdate) -> Problem:
    return Problem(
        code=f"status.{update.status.value}",
        message=(
            f"order {update.order_id} is {update.status.value} in the warehouse; the update is"
            " reported to IT's Perfect as Monta sent it"
        ),
        severity=Severity.INFO,
    )
