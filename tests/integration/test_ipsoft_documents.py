"""IPSoft's document operations (seed 001) end to end: mapping, real zeep hook, emulator.

Every request is written by Koppel's own mapping from a canonical document and
sent by :class:`~koppel.hooks.ipsoft.IPSoftHook` to the emulated IPSoft over
HTTP. The assertions are on IPSoft's answers and on what the emulator then
holds: one document per source reference, stock lowered once, one balanced
journal entry, and nothing at all for a refused request.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests
from lxml import etree

from koppel.documents import (
    CanonicalModel,
    FinancialMutation,
    MutationLevel,
    OrderLine,
    Party,
    PostingLine,
)
from koppel.errors import FatalSyncError
from koppel.formats import default_registry
from koppel.hooks.ipsoft import DOCUMENT_OPERATIONS, CreatedDocument, IPSoftFaultError, IPSoftHook
from koppel.rules.financial_mutation import post_order
from koppel.sandbox.ipsoft import UNKNOWN_CUSTOMER_NUMBER, IPSoftServer, Product
from tests.fixtures.webshop_sale import webshop_sale as _order

pytestmark = pytest.mark.integration

CONN_ID = "ipsoft_test"
NS = {"ips": "urn:koppel:ipsoft:erp:1", "soap": "http://schemas.xmlsoap.org/soap/envelope/"}
DEMO_SKUS = {
    "NZ2401-NAVY-S",
    "NZ2401-NAVY-M",
    "NZ2401-NAVY-L",
    "NZ2402-SAND-30",
    "NZ2402-SAND-32",
    "NZ2402-SAND-34",
    "NZ2403-OKER-OS",
}


def _request(document_type: str, document: CanonicalModel) -> bytes:
    """The request Koppel's mapping for ``document_type`` writes, checked against the XSD."""
    operation = DOCUMENT_OPERATIONS[document_type]
    name = "ipsoft.create_journal_entry" if document_type == "financial_mutation" else None
    fmt = default_registry().get(name or f"ipsoft.create_{document_type}")
    payload = fmt.write(document, context={})
    assert fmt.validate(payload, source=operation) == []
    return payload


def _posting(reference: str = "WS-20451", **changes: Any) -> FinancialMutation:
    mutation = post_order(_order(reference), MutationLevel.ADVANCED).mutation
    assert mutation is not None
    return mutation.model_copy(update=changes)


def _stock(server: IPSoftServer) -> dict[tuple[str, str], Decimal]:
    return {key: item.available for key, item in server.state.stock.items()}


def _documents(server: IPSoftServer) -> dict[str, int]:
    state = server.state
    return {
        "orders": len(state.orders),
        "quotes": len(state.quotes),
        "invoices": len(state.invoices),
        "direct_invoices": len(state.direct_invoices),
        "sales_invoices": len(state.sales_invoices),
        "journal_entries": len(state.journal_entries),
    }


# --------------------------------------------------------------------------- FindProducts


def test_known_skus_are_the_ones_ipsoft_has(ipsoft_server: IPSoftServer) -> None:
    hook = IPSoftHook(CONN_ID)
    asked = ["NZ2401-NAVY-M", "NZ9999-NONE-XL", "NZ2403-OKER-OS", "NZ2401-NAVY-M"]
    assert hook.known_skus(asked) == {"NZ2401-NAVY-M", "NZ2403-OKER-OS"}
    (call,) = [args for op, args in ipsoft_server.calls if op == "FindProducts"]
    assert call["Sku"] == "NZ2401-NAVY-M"


def test_no_skus_ask_nothing(ipsoft_server: IPSoftServer) -> None:
    assert IPSoftHook(CONN_ID).known_skus([]) == set()
    assert ipsoft_server.calls == []


def test_many_skus_are_asked_in_chunks_of_500(ipsoft_server: IPSoftServer) -> None:
    skus = [f"NZ9{i:04d}-X" for i in range(1203)] + sorted(DEMO_SKUS)
    assert IPSoftHook(CONN_ID).known_skus(iter(skus)) == DEMO_SKUS
    assert [op for op, _ in ipsoft_server.calls] == ["FindProducts"] * 3


# --------------------------------------------------------------------------- every Create


def _prepare(server: IPSoftServer, document_type: str) -> bytes:
    """The request for ``document_type``; an invoice first needs its order in IPSoft."""
    if document_type == "invoice":
        IPSoftHook(CONN_ID).create_document(_request("order", _order()))
    if document_type == "financial_mutation":
        return _request(document_type, _posting())
    return _request(document_type, _order())


