"""Seed 003's waybills: one case per sentence of the seed (SPEC.md section 6).

The delivering store writes a waybill from a delivery of the internal sales
order; the ordering store updates (and receives) its purchase order from it.
Each table is one sentence or decision with both branches of every option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.documents import (
    Lot,
    Party,
    PartyIdentifier,
    PurchaseOrderReceipt,
    ReceiptStatus,
    Severity,
    Waybill,
    WaybillLine,
)
from koppel.formats import default_registry
from koppel.rules.internal_pricing import price_order, purchase_order_message
from koppel.rules.store_master_data import (
    DeliveredSalesOrder,
    PurchaseOrderData,
    PurchaseOrderLineData,
    SalesMasterData,
    SalesOrderLineData,
    StoreParty,
    StoreProduct,
)
from koppel.rules.waybills import (
    ORDERED_WAS,
    ReceiptDecision,
    ordered_was,
    purchase_order_receipt,
    waybill_for_delivery,
)

ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO
TODAY = date(2026, 11, 29)

SEVERITIES: Mapping[str, Severity] = {
    "waybills.delivery.other_order": ERROR,
    "waybills.delivery.unknown_line": ERROR,
    "waybills.delivery.negative_quantity": ERROR,
    "waybills.delivery.over_delivered": WARNING,
    "waybills.delivery.prices_included": INFO,
    "waybills.delivery.prices_left_out": INFO,
    "waybills.receipt.order_unknown": ERROR,
    "waybills.receipt.already_received": ERROR,
    "waybills.receipt.not_posted": ERROR,
    "waybills.receipt.other_supplier": WARNING,
    "waybills.receipt.language_unknown": WARNING,
    "waybills.receipt.currency_differs": ERROR,
    "waybills.receipt.unknown_line": ERROR,
    "waybills.receipt.negative_quantity": ERROR,
    "waybills.receipt.prices_differ": WARNING,
    "waybills.receipt.line_not_on_waybill": WARNING,
    "waybills.receipt.quantity_differs": WARNING,
    "waybills.receipt.price_differs": WARNING,
    "waybills.receipt.price_kept": INFO,
    "waybills.receipt.quantity_changed": INFO,
    "waybills.receipt.nothing_to_do": WARNING,
    "waybills.receipt.received": INFO,
    "waybills.receipt.posted": INFO,
}

STORE_A = StoreParty("A", "Store A", gln="6410000000011", country="FI")
STORE_B = StoreParty("B", "Store B", gln="6410000000028", country="FI")

# --- The delivering store (B) ---------------------------------------------------------------------

SALES_ORDER = DeliveredSalesOrder(
    order_number="SO-77",
    order_reference="PO-1001",
    internal=True,
    currency="EUR",
    store=STORE_B,
    customer=replace(STORE_A, party_id="C-A"),
    lines=(
        SalesOrderLineData(
            1, "10", "P1", Decimal(2), Decimal("4.00"), description="Coffee", gtin="6410000000103"
        ),
        SalesOrderLineData(2, "20", "P2", Decimal(5), Decimal("2.50"), description="Tea"),
    ),
)


def delivered(
    quantity: str = "2",
    *,
    sales_line: str | None = "1",
    order_line: str | None = None,
    line_id: str = "1",
    lots: tuple[str, ...] = (),
) -> WaybillLine:
    return WaybillLine(
        line_id=line_id,
        sales_order_line_id=sales_line,
        order_line_id=order_line,
        quantity=Decimal(quantity),
        lots=[Lot(number=n) for n in lots],
    )


def delivery(*lines: WaybillLine, order_id: str = "SO-77") -> Waybill:
    return Waybill(
        waybill_id="WB-9",
        order_id=order_id,
        issue_date=TODAY,
        despatch_date=TODAY,
        lines=list(lines) or [delivered(), delivered("5", sales_line="2", line_id="2")],
    )


@dataclass(frozen=True)
class DeliveryCase:
    """One sentence on the delivering side: the delivery, the option, the waybill's lines."""

    sentence: str
    lines: tuple[WaybillLine, ...] = ()
    order: DeliveredSalesOrder = SALES_ORDER
    include_line_prices: bool = True
    faults: tuple[str, ...] = ()
    expected: tuple[Mapping[str, object], ...] = ()
    """Attributes of each waybill line, in order."""


