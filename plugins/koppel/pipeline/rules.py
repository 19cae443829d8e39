"""Rule steps a flow names in its ``rules:`` list, binding pure rules to the store's master data.

The rules themselves (``koppel.rules``) are pure functions over documents and
values. A step here fetches the master data they need, calls them, and says
what to send where: documents for the flow's target, reports back to the
source system (its ``reply`` endpoint), notes for the message, and the
master-data changes to make once the message is accepted. Those changes are
deferred so a message that later fails mapping leaves no trace in stock or
reservations.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo

from koppel.config.document_types import DEFAULT_LEDGER_LEVEL, document_type_of
from koppel.documents import (
    CanonicalModel,
    MutationLevel,
    Order,
    OrderStatus,
    Problem,
    Product,
    Severity,
    StatusUpdate,
    StockLevel,
)
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
from koppel.pipeline.store_rules import STORE_RULES
from koppel.rules.backorders import (
    BackorderDecision,
    apply_backorder_handling,
    without_stock_update,
)
from koppel.rules.catalogue import exportable_products
from koppel.rules.customer_reference import check_customer_reference
from koppel.rules.document_types import needs_articles, prepare_document
from koppel.rules.scsn_conformance import conformance_problems
from koppel.rules.scsn_order_checks import ImportOptions, check_order_import
from koppel.rules.status_reporting import OrderLineRef, report_status, split_base

log = logging.getLogger(__name__)


def stock_allocation(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Reserve what goes to the warehouse; with ``backorder_handling``, send only what is in stock.

    Seed 000, FAQ 1: lines not in stock are removed at import and stay on
    backorder in IT's Perfect; when no line can ship, the order is reported
    back as cancelled. Every order sent is reserved, so the next order in the
    same batch sees the stock this one took, and status updates later know
    which lines were sent. Before the first full stock update the stock is
    unknown: the message is held (option ``unknown_stock: hold``, the default)
    or its orders go out unchecked (``unknown_stock: pass``).
    """
    out = RuleResult(
        target=[], reply=list(result.reply), notes=list(result.notes), hold=result.hold
    )
    out.commits = list(result.commits)
    connection_id = ctx.connection.id
    backorders = bool(ctx.flow.options.get("backorder_handling"))
    stock_known = backorders and ctx.master.has_stock(connection_id)
    for document in result.target:
        order = expect(document, Order, "stock_allocation")
        to_ship: Order | None = order
        if backorders:
            decision = _against_stock(order, ctx) if stock_known else _without_stock(order, ctx)
            out.notes += decision.notes
            out.reply += [decision.report] if decision.report is not None else []
            out.hold = out.hold or decision.held
            to_ship = decision.to_ship
        if to_ship is not None:
            out.target.append(to_ship)
            out.commits.append(
                partial(ctx.master.reserve, connection_id, to_ship, message_id=ctx.message.id)
            )
    return out


def _against_stock(order: Order, ctx: RuleContext) -> BackorderDecision:
    """Backorder handling proper: the order against what the last stock update left to promise."""
    skus = {line.sku for line in order.lines if line.sku}
    available = ctx.master.available(ctx.connection.id, skus, exclude_order=order.order_id)
    return apply_backorder_handling(order, available)


def _without_stock(order: Order, ctx: RuleContext) -> BackorderDecision:
    """No stock update yet: hold the order, or pass it on unchecked; say which in the task log."""
    choice = str(ctx.flow.options.get("unknown_stock", "hold"))
    decision = without_stock_update(order, source=ctx.connection.id, pass_through=choice == "pass")
    for note in decision.notes:
        level = logging.WARNING if decision.held else logging.INFO
        log.log(level, "%s__%s: %s [%s]", ctx.connection.id, ctx.flow.name, note.message, note.code)
    return decision