_PREFIXES = {
    "quote": "Q-",
    "order": "SO-",
    "invoice": "INV-",
    "direct_invoice": "INV-",
    "sales_invoice": "INV-",
    "financial_mutation": "JE-",
}


@pytest.mark.parametrize("document_type", list(DOCUMENT_OPERATIONS))
def test_each_document_is_created_once_and_a_repeat_changes_nothing(
    ipsoft_server: IPSoftServer, document_type: str
) -> None:
    hook = IPSoftHook(CONN_ID)
    request = _prepare(ipsoft_server, document_type)
    first = hook.create_document(request)
    after_first = (_documents(ipsoft_server), _stock(ipsoft_server))
    again = hook.create_document(request)
    reference = "WS-20451"
    operation = DOCUMENT_OPERATIONS[document_type]
    assert first == CreatedDocument(first.number, reference, True, operation)
    assert first.number.startswith(_PREFIXES[document_type])
    assert again == CreatedDocument(first.number, reference, False, operation)
    assert (_documents(ipsoft_server), _stock(ipsoft_server)) == after_first
    assert hook.document_number(document_type, reference) == first.number


@pytest.mark.parametrize("document_type", list(DOCUMENT_OPERATIONS))
def test_get_document_finds_nothing_for_an_unknown_reference(
    ipsoft_server: IPSoftServer, document_type: str
) -> None:
    assert IPSoftHook(CONN_ID).document_number(document_type, "WS-404") is None


def test_document_not_found_is_a_client_fault_with_its_code(ipsoft_server: IPSoftServer) -> None:
    envelope = f"""<soap:Envelope xmlns:soap="{NS["soap"]}" xmlns:ips="{NS["ips"]}">
<soap:Body><ips:GetDocumentRequest><ips:DocumentType>quote</ips:DocumentType>
<ips:SourceReference>WS-404</ips:SourceReference></ips:GetDocumentRequest></soap:Body>
</soap:Envelope>"""
    answer = requests.post(
        ipsoft_server.url,
        data=envelope.encode(),
        auth=(ipsoft_server.username, ipsoft_server.password),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=5,
    )
    assert answer.status_code == 500
    root = etree.fromstring(answer.content)
    assert root.xpath("//faultcode/text()") == ["soap:Client"]
    assert root.xpath("//ips:Error/ips:ErrorCode/text()", namespaces=NS) == ["DOCUMENT_NOT_FOUND"]


def test_an_unknown_document_type_is_refused_before_any_call(ipsoft_server: IPSoftServer) -> None:
    with pytest.raises(ValueError, match="credit_memo"):
        IPSoftHook(CONN_ID).document_number("credit_memo", "WS-20451")
    assert ipsoft_server.calls == []


def test_create_document_refuses_a_request_that_is_no_create(ipsoft_server: IPSoftServer) -> None:
    request = b'<ips:GetOrderRequest xmlns:ips="urn:koppel:ipsoft:erp:1"/>'
    with pytest.raises(FatalSyncError, match="CreateQuoteRequest"):
        IPSoftHook(CONN_ID).create_document(request)
    assert ipsoft_server.calls == []


def test_create_document_sends_create_order_too(ipsoft_server: IPSoftServer) -> None:
    created = IPSoftHook(CONN_ID).create_document(_request("order", _order()))
    assert (created.operation, created.reference) == ("CreateOrder", "WS-20451")
    assert ipsoft_server.state.orders["WS-20451"].order_number == created.number


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("document_type", ["quote", "direct_invoice", "sales_invoice"])
def test_an_unknown_customer_is_refused_and_nothing_is_made(
    ipsoft_server: IPSoftServer, document_type: str
) -> None:
    stock = _stock(ipsoft_server)
    buyer = Party(name="Verdwenen winkel", erp_reference=UNKNOWN_CUSTOMER_NUMBER)
    with pytest.raises(IPSoftFaultError) as raised:
        IPSoftHook(CONN_ID).create_document(_request(document_type, _order(buyer=buyer)))
    assert raised.value.code == "UNKNOWN_CUSTOMER"
    assert UNKNOWN_CUSTOMER_NUMBER in raised.value.fault_message
    assert set(_documents(ipsoft_server).values()) == {0}
    assert _stock(ipsoft_server) == stock