DELIVERIES = [
    DeliveryCase(
        "viedään ostohinnaksi myyntitilauksen myyntihinta: with line prices, the sales price",
        expected=(
            {"order_line_id": "10", "purchase_price": Decimal("4.00"), "outstanding_quantity": 0},
            {"order_line_id": "20", "purchase_price": Decimal("2.50"), "outstanding_quantity": 0},
        ),
    ),
    DeliveryCase(
        "Viedään Waybill -sanomassa rivin hintatiedot off: no prices on the waybill",
        include_line_prices=False,
        expected=(
            {"order_line_id": "10", "purchase_price": None},
            {"order_line_id": "20", "purchase_price": None},
        ),
    ),
    DeliveryCase(
        "a partial delivery: the rest is outstanding",
        lines=(delivered("1"),),
        expected=({"quantity": 1, "outstanding_quantity": 1},),
    ),
    DeliveryCase(
        "a later delivery counts what earlier ones delivered",
        lines=(delivered("2", sales_line="2"),),
        order=replace(
            SALES_ORDER,
            lines=(
                SALES_ORDER.lines[0],
                replace(SALES_ORDER.lines[1], delivered_before=Decimal(1)),
            ),
        ),
        expected=({"order_line_id": "20", "quantity": 2, "outstanding_quantity": 2},),
    ),
    DeliveryCase(
        "one line in two lots: both count against the line",
        lines=(
            delivered("1", sales_line="2", lots=("L1",)),
            delivered("3", sales_line="2", line_id="2", lots=("L2",)),
        ),
        expected=(
            {"order_line_id": "20", "outstanding_quantity": 1},
            {"order_line_id": "20", "outstanding_quantity": 1},
        ),
    ),
    DeliveryCase(
        "more delivered than ordered: outstanding never negative, and a warning",
        lines=(delivered("3"),),
        faults=("waybills.delivery.over_delivered",),
        expected=({"quantity": 3, "outstanding_quantity": 0},),
    ),
    DeliveryCase(
        "as store_erp.delivery reads it: the sales line number in order_line_id",
        lines=(delivered("2", sales_line=None, order_line="2"),),
        expected=(
            {
                "order_line_id": "20",
                "sales_order_line_id": "2",
                "supplier_article_code": "P2",
                "sku": "P2",
                "description": "Tea",
            },
        ),
    ),
    DeliveryCase(
        "the buyer's line id is no sales line number: not guessed at, error",
        lines=(delivered("2", sales_line=None, order_line="20"),),
        faults=("waybills.delivery.unknown_line",),
    ),
    DeliveryCase(
        "a delivery line naming no line of the order: error",
        lines=(delivered("1", sales_line="9"),),
        faults=("waybills.delivery.unknown_line",),
    ),
    DeliveryCase(
        "a delivery of another order: error",
        order=replace(SALES_ORDER, order_number="SO-78", order_reference="PO-1002"),
        faults=("waybills.delivery.other_order",),
    ),
    DeliveryCase(
        "a negative delivered quantity: error",
        lines=(delivered("-1"),),
        faults=("waybills.delivery.negative_quantity",),
    ),
]


