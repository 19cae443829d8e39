"""Order updates from Monta to IT's Perfect, one case per sentence of SPEC.md 4 and seed 000 FAQ."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from koppel.documents import OrderStatus, Problem, Severity, Shipment, StatusLine, StatusUpdate
from koppel.rules import OrderLineRef, report_status, split_base

TOP = "JL-TOP-001-WHT-S"
DRESS = "JL-DRESS-001-BLK-M"
SCARF = "JL-SCARF-002"

INFO = Severity.INFO
WARNING = Severity.WARNING

SENT = (
    OrderLineRef(line_id="1", sku=TOP, quantity=Decimal(2)),
    OrderLineRef(line_id="2", sku=DRESS, quantity=Decimal(3)),
    OrderLineRef(line_id="3", sku=SCARF, quantity=Decimal(1)),
)

PARCEL = Shipment(
    carrier="PostNL",
    tracking_code="3SJLUX0012345",
    tracking_url="https://postnl.nl/tracktrace/3SJLUX0012345",
    shipped_at=datetime(2024, 3, 4, 15, 30, tzinfo=UTC),
)


def shipped(line_id: str | None, sku: str, quantity: str, ordered: str | None = None) -> StatusLine:
    return StatusLine(
        line_id=line_id,
        sku=sku,
        gtin=f"87{sku[-3:]:0>11}",
        quantity_ordered=Decimal(ordered) if ordered is not None else None,
        quantity_shipped=Decimal(quantity),
    )


def zero(line_id: str, sku: str, ordered: str, gtin: str | None = None) -> StatusLine:
    return StatusLine(
        line_id=line_id,
        sku=sku,
        gtin=gtin,
        quantity_ordered=Decimal(ordered),
        quantity_shipped=Decimal(0),
    )


def update(
    status: OrderStatus, *lines: StatusLine, order_id: str = "JL-10023", reason: str | None = None
) -> StatusUpdate:
    return StatusUpdate(
        order_id=order_id, status=status, lines=list(lines), shipments=[PARCEL], reason=reason
    )


@dataclass(frozen=True)
class Case:
    """One sentence: Monta's update, what Koppel knows, and what IT's Perfect must be told."""

    update: StatusUpdate
    sent_lines: tuple[OrderLineRef, ...] | None
    is_split: bool
    report: StatusUpdate | None
    notes: tuple[tuple[str, Severity, str | None], ...]


ALL_SHIPPED = update(
    OrderStatus.SHIPPED, shipped("1", TOP, "2"), shipped("2", DRESS, "3"), shipped("3", SCARF, "1")
)
PART_SHIPPED = update(
    OrderStatus.SHIPPED, shipped("1", TOP, "2"), shipped("2", DRESS, "0"), shipped("3", SCARF, "1")
)
ORIGINAL_AFTER_SPLIT = update(OrderStatus.SHIPPED, shipped("1", TOP, "2"), shipped("3", SCARF, "1"))
BY_SKU = update(OrderStatus.SHIPPED, shipped(None, DRESS, "3"), shipped(None, TOP, "2"))
DELETED_WITH_GTIN = update(OrderStatus.DELETED, shipped("2", DRESS, "0"))
MONTA_CANCELLED = update(OrderStatus.CANCELLED, zero("1", TOP, "2"), reason="customer cancelled")
MONTA_BACKORDERED = update(OrderStatus.BACKORDERED, shipped("2", DRESS, "0", ordered="3"))

CASES = {
    "after shipping, the shipped lines are reported to IT's Perfect as done": Case(
        update=ALL_SHIPPED,
        sent_lines=SENT,
        is_split=False,
        report=ALL_SHIPPED,
        notes=(("status.shipped", INFO, None),),
    ),
    "shipments of a -1 order are never reported back to IT's Perfect": Case(
        update=update(OrderStatus.SHIPPED, shipped("2", DRESS, "3"), order_id="JL-10023-1"),
        sent_lines=None,
        is_split=True,
        report=None,
        notes=(("status.split_not_reported", INFO, "order_id"),),
    ),
    "a -1 order deleted in the warehouse is not reported either": Case(
        update=update(OrderStatus.DELETED, order_id="JL-10023-1"),
        sent_lines=None,
        is_split=True,
        report=None,
        notes=(("status.split_not_reported", INFO, "order_id"),),
    ),
    "shipped lines of the original of a split are reported done; the rest stays out": Case(
        update=ORIGINAL_AFTER_SPLIT,
        sent_lines=SENT,
        is_split=False,
        report=ORIGINAL_AFTER_SPLIT.model_copy(update={"status": OrderStatus.PARTIALLY_SHIPPED}),
        notes=(("status.line_left_out", INFO, None), ("status.shipped", INFO, None)),
    ),
    "when part of an order is not in stock, the status update lists only shipped products": Case(
        update=PART_SHIPPED,
        sent_lines=SENT,
        is_split=False,
        report=PART_SHIPPED.model_copy(
            update={
                "status": OrderStatus.PARTIALLY_SHIPPED,
                "lines": [PART_SHIPPED.lines[0], PART_SHIPPED.lines[2]],
            }
        ),
        notes=(("status.line_left_out", INFO, "lines[1]"), ("status.shipped", INFO, None)),
    ),
    "a line shipped for less than Koppel sent makes the shipment partial": Case(
        update=update(
            OrderStatus.SHIPPED,
            shipped("1", TOP, "2"),
            shipped("2", DRESS, "1"),
            shipped("3", SCARF, "1"),
        ),
        sent_lines=SENT,
        is_split=False,
        report=update(
            OrderStatus.PARTIALLY_SHIPPED,
            shipped("1", TOP, "2"),
            shipped("2", DRESS, "1"),
            shipped("3", SCARF, "1"),
        ),
        notes=(("status.shipped", INFO, None),),
    ),
    "lines are matched on line id when present: two lines of one SKU stay apart": Case(
        update=update(OrderStatus.SHIPPED, shipped("2", DRESS, "1")),
        sent_lines=(
            OrderLineRef(line_id="1", sku=DRESS, quantity=Decimal(2)),
            OrderLineRef(line_id="2", sku=DRESS, quantity=Decimal(1)),
        ),
        is_split=False,
        report=update(OrderStatus.PARTIALLY_SHIPPED, shipped("2", DRESS, "1")),
        notes=(("status.line_left_out", INFO, None), ("status.shipped", INFO, None)),
    ),
    "lines are matched on SKU when the update carries no line id": Case(
        update=BY_SKU,
        sent_lines=SENT[:2],
        is_split=False,
        report=BY_SKU,
        notes=(("status.shipped", INFO, None),),
    ),
    "a shipment without any shipped quantity is not reported (it would cancel every line)": Case(
        update=update(OrderStatus.SHIPPED, shipped("1", TOP, "0")),
        sent_lines=SENT,
        is_split=False,
        report=None,
        notes=(("status.nothing_shipped", WARNING, "lines"),),
    ),
    "an order deleted in the warehouse carries quantity 0 on every line": Case(
        update=DELETED_WITH_GTIN,
        sent_lines=SENT,
        is_split=False,
        report=update(
            OrderStatus.DELETED,
            zero("1", TOP, "2"),
            zero("2", DRESS, "3", gtin=DELETED_WITH_GTIN.lines[0].gtin),
            zero("3", SCARF, "1"),
        ),
        notes=(("status.order_deleted", INFO, None),),
    ),
    "a deleted order unknown to Koppel is reported with its own lines at quantity 0": Case(
        update=update(OrderStatus.DELETED, shipped("7", TOP, "2", ordered="2")),
        sent_lines=None,
        is_split=False,
        report=update(OrderStatus.DELETED, shipped("7", TOP, "0", ordered="2")),
        notes=(("status.unknown_order", WARNING, "order_id"), ("status.order_deleted", INFO, None)),
    ),
    "a cancellation from Monta is passed through": Case(
        update=MONTA_CANCELLED,
        sent_lines=SENT,
        is_split=False,
        report=MONTA_CANCELLED,
        notes=(("status.cancelled", INFO, None),),
    ),
    "a backorder from Monta is passed through": Case(
        update=MONTA_BACKORDERED,
        sent_lines=SENT,
        is_split=False,
        report=MONTA_BACKORDERED,
        notes=(("status.backordered", INFO, None),),
    ),
    "an order unknown to Koppel is still reported, with a warning": Case(
        update=ALL_SHIPPED,
        sent_lines=None,
        is_split=False,
        report=ALL_SHIPPED,
        notes=(("status.unknown_order", WARNING, "order_id"), ("status.shipped", INFO, None)),
    ),
    "an order number like WEB-1 of its own is reported when the caller says it is no split": Case(
        update=update(OrderStatus.SHIPPED, shipped("1", TOP, "2"), order_id="WEB-1"),
        sent_lines=SENT[:1],
        is_split=False,
        report=update(OrderStatus.SHIPPED, shipped("1", TOP, "2"), order_id="WEB-1"),
        notes=(("status.shipped", INFO, None),),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_report_status(case: Case) -> None:
    decision = report_status(case.update, sent_lines=case.sent_lines, is_split=case.is_split)

    assert decision.report == case.report
    assert [(n.code, n.severity, n.field) for n in decision.notes] == list(case.notes)


def test_track_and_trace_is_kept_on_the_report() -> None:
    decision = report_status(PART_SHIPPED, sent_lines=SENT, is_split=False)

    assert decision.report is not None
    assert decision.report.shipments == [PARCEL]


def test_notes_say_which_lines_were_left_out_and_that_its_perfect_cancels_them() -> None:
    decision = report_status(ORIGINAL_AFTER_SPLIT, sent_lines=SENT, is_split=False)

    assert decision.notes == (
        Problem(
            code="status.line_left_out",
            message=(
                "line 2 (SKU JL-DRESS-001-BLK-M) of order JL-10023 was not shipped and is left"
                " out of the report; IT's Perfect cancels the lines a shipment does not list"
            ),
            severity=Severity.INFO,
        ),
        Problem(
            code="status.shipped",
            message="order JL-10023: 2 shipped lines reported to IT's Perfect as done",
            severity=Severity.INFO,
        ),
    )


def test_split_note_names_the_original_order() -> None:
    split = update(OrderStatus.SHIPPED, shipped("2", DRESS, "3"), order_id="JL-10023-1")

    decision = report_status(split, sent_lines=None, is_split=True)

    assert decision.notes == (
        Problem(
            code="status.split_not_reported",
            message=(
                "order JL-10023-1 is a split made in the warehouse (a backorder of order"
                " JL-10023); shipments of a split order are never reported to IT's Perfect"
            ),
            severity=Severity.INFO,
            field="order_id",
        ),
    )


SPLIT_IDS = {
    "a split creates an order with the suffix -1": ("12345-1", "12345"),
    "a further split of the same order": ("12345-2", "12345"),
    "an order number with dashes keeps them in its base": ("JL-10023-1", "JL-10023"),
    "WEB-1 looks like a split; the caller checks the base is known": ("WEB-1", "WEB"),
    "an order id without a suffix is no split": ("12345", None),
    "a suffix of zero is no split": ("12345-0", None),
    "a suffix with a leading zero is no split": ("12345-01", None),
    "a suffix alone has no base": ("-1", None),
    "a letter suffix is no split": ("12345-A", None),
}


@pytest.mark.parametrize(("order_id", "base"), SPLIT_IDS.values(), ids=SPLIT_IDS.keys())
def test_split_base(order_id: str, base: str | None) -> None:
    assert split_base(order_id) == base