@pytest.mark.parametrize("document_type", ["quote", "invoice", "direct_invoice"])
def test_an_unknown_sku_is_refused_and_nothing_is_made(
    ipsoft_server: IPSoftServer, document_type: str
) -> None:
    hook = IPSoftHook(CONN_ID)
    if document_type == "invoice":
        hook.create_document(_request("order", _order()))
    before = (_documents(ipsoft_server), _stock(ipsoft_server))
    lines = [
        *_order().lines,
        OrderLine(line_id="3", sku="NZ9999-NONE-XL", quantity=1, unit_price=1),
    ]
    with pytest.raises(IPSoftFaultError) as raised:
        hook.create_document(_request(document_type, _order(lines=lines)))
    assert raised.value.code == "UNKNOWN_SKU"
    assert "line 3: SKU NZ9999-NONE-XL" in raised.value.fault_message
    assert (_documents(ipsoft_server), _stock(ipsoft_server)) == before


def test_a_sales_invoice_needs_no_articles(ipsoft_server: IPSoftServer) -> None:
    lines = [OrderLine(line_id="1", description="Advies (uur)", quantity=2, unit_price=95)]
    created = IPSoftHook(CONN_ID).create_document(_request("sales_invoice", _order(lines=lines)))
    invoice = ipsoft_server.state.sales_invoices["WS-20451"]
    assert (invoice.invoice_number, invoice.revenue_account) == (created.number, "8000")
    assert [line.sku for line in invoice.amounts.lines] == [None]


def test_a_sales_invoice_keeps_the_customers_own_revenue_account(
    ipsoft_server: IPSoftServer,
) -> None:
    customer = ipsoft_server.state.customers["C10023"]
    ipsoft_server.state.modify(customer, revenue_account="8020")
    IPSoftHook(CONN_ID).create_document(_request("sales_invoice", _order()))
    assert ipsoft_server.state.sales_invoices["WS-20451"].revenue_account == "8020"


def test_an_invoice_for_an_order_ipsoft_lacks_is_refused(ipsoft_server: IPSoftServer) -> None:
    with pytest.raises(IPSoftFaultError) as raised:
        IPSoftHook(CONN_ID).create_document(_request("invoice", _order()))
    assert raised.value.code == "ORDER_NOT_FOUND"
    assert "WS-20451" in raised.value.fault_message
    assert ipsoft_server.state.invoices == {}


def test_an_invoice_belongs_to_its_order_and_moves_no_stock(ipsoft_server: IPSoftServer) -> None:
    hook = IPSoftHook(CONN_ID)
    order = hook.create_document(_request("order", _order()))
    stock = _stock(ipsoft_server)
    invoice = hook.create_document(_request("invoice", _order()))
    stored = ipsoft_server.state.invoices["WS-20451"]
    assert (stored.invoice_number, stored.order_number) == (invoice.number, order.number)
    assert stored.customer_number == "C10023"
    assert stored.amounts.total_amount == Decimal("64.87")
    assert _stock(ipsoft_server) == stock
    assert ipsoft_server.state.journal_entries == {}


def test_a_credit_note_invoices_the_refunded_order(ipsoft_server: IPSoftServer) -> None:
    hook = IPSoftHook(CONN_ID)
    order = hook.create_document(_request("order", _order()))
    refund = _order("WS-20451-R1", refund=True, original_order_id="WS-20451")
    hook.create_document(_request("invoice", refund))
    stored = ipsoft_server.state.invoices["WS-20451-R1"]
    assert (stored.order_number, stored.amounts.credit_note) == (order.number, True)
    assert stored.credited_reference == "WS-20451"


# --------------------------------------------------------------------------- direct invoices


def test_a_direct_invoice_lowers_stock_once_and_books_one_balanced_entry(
    ipsoft_server: IPSoftServer,
) -> None:
    hook = IPSoftHook(CONN_ID)
    stock = _stock(ipsoft_server)
    request = _request("direct_invoice", _order())
    created = hook.create_document(request)
    hook.create_document(request)
    sale = ipsoft_server.state.direct_invoices["WS-20451"]
    assert sale.invoice_number == created.number
    assert sale.order_number.startswith("SO-")
    assert _stock(ipsoft_server) == {
        **stock,
        ("NZ2401-NAVY-M", "ZAANDAM"): stock["NZ2401-NAVY-M", "ZAANDAM"] - 3,
        ("NZ2403-OKER-OS", "ZAANDAM"): Decimal(-1),  # had none: sold anyway
    }
    assert sale.negative_stock == ("NZ2403-OKER-OS",)
    (entry,) = ipsoft_server.state.journal_entries.values()
    assert entry.entry_number == sale.journal_entry_number
    assert entry.reference == sale.invoice_number
    assert entry.entry_reference == "WS-20451"
    lines = [(line.account, line.debit, line.credit, line.tax_code) for line in entry.lines]
    # Gross 21 %: 59.97 + 4.95 - 5.00 = 59.92, tax as stated 10.41; 9 %: 4.95, tax 0.41.
    assert lines == [
        ("1300", Decimal("64.87"), Decimal(0), None),
        ("8010", Decimal(0), Decimal("4.54"), "9"),
        ("8000", Decimal(0), Decimal("49.51"), "21"),
        ("1510", Decimal(0), Decimal("0.41"), "9"),
        ("1500", Decimal(0), Decimal("10.41"), "21"),
    ]
    debit, credit = entry.totals()
    assert debit == credit == Decimal("64.87")