@pytest.mark.parametrize("case", DELIVERIES, ids=lambda c: c.sentence)
def test_delivery(case: DeliveryCase) -> None:
    decision = waybill_for_delivery(
        delivery(*case.lines), case.order, include_line_prices=case.include_line_prices
    )

    for problem in decision.problems:
        assert problem.severity is SEVERITIES[problem.code], problem
    assert [p.code for p in decision.problems if p.severity is not INFO] == list(case.faults)
    errors = any(SEVERITIES[c] is ERROR for c in case.faults)
    assert (decision.waybill is None) is errors
    if decision.waybill is not None:
        got = [
            {k: getattr(ln, k) for k in want}
            for ln, want in zip(decision.waybill.lines, case.expected, strict=False)
        ]
        assert got == [dict(want) for want in case.expected]
        assert len(decision.waybill.lines) == len(case.expected)


def test_the_waybill_answers_the_buyers_order() -> None:
    decision = waybill_for_delivery(
        delivery(delivered("2", lots=("L1",))), SALES_ORDER, include_line_prices=True
    )

    waybill = decision.waybill
    assert waybill is not None
    assert waybill.waybill_id == "WB-9"
    assert waybill.order_id == "PO-1001"
    assert waybill.currency == "EUR"
    assert waybill.despatch_date == TODAY
    assert waybill.despatch_party is not None
    assert waybill.despatch_party.identifier("0088") == "6410000000028"
    assert waybill.delivery_party is not None
    assert waybill.delivery_party.identifier("0088") == "6410000000011"
    (line,) = waybill.lines
    assert line.supplier_article_code == "P1"
    assert (line.gtin, line.gtin_scheme) == ("6410000000103", "0160")
    assert line.description == "Coffee"
    assert [lot.number for lot in line.lots] == ["L1"]
    codes = {p.code for p in decision.problems}
    assert "waybills.delivery.prices_included" in codes


# --- The ordering store (A) -----------------------------------------------------------------------

SUPPLIER_B = StoreParty("S1", "Store B", gln="6410000000028", message_format="UBL2.0SIS")
PO = PurchaseOrderData(
    order_number="PO-1001",
    status="posted",
    store=STORE_A,
    supplier=SUPPLIER_B,
    currency="EUR",
    lines=(
        PurchaseOrderLineData(1, "P1", Decimal(2), Decimal("5.00"), description="Coffee"),
        PurchaseOrderLineData(2, "P2", Decimal(5), Decimal("3.00"), text="fragile"),
        PurchaseOrderLineData(3, "P3", Decimal(1), Decimal("1.00")),
    ),
    products_by_code={"P3": StoreProduct("P3", gtin="6410000000301")},
)


def wb_line(
    quantity: str,
    price: str | None,
    *,
    order_line: str | None = "1",
    line_id: str = "1",
    code: str | None = None,
    gtin: str | None = None,
) -> WaybillLine:
    return WaybillLine(
        line_id=line_id,
        order_line_id=order_line,
        supplier_article_code=code,
        gtin=gtin,
        quantity=Decimal(quantity),
        purchase_price=None if price is None else Decimal(price),
    )


#: The supplier delivered 3 of line 1 at 4.00, line 2 as ordered at 2.50, line 3 as ordered.
CHANGED = (
    wb_line("3", "4.00"),
    wb_line("5", "2.50", order_line="2", line_id="2"),
    wb_line("1", "1.00", order_line="3", line_id="3"),
)


def waybill(*lines: WaybillLine, currency: str | None = "EUR", gln: str | None = None) -> Waybill:
    despatcher = None
    if gln is not None:
        despatcher = Party(name="Somebody", identifiers=[PartyIdentifier(value=gln, scheme="0088")])
    return Waybill(
        waybill_id="WB-9",
        order_id="PO-1001",
        currency=currency,
        despatch_party=despatcher,
        lines=list(lines) or list(CHANGED),
    )


