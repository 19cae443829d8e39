"""Seed 003's waybills: the delivering store writes one, the ordering store receives by it.

Delivering store: "Myyntitilauksen toimituksen generoimaan waybill-sanomaan
viedään ostohinnaksi myyntitilauksen myyntihinta (joka on tässä tapauksessa
tuotteen keskiostohinta)." and "Myyntitilauksen asetuksiin on valittava kohta
'Viedään Waybill -sanomassa rivin hintatiedot'." — the waybill a delivery of
the sales order generates carries, as each line's purchase price, the sales
order's sales price (for an internal order the average purchase price), with
the sales option "include line prices in the waybill":
:func:`waybill_for_delivery`.

Ordering store: "Ostotilauksen asetuksiin on valittava kohta 'Päivitä ostohinta
ja määrä sanomassa olevalla arvolla'. Kun tämä on valittuna ostotilauksen
ostohinta ja määrä vaihdetaan waybill-sanomassa tulevilla arvoilla ja tilaus
tuloutetaan. Määrän muutoksesta tulee merkintä tilausrivin tekstikenttään (esim
Tilattu oli 2). Jos tilaus halutaan jättää alkuperäiseen tilaansa ja vaihtaa
vain ostohinta ja määrä valitaan lisäksi kohta 'Tilausta ei tulouteta'.
Jolloin tuloutus jätetään tekemättä." — :func:`purchase_order_receipt`.

Decisions taken where the seed is silent (each tested):

* Without "update price and quantity" the waybill receives the purchase
  order as ordered: quantities and prices stay, and each difference between
  the waybill and the order is a warning, so the user sees what the supplier
  delivered differently. The seed only describes the option switched on; the
  interface it names ("Tulouta Waybill sanomat", receive waybill messages)
  receives in any case.
* "Do not receive" without "update price and quantity" has nothing left to do
  (nothing is updated and nothing received): no receipt, and a warning that
  the connection's options contradict each other.
* The note on a changed quantity is in the store's language (a connection
  option): :data:`ORDERED_WAS`; an unknown language gets the English text
  and a warning. Quantities are printed without trailing zeros.
* A waybill line naming no line of the purchase order is an error (goods not
  ordered are not received silently); a purchase-order line the waybill does
  not name is kept as it is, with a warning, and the receipt carries it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from koppel.documents import (
    Party,
    Problem,
    PurchaseOrderReceipt,
    PurchaseOrderReceiptLine,
    ReceiptStatus,
    Severity,
    Waybill,
    WaybillLine,
    has_errors,
)
from koppel.rules.internal_pricing import GTIN_SCHEME, store_party
from koppel.rules.store_master_data import (
    DeliveredSalesOrder,
    PurchaseOrderData,
    PurchaseOrderLineData,
    SalesOrderLineData,
)

ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO

#: "Ordered was 2" in the languages a store may run in; ``{quantity}`` is the ordered quantity.
ORDERED_WAS: Mapping[str, str] = {
    "fi": "Tilattu oli {quantity}",
    "sv": "Beställt var {quantity}",
    "en": "Ordered was {quantity}",
    "nl": "Besteld was {quantity}",
    "de": "Bestellt war {quantity}",
}
DEFAULT_LANGUAGE = "en"

_ZERO = Decimal(0)


@dataclass(frozen=True)
class WaybillDecision:
    """The waybill a delivery gives.

    Attributes:
        waybill: The waybill to send; None when any problem is an error.
        problems: Errors (a delivery line naming no line of the order),
            warnings (more delivered than ordered) and INFO decisions.
    """

    waybill: Waybill | None
    problems: list[Problem]


@dataclass(frozen=True)
class ReceiptDecision:
    """What a waybill does to the purchase order it answers.

    Attributes:
        receipt: The purchase order as the waybill leaves it, every line of
            it; None when any problem is an error or there is nothing to do.
        problems: Errors, the differences and notes as warnings, INFO decisions.
    """

    receipt: PurchaseOrderReceipt | None
    problems: list[Problem]


# --- The delivering store: a delivery becomes a waybill -----------------------------------------


def waybill_for_delivery(
    delivery: Waybill, order: DeliveredSalesOrder, *, include_line_prices: bool
) -> WaybillDecision:
    """The waybill (UBL DespatchAdvice) a delivery of a sales order generates (seed 003).

    The delivery's lines name the sales-order line they deliver by its line
    number: in ``sales_order_line_id``, or in ``order_line_id`` as the
    ``store_erp.delivery`` format reads a delivery row (the store's own
    numbering; the buyer's line ids are not guessed at). The waybill answers
    the buyer's order: its order id
    is the buyer's order reference and each line refers to the buyer's line
    id, so the ordering store finds its purchase-order lines; the product,
    GTIN and description come from the sales order. The outstanding quantity
    is what is still to come after this delivery and the earlier ones. A
    delivery with a despatch date, delivery period, carrier or tracking code
    but no shipment id gets its own number as the shipment id: UBL writes a
    shipment (and so those) only with an id.

    Args:
        delivery: The delivery as the store's database has it (lines with
            quantities, lots, dates; parties and prices not needed).
        order: The sales order it delivers, with the store and the customer.
        include_line_prices: The sales option "include line prices in the
            waybill": each line's purchase price is the sales line's sales price.
    """
    problems: list[Problem] = []
    if delivery.order_id not in (order.order_number, order.order_reference):
        problems.append(
            Problem(
                code="waybills.delivery.other_order",
                message=(
                    f"delivery {delivery.waybill_id} is for order {delivery.order_id!r}, not sales"
                    f" order {order.order_number} (buyer's order {order.order_reference})"
                ),
                severity=ERROR,
                field="order_id",
            )
        )
    matched: list[SalesOrderLineData | None] = []
    now: dict[int, Decimal] = {}
    for index, line in enumerate(delivery.lines):
        sales_line = _sales_line(line, order.lines)
        matched.append(sales_line)
        if sales_line is None:
            problems.append(
                Problem(
                    code="waybills.delivery.unknown_line",
                    message=(
                        f"delivery line {line.line_id} names no line of sales order"
                        f" {order.order_number} (sales line {line.sales_order_line_id!r},"
                        f" order line {line.order_line_id!r})"
                    ),
                    severity=ERROR,
                    field=f"lines[{index}].order_line_id",
                )
            )
            continue
        problems += _negative_quantity("delivery", line.line_id, line.quantity, index)
        key = sales_line.line_number
        now[key] = now.get(key, _ZERO) + line.quantity
    for sales_line in order.lines:
        delivered = sales_line.delivered_before + now.get(sales_line.line_number, _ZERO)
        if sales_line.line_number in now and delivered > sales_line.quantity:
            problems.append(
                Problem(
                    code="waybills.delivery.over_delivered",
                    message=(
                        f"sales line {sales_line.line_number} (order line {sales_line.line_id}):"
                        f" {_text(delivered)} delivered of {_text(sales_line.quantity)} ordered"
                    ),
                    severity=WARNING,
                    field="lines",
                )
            )
    problems.append(
        Problem(
            code="waybills.delivery.prices_included"
            if include_line_prices
            else "waybills.delivery.prices_left_out",
            message=(
                "each line's purchase price is the sales order's sales price (sales option"
                ' "include line prices in the waybill")'
                if include_line_prices
                else 'the waybill carries no prices: the sales option "include line prices in'
                ' the waybill" is off'
            ),
            severity=INFO,
            field="lines",
        )
    )
    if has_errors(problems):
        return WaybillDecision(None, problems)
    parties: list[Problem] = []
    store = store_party(order.store, "store", parties)
    customer = store_party(order.customer, "customer", parties)
    problems.extend(parties)
    lines = []
    for line, sales_line in zip(delivery.lines, matched, strict=True):
        assert sales_line is not None
        lines.append(_waybill_line(line, sales_line, now, include_line_prices=include_line_prices))
    shipped = (
        delivery.despatch_date,
        delivery.delivery_start_date,
        delivery.delivery_end_date,
        delivery.carrier,
        delivery.tracking_code,
    )
    shipment_id = delivery.shipment_id
    if shipment_id is None and any(x is not None for x in shipped):
        shipment_id = delivery.waybill_id
    waybill = delivery.model_copy(
        update={
            "order_id": order.order_reference,
            "shipment_id": shipment_id,
            "despatch_party": store,
            "delivery_party": customer,
            "currency": order.currency,
            "lines": lines,
        }
    )
    return WaybillDecision(Waybill.model_validate(waybill.model_dump()), problems)


def _negative_quantity(
    step: Literal["delivery", "receipt"], line_id: str, quantity: Decimal, index: int
) -> list[Problem]:
    """A quantity below zero on a delivery or waybill line: no stock moves backwards by waybill.

    Args:
        step: ``delivery`` (the store ERP's delivery becoming a waybill) or ``receipt``
            (a waybill received against a purchase order); names the code and the line.
        line_id: The line's id, as the message names it.
        quantity: The line's quantity.
        index: The line's position, for the problem's field.
    """
    if quantity >= _ZERO:
        return []
    noun = "delivery" if step == "delivery" else "waybill"
    return [
        Problem(
            code=f"waybills.{step}.negative_quantity",
            message=f"{noun} line {line_id}: quantity {quantity} is negative",
            severity=ERROR,
            field=f"lines[{index}].quantity",
        )
    ]


def _sales_line(
    line: WaybillLine, lines: Sequence[SalesOrderLineData]
) -> SalesOrderLineData | None:
    """The sales line a delivery line delivers, by its line number (see waybill_for_delivery)."""
    named = line.sales_order_line_id or line.order_line_id
    if named is None:
        return None
    return next((s for s in lines if str(s.line_number) == named.strip()), None)


def _waybill_line(
    line: WaybillLine,
    sales_line: SalesOrderLineData,
    now: Mapping[int, Decimal],
    *,
    include_line_prices: bool,
) -> WaybillLine:
    delivered = sales_line.delivered_before + now[sales_line.line_number]
    outstanding = max(sales_line.quantity - delivered, _ZERO)
    return line.model_copy(
        update={
            "order_line_id": sales_line.line_id,
            "sales_order_line_id": str(sales_line.line_number),
            "sku": sales_line.product_code,
            "supplier_article_code": sales_line.product_code,
            "gtin": sales_line.gtin,
            "gtin_scheme": GTIN_SCHEME if sales_line.gtin else None,
            "description": sales_line.description or line.description,
            "unit": sales_line.unit,
            "outstanding_quantity": outstanding,
            "purchase_price": sales_line.sales_price if include_line_prices else None,
        }
    )


# --- The ordering store: a waybill updates (and receives) the purchase order ---------------------


def purchase_order_receipt(
    waybill: Waybill,
    po: PurchaseOrderData | None,
    *,
    update_price_and_quantity: bool,
    do_not_receive: bool,
    language: str,
    today: date,
) -> ReceiptDecision:
    """What a waybill does to the purchase order it answers (seed 003).

    Each waybill line finds its purchase-order line by the order line id it
    refers to (the PO line number as sent), else by product code (seller's or
    buyer's item id, or SKU; the stores share product codes); several waybill
    lines for one PO line (lots) add up.

    Args:
        waybill: The waybill as read from the message.
        po: The purchase order its order id names; None if the store has none.
        update_price_and_quantity: The purchase option "update purchase price
            and quantity from the message".
        do_not_receive: The extra option "do not receive the order": price
            and quantity are updated, the goods receipt is skipped.
        language: The store's language for the line note (``fi``, ``sv``,
            ``en``, ``nl``, ``de``; a region such as ``fi-FI`` is ignored).
        today: The goods receipt's date.
    """
    if po is None:
        return ReceiptDecision(
            None,
            [
                Problem(
                    code="waybills.receipt.order_unknown",
                    message=(
                        f"waybill {waybill.waybill_id}: the store has no purchase order"
                        f" {waybill.order_id!r}"
                    ),
                    severity=ERROR,
                    field="order_id",
                )
            ],
        )
    problems = _check_order(waybill, po)
    if has_errors(problems):
        return ReceiptDecision(None, problems)
    template, language_problems = _note_template(language)
    problems.extend(language_problems)
    found = _match(waybill, po, problems)
    if update_price_and_quantity and waybill.currency and waybill.currency != po.currency:
        problems.append(
            Problem(
                code="waybills.receipt.currency_differs",
                message=(
                    f"waybill {waybill.waybill_id} prices are in {waybill.currency}, purchase"
                    f" order {po.order_number} is in {po.currency}"
                ),
                severity=ERROR,
                field="currency",
            )
        )
    lines = [
        _receipt_line(
            index,
            po_line,
            found.get(po_line.line_number),
            update=update_price_and_quantity,
            template=template,
            problems=problems,
        )
        for index, po_line in enumerate(po.lines)
    ]
    if not update_price_and_quantity and do_not_receive:
        problems.append(
            Problem(
                code="waybills.receipt.nothing_to_do",
                message=(
                    f"waybill {waybill.waybill_id} leaves purchase order {po.order_number} as it"
                    ' is: "do not receive" is set but "update purchase price and quantity from'
                    ' the message" is not, so nothing is updated and nothing received'
                ),
                severity=WARNING,
                field="lines",
            )
        )
        return ReceiptDecision(None, problems)
    if has_errors(problems):
        return ReceiptDecision(None, problems)
    status = ReceiptStatus.POSTED if do_not_receive else ReceiptStatus.RECEIVED
    problems.append(
        Problem(
            code="waybills.receipt.received" if not do_not_receive else "waybills.receipt.posted",
            message=(
                f"purchase order {po.order_number} received on {today.isoformat()}"
                if not do_not_receive
                else f'purchase order {po.order_number} updated, not received ("do not receive")'
            ),
            severity=INFO,
            field="status",
        )
    )
    receipt = PurchaseOrderReceipt(
        order_number=po.order_number,
        supplier_id=po.supplier.party_id,
        status=status,
        waybill_id=waybill.waybill_id,
        received_date=None if do_not_receive else today,
        lines=lines,
    )
    return ReceiptDecision(receipt, problems)


def ordered_was(quantity: Decimal, language: str) -> str:
    """The note on a changed quantity, "Ordered was 2", in ``language`` (English if unknown)."""
    template = ORDERED_WAS.get(_language(language), ORDERED_WAS[DEFAULT_LANGUAGE])
    return template.format(quantity=_text(quantity))


def _language(language: str) -> str:
    return language.strip().replace("_", "-").split("-")[0].casefold()


def _note_template(language: str) -> tuple[str, list[Problem]]:
    template = ORDERED_WAS.get(_language(language))
    if template is not None:
        return template, []
    return ORDERED_WAS[DEFAULT_LANGUAGE], [
        Problem(
            code="waybills.receipt.language_unknown",
            message=(
                f"the store's language {language!r} has no text for a changed quantity"
                f" ({', '.join(sorted(ORDERED_WAS))}): the note is in English"
            ),
            severity=WARNING,
            field="language",
        )
    ]


def _text(quantity: Decimal) -> str:
    """A quantity without trailing zeros or exponent: 2.000 -> 2, 2.50 -> 2.5, 100 -> 100."""
    return f"{quantity.normalize():f}"


def _check_order(waybill: Waybill, po: PurchaseOrderData) -> list[Problem]:
    """The purchase order can take a waybill: posted (sent), not received yet, its supplier's."""
    problems: list[Problem] = []
    if po.status == "received":
        problems.append(
            Problem(
                code="waybills.receipt.already_received",
                message=(
                    f"purchase order {po.order_number} is received already: waybill"
                    f" {waybill.waybill_id} is not received again"
                ),
                severity=ERROR,
                field="order_id",
            )
        )
    elif po.status != "posted":
        problems.append(
            Problem(
                code="waybills.receipt.not_posted",
                message=(
                    f"purchase order {po.order_number} is {po.status!r}: it was never sent, so"
                    f" waybill {waybill.waybill_id} cannot answer it"
                ),
                severity=ERROR,
                field="order_id",
            )
        )
    despatcher = waybill.despatch_party
    if despatcher is not None and not _same_party(despatcher, po):
        problems.append(
            Problem(
                code="waybills.receipt.other_supplier",
                message=(
                    f"waybill {waybill.waybill_id} comes from {despatcher.name or despatcher.id!r},"
                    f" purchase order {po.order_number} is to supplier {po.supplier.party_id}"
                ),
                severity=WARNING,
                field="despatch_party",
            )
        )
    return problems


def _same_party(party: Party, po: PurchaseOrderData) -> bool:
    """The despatch party is the PO's supplier, by GLN or endpoint when both sides have one."""
    supplier = po.supplier
    theirs = {i.value for i in party.identifiers}
    if party.endpoint_id is not None:
        theirs.add(party.endpoint_id.value)
    ours = {x for x in (supplier.gln, supplier.endpoint_id) if x}
    if not theirs or not ours:
        return True
    return bool(theirs & ours)


@dataclass
class _Found:
    """The waybill lines that answer one purchase-order line."""

    quantity: Decimal
    price: Decimal | None
    lines: list[str]


def _match(waybill: Waybill, po: PurchaseOrderData, problems: list[Problem]) -> dict[int, _Found]:
    """Waybill lines to PO lines: by the order line id, else by product code; lots add up."""
    by_number = {str(line.line_number): line for line in po.lines}
    found: dict[int, _Found] = {}
    for index, line in enumerate(waybill.lines):
        po_line = _po_line(line, po, by_number)
        if po_line is None:
            problems.append(
                Problem(
                    code="waybills.receipt.unknown_line",
                    message=(
                        f"waybill line {line.line_id} (order line {line.order_line_id!r}, item"
                        f" {_item(line)!r})"
                        f" names no line of purchase order {po.order_number}"
                    ),
                    severity=ERROR,
                    field=f"lines[{index}].order_line_id",
                )
            )
            continue
        problems += _negative_quantity("receipt", line.line_id, line.quantity, index)
        entry = found.get(po_line.line_number)
        if entry is None:
            found[po_line.line_number] = _Found(line.quantity, line.purchase_price, [line.line_id])
            continue
        entry.quantity += line.quantity
        entry.lines.append(line.line_id)
        if line.purchase_price is not None:
            if entry.price is None:
                entry.price = line.purchase_price
            elif entry.price != line.purchase_price:
                problems.append(
                    Problem(
                        code="waybills.receipt.prices_differ",
                        message=(
                            f"waybill lines {', '.join(entry.lines)} for purchase-order line"
                            f" {po_line.line_number} state different prices ({entry.price},"
                            f" {line.purchase_price}): the first is taken"
                        ),
                        severity=WARNING,
                        field=f"lines[{index}].purchase_price",
                    )
                )
    return found


def _item(line: WaybillLine) -> str | None:
    return line.supplier_article_code or line.customer_article_code or line.sku or line.gtin


def _po_line(
    line: WaybillLine, po: PurchaseOrderData, by_number: Mapping[str, PurchaseOrderLineData]
) -> PurchaseOrderLineData | None:
    if line.order_line_id is not None and line.order_line_id.strip() in by_number:
        return by_number[line.order_line_id.strip()]
    codes = [
        c.strip() for c in (line.supplier_article_code, line.customer_article_code, line.sku) if c
    ]
    for code in codes:
        match = next((p for p in po.lines if p.product_code == code), None)
        if match is not None:
            return match
    if line.gtin:
        for po_line in po.lines:
            product = po.products_by_code.get(po_line.product_code)
            if product is not None and product.gtin == line.gtin.strip():
                return po_line
    return None


def _receipt_line(
    index: int,
    po_line: PurchaseOrderLineData,
    found: _Found | None,
    *,
    update: bool,
    template: str,
    problems: list[Problem],
) -> PurchaseOrderReceiptLine:
    """One PO line as the waybill leaves it; the differences and notes go into ``problems``.

    Problems point at the receipt's line (``lines[index]``), which is the PO line's position.
    """
    label = f"purchase-order line {po_line.line_number}"
    field = f"receipt.lines[{index}]"
    kept = PurchaseOrderReceiptLine(
        line_number=po_line.line_number,
        product_code=po_line.product_code,
        description=po_line.description,
        quantity=po_line.quantity,
        unit=po_line.unit,
        purchase_price=po_line.purchase_price,
        text=po_line.text,
    )
    if found is None:
        problems.append(
            Problem(
                code="waybills.receipt.line_not_on_waybill",
                message=f"{label} is not on the waybill: kept as ordered",
                severity=WARNING,
                field=field,
            )
        )
        return kept
    quantity_changed = found.quantity != po_line.quantity
    price_changed = found.price is not None and found.price != po_line.purchase_price
    if not update:
        if quantity_changed:
            problems.append(
                Problem(
                    code="waybills.receipt.quantity_differs",
                    message=(
                        f"{label}: the waybill delivers {_text(found.quantity)}, the order has"
                        f' {_text(po_line.quantity)}; kept (purchase option "update purchase'
                        ' price and quantity from the message" is off)'
                    ),
                    severity=WARNING,
                    field=f"{field}.quantity",
                )
            )
        if price_changed:
            problems.append(
                Problem(
                    code="waybills.receipt.price_differs",
                    message=(
                        f"{label}: the waybill's price is {found.price}, the order's"
                        f' {po_line.purchase_price}; kept (purchase option "update purchase'
                        ' price and quantity from the message" is off)'
                    ),
                    severity=WARNING,
                    field=f"{field}.purchase_price",
                )
            )
        return kept
    price = po_line.purchase_price
    if found.price is None:
        problems.append(
            Problem(
                code="waybills.receipt.price_kept",
                message=f"{label}: the waybill states no price; the order's {price} is kept",
                severity=INFO,
                field=f"{field}.purchase_price",
            )
        )
    else:
        price = found.price
    text = po_line.text
    if quantity_changed:
        note = template.format(quantity=_text(po_line.quantity))
        if text is None or not text.strip():
            text = note
        elif note not in text:
            text = f"{text}\n{note}"
        problems.append(
            Problem(
                code="waybills.receipt.quantity_changed",
                message=(
                    f"{label}: quantity {_text(po_line.quantity)} -> {_text(found.quantity)}"
                    f" from the waybill; noted as {note!r}"
                ),
                severity=INFO,
                field=f"{field}.quantity",
            )
        )
    changed = {"quantity": found.quantity, "purchase_price": price, "text": text}
    return PurchaseOrderReceiptLine.model_validate({**kept.model_dump(), **changed})