def status_reporting(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Turn warehouse order updates into what IT's Perfect must hear (seed 000, FAQ 1 and 2).

    A ``-1`` split's shipments are never reported; a deleted order is reported
    with quantity 0 on every line that was sent; a partly shipped order lists
    only the shipped products. Once reported, the order no longer reserves stock.
    """
    out = RuleResult(target=[], reply=list(result.reply), notes=list(result.notes))
    out.commits = list(result.commits)
    connection_id = ctx.connection.id
    for document in result.target:
        update = expect(document, StatusUpdate, "status_reporting")
        known = ctx.master.known_order(connection_id, update.order_id)
        base = split_base(update.order_id)
        is_split = base is not None and not known and ctx.master.known_order(connection_id, base)
        sent = None
        if known:
            sent = [
                OrderLineRef(line_id=r.line_id, sku=r.sku, quantity=r.quantity)
                for r in ctx.master.order_lines(connection_id, update.order_id)
            ]
        decision = report_status(update, sent_lines=sent, is_split=is_split)
        out.notes += decision.notes
        if decision.report is not None:
            out.target.append(decision.report)
        if known and update.status in _CLOSING:
            out.commits.append(
                partial(
                    ctx.master.close_order, connection_id, update.order_id, _CLOSING[update.status]
                )
            )
    return out


#: Warehouse statuses after which an order no longer holds stock, and how it closes.
_CLOSING: dict[OrderStatus, Literal["shipped", "cancelled"]] = {
    OrderStatus.SHIPPED: "shipped",
    OrderStatus.PARTIALLY_SHIPPED: "shipped",
    OrderStatus.DELETED: "cancelled",
    OrderStatus.CANCELLED: "cancelled",
}


def keep_stock(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Keep a full stock update in the store as well as passing it on: backorder handling needs it.

    The snapshot time decides which reservations the warehouse already
    counted, so it must be a real instant: a time without offset is read in the
    flow's ``timezone`` option (the warehouse's local time), UTC by default.
    """
    levels = [expect(d, StockLevel, "keep_stock") for d in result.target]
    local = ZoneInfo(str(ctx.flow.options.get("timezone", "UTC")))
    stamps = [
        lv.as_of if lv.as_of.tzinfo else lv.as_of.replace(tzinfo=local)
        for lv in levels
        if lv.as_of is not None
    ]
    replace = partial(
        ctx.master.replace_stock,
        ctx.connection.id,
        levels,
        as_of=max(stamps, default=None) or datetime.now(UTC),
        message_id=ctx.message.id,
    )
    return RuleResult(
        target=result.target,
        reply=result.reply,
        notes=[*result.notes, _stock_note(levels)],
        commits=[*result.commits, replace],
    )


def _stock_note(levels: list[StockLevel]) -> Problem:
    return Problem(
        code="stock.kept",
        severity=Severity.INFO,
        message=f"full stock update of {len(levels)} SKU(s) kept in the store for backorders",
    )


def product_export(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Leave out products without a SKU or a valid EAN13, each with its reason (seed 004)."""
    products = [expect(d, Product, "product_export") for d in result.target]
    kept, notes = exportable_products(products)
    return RuleResult(
        target=list(kept),
        reply=result.reply,
        notes=[*result.notes, *notes],
        commits=result.commits,
        hold=result.hold,
    )


def customer_reference(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Hold an order until its customer has a valid ERP reference (seed 004).

    The reference is asked of the portal again on every try (lookup
    ``customer_reference``), so fixing the customer there releases the order
    on the next run without the portal sending the order again.
    """
    lookup = ctx.lookups.get("customer_reference")
    out = RuleResult(
        target=[], reply=result.reply, notes=list(result.notes), commits=result.commits
    )
    for document in result.target:
        order = expect(document, Order, "customer_reference")
        current = (
            lookup(order.buyer.id)
            if lookup is not None and order.buyer and order.buyer.id
            else None
        )
        decision = check_customer_reference(order, current)
        out.notes += decision.notes
        if decision.order is None:
            out.hold = True
        else:
            out.target.append(decision.order)
    return out


def scsn_order_import(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Import SCSN orders as customer orders in the ERP, after the eight checks of seed 002.

    The ERP's master data is read now, per message (lookup
    ``erp_order_master_data``, a handful of queries against the ERP
    database), so a replay after a fix in the ERP sees the fix. Every message
    is answered with an order response: with the sales order when it is
    accepted, alone (a rejection reply) when it is not. Option
    ``revision_management`` switches the revision index checks on.
    """
    lookup = ctx.lookups.get("erp_order_master_data")
    if lookup is None:
        raise ConfigError(
            "rule scsn_order_import needs the ERP database: give the flow an sql target endpoint"
        )
    out = carry(result)
    revisions = bool(ctx.flow.options.get("revision_management", False))
    for document in result.target:
        order = expect(document, Order, "scsn_order_import")
        options = ImportOptions(
            revision_management=revisions,
            response_id=answer_id(order.order_id, ctx),
            today=today(),
        )
        decision = check_order_import(
            order, lookup(order), options, conformance=conformance_problems(order)
        )
        take_order_decision(out, decision)
    return out


def document_type(result: RuleResult, ctx: RuleContext) -> RuleResult:
    """Hand each order over as the flow's ``document_type`` (seed 001, SPEC.md section 3).

    For types with articles the target is asked now, per message, which of
    the order's products it knows (lookup ``known_skus``): an order with an
    unknown product is held with an error per line and tried again on every
    run, so it goes out once the products flow has created the article. A
    financial mutation is posted at the flow's ``ledger_level`` on the
    connection's ``ledger_accounts``.
    """
    kind = document_type_of(ctx.flow)
    lookup = ctx.lookups.get("known_skus")
    if needs_articles(kind) and lookup is None:
        raise ConfigError(
            f"rule document_type ({kind}) needs a target that says which products it knows"
        )
    level = MutationLevel(ctx.flow.options.get("ledger_level", DEFAULT_LEDGER_LEVEL))
    accounts = ctx.connection.accounts() if ctx.connection.ledger_accounts else None
    target = ctx.flow.systems(ctx.connection)[1]
    out = carry(result)
    out.hold = result.hold
    for document in result.target:
        order = expect(document, Order, "document_type")
        skus = {line.sku for line in order.lines if line.sku}
        known = lookup(skus) if lookup is not None and skus and needs_articles(kind) else set()
        decision = prepare_document(
            order, kind, known_skus=known, level=level, accounts=accounts, target=target
        )
        out.notes += decision.problems
        if decision.document is not None:
            out.target.append(decision.document)
        elif decision.hold:
            out.hold = True
    return out


#: Every rule step a flow may name, by name.
RULES: dict[str, Rule] = {
    "stock_allocation": stock_allocation,
    "status_reporting": status_reporting,
    "keep_stock": keep_stock,
    "product_export": product_export,
    "customer_reference": customer_reference,
    "scsn_order_import": scsn_order_import,
    "document_type": document_type,
    **{name: step for name, (step, _) in STORE_RULES.items()},
}


def apply_rules(names: list[str], documents: list[CanonicalModel], ctx: RuleContext) -> RuleResult:
    """Run the flow's rule steps in order; no steps sends the documents as they are."""
    result = RuleResult(target=list(documents))
    for name in names:
        try:
            step = RULES[name]
        except KeyError as exc:
            raise ConfigError(f"flow {ctx.flow.name}: unknown rule {name!r}") from exc
        result = step(result, ctx)
    return result