@dataclass(frozen=True)
class ReceiptCase:
    """One sentence on the ordering side: the waybill, the PO, the options, the receipt."""

    sentence: str
    lines: tuple[WaybillLine, ...] = CHANGED
    po: PurchaseOrderData | None = PO
    update: bool = True
    do_not_receive: bool = False
    language: str = "fi"
    currency: str | None = "EUR"
    gln: str | None = None
    faults: tuple[str, ...] = ()
    status: ReceiptStatus | None = ReceiptStatus.RECEIVED
    """The receipt's status; None when there is no receipt."""
    expected: tuple[tuple[object, object, object], ...] = ()
    """(quantity, purchase price, text) of every receipt line, in PO order."""
    infos: tuple[str, ...] = field(default=())


AS_ORDERED = (
    (2, Decimal("5.00"), None),
    (5, Decimal("3.00"), "fragile"),
    (1, Decimal("1.00"), None),
)

RECEIPTS = [
    ReceiptCase(
        "Päivitä ostohinta ja määrä: the waybill's price and quantity, and received",
        expected=(
            (3, Decimal("4.00"), "Tilattu oli 2"),
            (5, Decimal("2.50"), "fragile"),
            (1, Decimal("1.00"), None),
        ),
        infos=("waybills.receipt.received", "waybills.receipt.quantity_changed"),
    ),
    ReceiptCase(
        "Tilausta ei tulouteta as well: updated, but not received",
        do_not_receive=True,
        status=ReceiptStatus.POSTED,
        expected=(
            (3, Decimal("4.00"), "Tilattu oli 2"),
            (5, Decimal("2.50"), "fragile"),
            (1, Decimal("1.00"), None),
        ),
        infos=("waybills.receipt.posted",),
    ),
    ReceiptCase(
        "without the update option: received as ordered, each difference a warning",
        update=False,
        faults=(
            "waybills.receipt.quantity_differs",
            "waybills.receipt.price_differs",
            "waybills.receipt.price_differs",
        ),
        expected=AS_ORDERED,
    ),
    ReceiptCase(
        "do not receive without the update option: nothing to do, no receipt",
        update=False,
        do_not_receive=True,
        faults=(
            "waybills.receipt.quantity_differs",
            "waybills.receipt.price_differs",
            "waybills.receipt.price_differs",
            "waybills.receipt.nothing_to_do",
        ),
        status=None,
    ),
    ReceiptCase(
        "Määrän muutoksesta tulee merkintä: appended to the line's existing text",
        lines=(wb_line("4", "3.00", order_line="2"),),
        faults=("waybills.receipt.line_not_on_waybill", "waybills.receipt.line_not_on_waybill"),
        expected=(
            (2, Decimal("5.00"), None),
            (4, Decimal("3.00"), "fragile\nTilattu oli 5"),
            (1, Decimal("1.00"), None),
        ),
    ),
    ReceiptCase(
        "a quantity equal but written differently (2.000) is no change",
        lines=(wb_line("2.000", "5.00"),),
        faults=("waybills.receipt.line_not_on_waybill", "waybills.receipt.line_not_on_waybill"),
        expected=AS_ORDERED,
    ),
    ReceiptCase(
        "a waybill line without a price keeps the order's price, with a note",
        lines=(wb_line("3", None), *CHANGED[1:]),
        expected=(
            (3, Decimal("5.00"), "Tilattu oli 2"),
            (5, Decimal("2.50"), "fragile"),
            (1, Decimal("1.00"), None),
        ),
        infos=("waybills.receipt.price_kept",),
    ),
    ReceiptCase(
        "lines matched by product code when the order line id is missing",
        lines=(wb_line("3", "4.00", order_line=None, code="P1"),),
        faults=("waybills.receipt.line_not_on_waybill", "waybills.receipt.line_not_on_waybill"),
        expected=((3, Decimal("4.00"), "Tilattu oli 2"), AS_ORDERED[1], AS_ORDERED[2]),
    ),
    ReceiptCase(
        "lines matched by GTIN when neither id nor code is given",
        lines=(wb_line("4", "1.00", order_line=None, gtin="6410000000301"),),
        faults=("waybills.receipt.line_not_on_waybill", "waybills.receipt.line_not_on_waybill"),
        expected=(AS_ORDERED[0], AS_ORDERED[1], (4, Decimal("1.00"), "Tilattu oli 1")),
    ),
    ReceiptCase(
        "two lots of one line add up",
        lines=(wb_line("1", "4.00"), wb_line("1", "4.00", line_id="1b"), *CHANGED[1:]),
        expected=(
            (2, Decimal("4.00"), None),
            (5, Decimal("2.50"), "fragile"),
            (1, Decimal("1.00"), None),
        ),
    ),
    ReceiptCase(
        "a line delivered as zero: quantity 0 and the note",
        lines=(wb_line("0", "5.00"), *CHANGED[1:]),
        expected=(
            (0, Decimal("5.00"), "Tilattu oli 2"),
            (5, Decimal("2.50"), "fragile"),
            (1, Decimal("1.00"), None),
        ),
    ),
    ReceiptCase(
        "the purchase order does not exist: error",
        po=None,
        faults=("waybills.receipt.order_unknown",),
        status=None,
    ),
    ReceiptCase(
        "the purchase order is received already: error, nothing twice",
        po=replace(PO, status="received"),
        faults=("waybills.receipt.already_received",),
        status=None,
    ),
    ReceiptCase(
        "the purchase order was never sent (draft): error",
        po=replace(PO, status="draft"),
        faults=("waybills.receipt.not_posted",),
        status=None,
    ),
    ReceiptCase(
        "a waybill line naming no line of the order: error",
        lines=(*CHANGED, wb_line("1", "9.00", order_line="99", code="P9", line_id="4")),
        faults=("waybills.receipt.unknown_line",),
        status=None,
    ),
    ReceiptCase(
        "prices in another currency than the order's: error when taken over",
        currency="SEK",
        faults=("waybills.receipt.currency_differs",),
        status=None,
    ),
    ReceiptCase(
        "prices in another currency, update off: the prices are not taken, no error",
        currency="SEK",
        update=False,
        faults=(
            "waybills.receipt.quantity_differs",
            "waybills.receipt.price_differs",
            "waybills.receipt.price_differs",
        ),
        expected=AS_ORDERED,
    ),
    ReceiptCase(
        "a waybill from another party than the supplier: a warning",
        gln="6419999999999",
        faults=("waybills.receipt.other_supplier",),
        expected=(
            (3, Decimal("4.00"), "Tilattu oli 2"),
            (5, Decimal("2.50"), "fragile"),
            (1, Decimal("1.00"), None),
        ),
    ),
    ReceiptCase(
        "an unknown store language: the note in English, with a warning",
        language="xx",
        faults=("waybills.receipt.language_unknown",),
        expected=(
            (3, Decimal("4.00"), "Ordered was 2"),
            (5, Decimal("2.50"), "fragile"),
            (1, Decimal("1.00"), None),
        ),
    ),
]