def test_a_direct_invoice_books_a_source_rounding_on_the_rounding_account(
    ipsoft_server: IPSoftServer,
) -> None:
    lines = [
        OrderLine(line_id="1", sku="NZ2401-NAVY-L", quantity=3, unit_price=Decimal("10.33"),
                  tax_rate=Decimal(21)),
    ]  # fmt: skip
    # Net 30.99 and tax 6.51 make 37.50; the webshop rounded its own way and charged 37.51.
    sale = _order(prices_include_tax=False, lines=lines, costs=[], tax_totals=[],
                  total_amount=Decimal("37.51"))  # fmt: skip
    IPSoftHook(CONN_ID).create_document(_request("direct_invoice", sale))
    (entry,) = ipsoft_server.state.journal_entries.values()
    assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
        ("1300", Decimal("37.51"), Decimal(0)),
        ("8000", Decimal(0), Decimal("30.99")),
        ("1500", Decimal(0), Decimal("6.51")),
        ("8999", Decimal(0), Decimal("0.01")),
    ]


def test_a_sku_without_any_stock_record_goes_negative(ipsoft_server: IPSoftServer) -> None:
    ipsoft_server.state.put(Product("A999", "Nieuwe mok", sku="NZ2499-MOK-OS"))
    lines = [OrderLine(line_id="1", sku="NZ2499-MOK-OS", quantity=2, unit_price=Decimal("12.10"),
                       tax_rate=Decimal(21))]  # fmt: skip
    sale = _order(lines=lines, costs=[], tax_totals=[], total_amount=None)
    IPSoftHook(CONN_ID).create_document(_request("direct_invoice", sale))
    assert ipsoft_server.state.stock["NZ2499-MOK-OS", ""].available == Decimal(-2)
    (change,) = ipsoft_server.state.direct_invoices["WS-20451"].stock_changes
    assert (change.change, change.available_after, change.went_negative) == (
        Decimal(-2),
        Decimal(-2),
        True,
    )
    (entry,) = ipsoft_server.state.journal_entries.values()
    debit, credit = entry.totals()
    assert debit == credit == Decimal("24.20")


def test_a_direct_credit_note_returns_the_goods_and_reverses_the_entry(
    ipsoft_server: IPSoftServer,
) -> None:
    stock = _stock(ipsoft_server)
    refund = _order("WS-20451-R1", refund=True, original_order_id="WS-20451")
    IPSoftHook(CONN_ID).create_document(_request("direct_invoice", refund))
    assert (
        _stock(ipsoft_server)["NZ2401-NAVY-M", "ZAANDAM"] == stock["NZ2401-NAVY-M", "ZAANDAM"] + 3
    )
    (entry,) = ipsoft_server.state.journal_entries.values()
    assert (entry.lines[0].account, entry.lines[0].credit) == ("1300", Decimal("64.87"))
    assert entry.totals() == (Decimal("64.87"), Decimal("64.87"))


def test_concurrent_twins_of_a_direct_invoice_sell_once(ipsoft_server: IPSoftServer) -> None:
    stock = _stock(ipsoft_server)["NZ2401-NAVY-M", "ZAANDAM"]
    request = _request("direct_invoice", _order())
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: IPSoftHook(CONN_ID).create_document(request), range(4)))
    assert sorted(answer.created for answer in answers) == [False, False, False, True]
    assert len({answer.number for answer in answers}) == 1
    assert _stock(ipsoft_server)["NZ2401-NAVY-M", "ZAANDAM"] == stock - 3
    assert len(ipsoft_server.state.journal_entries) == 1


