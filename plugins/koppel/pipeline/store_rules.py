"""Rule steps of the store ERP flows (seed 003) and the Peppol supplier, on a store database.

Each step asks the flow's store database for what it needs *now* (a lookup
bound by :func:`koppel.hooks.destinations.flow_lookups` to the flow's SQL
endpoint, read fresh per message so a replay sees a fix) and hands it to the
pure rules of :mod:`koppel.rules.internal_pricing`, :mod:`koppel.rules.waybills`
and :mod:`koppel.rules.peppol_ordering`:

- ``purchase_order_export`` (purchase_orders, store A): the purchase order,
  its supplier and the store -> a UBL 2.0 internal order;
- ``internal_pricing`` (orders, store B): customer, products, prices -> a sales order;
- ``waybill_from_delivery`` (despatches): the delivered sales order -> a waybill;
- ``waybill_receipt`` (waybills, store A): the purchase order -> its receipt;
- ``peppol_order_import`` (orders, Peppol supplier): customer, products,
  prices -> a sales order and a T76 order response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from koppel.documents import Order, Problem, Waybill
from koppel.errors import ConfigError
from koppel.pipeline.clock import today
from koppel.pipeline.rule_types import (
    Rule,
    RuleContext,
    RuleResult,
    answer_id,
    carry,
    expect,
    take_order_decision,
)
from koppel.rules.internal_pricing import price_order, purchase_order_message
from koppel.rules.peppol_ordering import import_peppol_order
from koppel.rules.store_master_data import (
    DeliveredSalesOrder,
    PurchaseOrderData,
    SalesMasterData,
)
from koppel.rules.waybills import purchase_order_receipt, waybill_for_delivery

#: Lookups of a store database, by the name a step asks for (see ``flow_lookups``).
SALES_MASTER_DATA = "store_sales_master_data"
PURCHASE_ORDER = "store_purchase_order"
DELIVERED_SALES_ORDER = "store_delivered_sales_order"


def _lookup(ctx: RuleContext, name: str, step: str) -> Callable[..., Any]:
    """The store-database lookup ``name``; a flow without an SQL endpoint cannot have one."""
    lookup = ctx.lookups.get(name)
    if lookup is None:
        raise ConfigError(
            f"rule {step} needs the store database: give the flow an sql source or target endpoint"
        )
    return lookup


def _missing(code: str, message: str) -> Problem:
    return Problem(code=code, message=message)


def purchase_order_export(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Send a posted purchase order as a UBL 2.0 internal order when its supplier takes them.

    The row read from the store is only the trigger: the order, its supplier
    and the store are read again as they are now, so a message replayed after
    the supplier's message format was set goes out.
    """
    read = cast(
        Callable[[str], PurchaseOrderData | None],
        _lookup(ctx, PURCHASE_ORDER, "purchase_order_export"),
    )
    out = carry(result)
    for document in result.target:
        row = expect(document, Order, "purchase_order_export")
        po = read(row.order_id)
        if po is None:
            out.notes.append(
                _missing(
                    "internal_pricing.purchase_order.unknown",
                    f"purchase order {row.order_id} is no longer in the store database",
                )
            )
            continue
        decision = purchase_order_message(po)
        out.notes += decision.problems
        if decision.order is not None:
            out.target.append(decision.order)
    return out


def internal_pricing(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Book an order as a sales order: internal orders at average purchase price (seed 003)."""
    read = cast(
        Callable[[Order], SalesMasterData],
        _lookup(ctx, SALES_MASTER_DATA, "internal_pricing"),
    )
    out = carry(result)
    for document in result.target:
        order = expect(document, Order, "internal_pricing")
        decision = price_order(order, read(order))
        out.notes += decision.problems
        if decision.sales_order is not None:
            out.target.append(decision.sales_order)
    return out


def waybill_from_delivery(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Turn a delivery of a sales order into the waybill its buyer gets.

    Option ``include_line_prices`` (the sales side's "include line price
    information in the waybill") puts each line's sales price in the waybill
    as the buyer's purchase price.
    """
    read = cast(
        Callable[[str, str], DeliveredSalesOrder | None],
        _lookup(ctx, DELIVERED_SALES_ORDER, "waybill_from_delivery"),
    )
    include_prices = bool(ctx.flow.options.get("include_line_prices", False))
    out = carry(result)
    for document in result.target:
        delivery = expect(document, Waybill, "waybill_from_delivery")
        order = read(delivery.order_id, delivery.waybill_id)
        if order is None:
            out.notes.append(
                _missing(
                    "waybills.sales_order.unknown",
                    f"delivery {delivery.waybill_id}: sales order {delivery.order_id} "
                    "is not in the store database",
                )
            )
            continue
        decision = waybill_for_delivery(delivery, order, include_line_prices=include_prices)
        out.notes += decision.problems
        if decision.waybill is not None:
            out.target.append(decision.waybill)
    return out


def waybill_receipt(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Update (and receive) the purchase order a waybill answers.

    Options, as the purchase side's settings in seed 003:
    ``update_price_and_quantity`` ("update purchase price and quantity from
    the message"), ``do_not_receive`` ("do not receive the order") and
    ``language``, the store's language for the note on a changed quantity.
    """
    read = cast(
        Callable[[str], PurchaseOrderData | None],
        _lookup(ctx, PURCHASE_ORDER, "waybill_receipt"),
    )
    options = ctx.flow.options
    out = carry(result)
    for document in result.target:
        waybill = expect(document, Waybill, "waybill_receipt")
        decision = purchase_order_receipt(
            waybill,
            read(waybill.order_id),
            update_price_and_quantity=bool(options.get("update_price_and_quantity", False)),
            do_not_receive=bool(options.get("do_not_receive", False)),
            language=str(options.get("language", "en")),
            today=today(),
        )
        out.notes += decision.problems
        if decision.receipt is not None:
            out.target.append(decision.receipt)
    return out


def peppol_order_import(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Create a Peppol order as a sales order and answer it with an order response (T76).

    A rejected order is answered too (a rejection reply, sent only when the
    message ends rejected); a replay's answer gets a new id.
    """
    read = cast(
        Callable[[Order], SalesMasterData],
        _lookup(ctx, SALES_MASTER_DATA, "peppol_order_import"),
    )
    out = carry(result)
    for document in result.target:
        order = expect(document, Order, "peppol_order_import")
        decision = import_peppol_order(
            order,
            read(order),
            response_id=answer_id(order.order_id, ctx),
            today=today(),
        )
        take_order_decision(out, decision)
    return out


#: The store steps by name, and the lookups each needs from the flow's store database.
STORE_RULES: dict[str, tuple[Rule, str]] = {
    "purchase_order_export": (purchase_order_export, PURCHASE_ORDER),
    "internal_pricing": (internal_pricing, SALES_MASTER_DATA),
    "waybill_from_delivery": (waybill_from_delivery, DELIVERED_SALES_ORDER),
    "waybill_receipt": (waybill_receipt, PURCHASE_ORDER),
    "peppol_order_import": (peppol_order_import, SALES_MASTER_DATA),
}