def receive(case: ReceiptCase) -> ReceiptDecision:
    return purchase_order_receipt(
        waybill(*case.lines, currency=case.currency, gln=case.gln),
        case.po,
        update_price_and_quantity=case.update,
        do_not_receive=case.do_not_receive,
        language=case.language,
        today=TODAY,
    )


@pytest.mark.parametrize("case", RECEIPTS, ids=lambda c: c.sentence)
def test_receipt(case: ReceiptCase) -> None:
    decision = receive(case)

    for problem in decision.problems:
        assert problem.severity is SEVERITIES[problem.code], problem
        assert problem.field, problem
    assert [p.code for p in decision.problems if p.severity is not INFO] == list(case.faults)
    assert set(case.infos) <= {p.code for p in decision.problems if p.severity is INFO}
    receipt = decision.receipt
    if case.status is None:
        assert receipt is None
        return
    assert receipt is not None
    assert receipt.status is case.status
    assert receipt.received_date == (TODAY if case.status is ReceiptStatus.RECEIVED else None)
    assert [(ln.quantity, ln.purchase_price, ln.text) for ln in receipt.lines] == list(
        case.expected
    )


def test_the_receipt_names_the_order_supplier_and_waybill() -> None:
    receipt = receive(ReceiptCase("x")).receipt

    assert isinstance(receipt, PurchaseOrderReceipt)
    assert (receipt.order_number, receipt.supplier_id, receipt.waybill_id) == (
        "PO-1001",
        "S1",
        "WB-9",
    )
    assert [ln.line_number for ln in receipt.lines] == [1, 2, 3]
    assert [ln.product_code for ln in receipt.lines] == ["P1", "P2", "P3"]
    assert receipt.lines[0].description == "Coffee"