def test_a_retry_after_a_timeout_sells_once(
    ipsoft_server: IPSoftServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = json.loads(ipsoft_server.airflow_connection(timeout=1))
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    stock = _stock(ipsoft_server)["NZ2401-NAVY-M", "ZAANDAM"]
    ipsoft_server.delay_next(3, "CreateDirectInvoice")
    result = IPSoftHook(CONN_ID).create_document(_request("direct_invoice", _order()))
    assert result.created is False  # the first call sold it; its answer never arrived
    assert [op for op, _ in ipsoft_server.calls].count("CreateDirectInvoice") == 2
    assert _stock(ipsoft_server)["NZ2401-NAVY-M", "ZAANDAM"] == stock - 3
    assert len(ipsoft_server.state.journal_entries) == 1


# --------------------------------------------------------------------------- journal entries


@pytest.mark.parametrize("level", list(MutationLevel))
def test_every_posting_level_is_booked_as_posted(
    ipsoft_server: IPSoftServer, level: MutationLevel
) -> None:
    mutation = post_order(_order(), level).mutation
    assert mutation is not None
    created = IPSoftHook(CONN_ID).create_document(_request("financial_mutation", mutation))
    entry = ipsoft_server.state.journal_entries[mutation.source_document_id]
    assert entry.entry_number == created.number
    assert [(ln.account, ln.debit, ln.credit) for ln in entry.lines] == [
        (ln.account, ln.debit, ln.credit) for ln in mutation.lines
    ]
    assert entry.booking_date == date(2026, 11, 28)


def test_a_document_is_posted_once_whatever_the_level(ipsoft_server: IPSoftServer) -> None:
    """The entry is keyed by the source document: a later change of level books nothing twice."""
    hook = IPSoftHook(CONN_ID)
    created = []
    for level in (MutationLevel.SIMPLE, MutationLevel.RECOMMENDED):
        mutation = post_order(_order(), level).mutation
        assert mutation is not None
        created.append(hook.create_document(_request("financial_mutation", mutation)))
    assert [c.created for c in created] == [True, False]
    assert created[0].number == created[1].number
    assert list(ipsoft_server.state.journal_entries) == ["WS-20451"]


def _entry(*lines: PostingLine) -> FinancialMutation:
    return FinancialMutation(
        mutation_id="MEMO-7",
        source_document_id="MEMO-7",
        level=MutationLevel.SIMPLE,
        booking_date=date(2026, 11, 28),
        lines=list(lines),
    )


@pytest.mark.parametrize(
    ("lines", "code", "detail"),
    [
        (
            (PostingLine(account="1300", debit=Decimal("10.00")),
             PostingLine(account="8000", credit=Decimal("9.99"))),
            "UNBALANCED_ENTRY",
            "debits 10.00 differ from credits 9.99",
        ),
        (
            (PostingLine(account="1300", debit=Decimal("10.00")),
             PostingLine(account="4711", credit=Decimal("10.00"))),
            "UNKNOWN_ACCOUNT",
            "account 4711",
        ),
        (
            (PostingLine(account="1300", debit=Decimal("10.00"), credit=Decimal("1.00")),
             PostingLine(account="8000", credit=Decimal("9.00"))),
            "INVALID_REQUEST",
            "line 1 has both a debit and a credit",
        ),
    ],
)  # fmt: skip
def test_a_faulty_journal_entry_is_refused_and_nothing_is_booked(
    ipsoft_server: IPSoftServer, lines: tuple[PostingLine, ...], code: str, detail: str
) -> None:
    with pytest.raises(IPSoftFaultError) as raised:
        IPSoftHook(CONN_ID).create_document(_request("financial_mutation", _entry(*lines)))
    assert raised.value.code == code
    assert detail in raised.value.fault_message
    assert ipsoft_server.state.journal_entries == {}
    assert [op for op, _ in ipsoft_server.calls].count("CreateJournalEntry") == 1  # never retried


@pytest.mark.parametrize("ipsoft_server", ["empty"], indirect=True)
def test_an_ipsoft_without_a_chart_knows_no_account(ipsoft_server: IPSoftServer) -> None:
    with pytest.raises(IPSoftFaultError) as raised:
        IPSoftHook(CONN_ID).create_document(_request("financial_mutation", _posting()))
    assert raised.value.code == "UNKNOWN_ACCOUNT"


def test_a_quote_keeps_its_line_amounts_and_charges(ipsoft_server: IPSoftServer) -> None:
    """A quote's shipping and order discount reach IPSoft (before, CreateQuote had no Charges)."""
    quote = _order("WS-Q-1")
    IPSoftHook(CONN_ID).create_document(_request("quote", quote))
    stored = ipsoft_server.state.quotes["WS-Q-1"]
    assert [line.line_amount for line in stored.lines] == [Decimal("59.97"), None]
    assert [(c.kind, c.amount) for c in stored.charges] == [
        ("shipping", Decimal("4.95")),
        ("discount", Decimal("-5.00")),
    ]
    assert stored.prices_include_tax is True