def test_a_note_already_in_the_text_is_not_added_twice() -> None:
    po = replace(PO, lines=(replace(PO.lines[0], text="Tilattu oli 2"), *PO.lines[1:]))

    receipt = receive(ReceiptCase("x", po=po)).receipt

    assert receipt is not None
    assert receipt.lines[0].text == "Tilattu oli 2"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fi", "Tilattu oli 2"),
        ("sv", "Beställt var 2"),
        ("en", "Ordered was 2"),
        ("nl", "Besteld was 2"),
        ("de", "Bestellt war 2"),
        ("fi-FI", "Tilattu oli 2"),
        ("SV_fi", "Beställt var 2"),
        ("xx", "Ordered was 2"),
    ],
)
def test_the_note_in_the_stores_language(language: str, text: str) -> None:
    assert ordered_was(Decimal("2.000"), language) == text


@pytest.mark.parametrize(
    ("quantity", "text"),
    [("2", "2"), ("2.000", "2"), ("2.50", "2.5"), ("100", "100"), ("1E+2", "100"), ("0.0", "0")],
)
def test_quantities_are_printed_without_trailing_zeros(quantity: str, text: str) -> None:
    assert ordered_was(Decimal(quantity), "en") == f"Ordered was {text}"


def test_every_language_has_the_note() -> None:
    assert set(ORDERED_WAS) == {"fi", "sv", "en", "nl", "de"}


@settings(max_examples=100, deadline=None)
@given(
    delivered_lines=st.lists(
        st.tuples(
            st.sampled_from(["1", "2", "3"]), st.decimals(min_value=0, max_value=50, places=2)
        ),
        max_size=6,
    ),
    update=st.booleans(),
)
def test_the_receipt_always_carries_every_po_line(
    delivered_lines: list[tuple[str, Decimal]], update: bool
) -> None:
    lines = [
        wb_line(str(quantity), "1.00", order_line=number, line_id=str(i))
        for i, (number, quantity) in enumerate(delivered_lines)
    ]
    decision = purchase_order_receipt(
        waybill(*lines) if lines else Waybill(waybill_id="WB-9", order_id="PO-1001"),
        PO,
        update_price_and_quantity=update,
        do_not_receive=False,
        language="en",
        today=TODAY,
    )

    assert decision.receipt is not None
    assert [ln.line_number for ln in decision.receipt.lines] == [1, 2, 3]
    for po_line, taken in zip(PO.lines, decision.receipt.lines, strict=True):
        sent = [q for number, q in delivered_lines if number == str(po_line.line_number)]
        expected = sum(sent, Decimal(0)) if update and sent else po_line.quantity
        assert taken.quantity == expected


# --- The whole seed: store A orders, store B prices and delivers, store A receives ---------------


def test_an_internal_order_through_both_stores() -> None:
    """Toiminta: the purchase order goes out, comes back as a waybill and updates the order.

    Store A orders 2 coffee at 5.00; store B's average purchase price is 4.00
    and it delivers 3: store A's line becomes 3 at 4.00, noted "Tilattu oli 2".
    """
    po = replace(PO, lines=PO.lines[:1])
    sent = purchase_order_message(po).order
    assert sent is not None
    coffee = StoreProduct("P1", "Coffee", average_purchase_price=Decimal("4.00"))
    store_b = SalesMasterData(
        store=STORE_B, customer=replace(STORE_A, party_id="C-A"), products_by_code={"P1": coffee}
    )
    sales = price_order(sent, store_b).sales_order
    assert sales is not None
    assert sales.internal is True
    so = DeliveredSalesOrder(
        order_number="SO-77",
        order_reference=sales.order_reference,
        internal=sales.internal,
        currency=sales.currency,
        store=STORE_B,
        customer=replace(STORE_A, party_id="C-A"),
        lines=tuple(
            SalesOrderLineData(n, ln.line_id, ln.product_code, ln.quantity, ln.sales_price)
            for n, ln in enumerate(sales.lines, start=1)
        ),
    )
    made = waybill_for_delivery(delivery(delivered("3")), so, include_line_prices=True).waybill
    assert made is not None

    for update, do_not_receive, expected in [
        (True, False, (ReceiptStatus.RECEIVED, Decimal(3), Decimal("4.00"), "Tilattu oli 2")),
        (True, True, (ReceiptStatus.POSTED, Decimal(3), Decimal("4.00"), "Tilattu oli 2")),
        (False, False, (ReceiptStatus.RECEIVED, Decimal(2), Decimal("5.00"), None)),
    ]:
        receipt = purchase_order_receipt(
            made,
            po,
            update_price_and_quantity=update,
            do_not_receive=do_not_receive,
            language="fi",
            today=TODAY,
        ).receipt
        assert receipt is not None
        (line,) = receipt.lines
        assert (receipt.status, line.quantity, line.purchase_price, line.text) == expected


def test_the_waybill_travels_as_a_ubl_despatch_advice_and_is_received() -> None:
    """The waybill written by ubl.despatch_advice is valid, and what store A reads receives the PO.

    Only what UBL carries travels: the buyer's line id, quantities, the price
    (item property PurchasePrice) and the despatch date in the shipment.
    """
    despatch_advice = default_registry().get("ubl.despatch_advice")
    made = waybill_for_delivery(
        delivery(delivered("3", lots=("L1",))), SALES_ORDER, include_line_prices=True
    ).waybill
    assert made is not None
    assert made.shipment_id == "WB-9"

    written = despatch_advice.write(made, context={})
    assert despatch_advice.validate(written, source="wb.xml") == []
    read = despatch_advice.read(written, source="wb.xml")
    assert read.problems == []
    (received,) = read.documents
    assert isinstance(received, Waybill)
    assert (received.order_id, received.despatch_date) == ("PO-1001", TODAY)
    (line,) = received.lines
    assert (line.order_line_id, line.quantity, line.purchase_price) == (
        "10",
        Decimal(3),
        Decimal("4.00"),
    )
    assert line.outstanding_quantity == 0

    po = replace(PO, lines=(replace(PO.lines[0], line_number=10),))
    receipt = purchase_order_receipt(
        received,
        po,
        update_price_and_quantity=True,
        do_not_receive=False,
        language="sv",
        today=TODAY,
    ).receipt
    assert receipt is not None
    (taken,) = receipt.lines
    assert (taken.quantity, taken.purchase_price, taken.text) == (
        Decimal(3),
        Decimal("4.00"),
        "Beställt var 2",
    )


def test_without_line_prices_the_ubl_waybill_carries_none() -> None:
    despatch_advice = default_registry().get("ubl.despatch_advice")
    made = waybill_for_delivery(delivery(delivered("2")), SALES_ORDER, include_line_prices=False)
    assert made.waybill is not None

    written = despatch_advice.write(made.waybill, context={})
    (received,) = despatch_advice.read(written, source="wb.xml").documents

    assert isinstance(received, Waybill)
    assert [ln.purchase_price for ln in received.lines] == [None]
    assert b"PurchasePrice" not in written
