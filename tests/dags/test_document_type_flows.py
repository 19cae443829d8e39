"""Seed 001's document types end to end: webshop and CRM to IPSoft, run by ``dag.test()``.

The webshop, the CRM and IPSoft are the emulators on 127.0.0.1 (HTTP/JSON and
SOAP through the WSDL), the store a real PostgreSQL. Each flow creates its
document type in IPSoft once; a second run creates nothing twice; an order
with a product IPSoft does not know waits and goes out once the product exists.
Assertions are on what IPSoft and the source hold afterwards and on the
stored messages.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update

from koppel.documents import MutationLevel, Order
from koppel.formats import default_registry
from koppel.rules.financial_mutation import DEFAULT_ACCOUNTS, post_order
from koppel.sandbox.crm import CrmServer
from koppel.sandbox.ipsoft import IPSoftServer, Product
from koppel.sandbox.webshop import WebshopServer
from koppel.store import Direction, MessageStatus, MessageStore
from koppel.store.schema import messages
from tests.fixtures.airflow_env import dag_bag
from tests.fixtures.crm import CRM_MERCHANT
from tests.fixtures.webshop import SHOP_MERCHANT

pytestmark = pytest.mark.dagrun

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHOP = "webshop_test"
CRM = "crm_test"
SHOP_FLOWS_SETTINGS = """\
flows:
  orders: {retries: 0}
  invoices: {retries: 0}
  direct_invoices: {retries: 0}
  postings: {retries: 0, options: {ledger_level: extreme}}
"""
CRM_FLOWS_SETTINGS = """\
flows:
  quotes: {retries: 0}
  sales_invoices: {retries: 0}
"""


def install(connections_dir: Path, template: str, name: str, body: str) -> None:
    shutil.copy(PROJECT_ROOT / "include" / "connections" / template, connections_dir)
    (connections_dir / f"{name}.yaml").write_text(body)


@pytest.fixture
def shop(
    airflow_db: Path,
    connections_dir: Path,
    ipsoft_server: IPSoftServer,
    webshop_server: WebshopServer,
    store_conn_id: str,
) -> tuple[IPSoftServer, WebshopServer]:
    install(connections_dir, "_webshop_ipsoft.yaml", SHOP, SHOP_MERCHANT + SHOP_FLOWS_SETTINGS)
    webshop_server.seed_demo()
    return ipsoft_server, webshop_server


@pytest.fixture
def crm(
    airflow_db: Path,
    connections_dir: Path,
    ipsoft_server: IPSoftServer,
    crm_server: CrmServer,
    store_conn_id: str,
) -> tuple[IPSoftServer, CrmServer]:
    install(connections_dir, "_crm_ipsoft.yaml", CRM, CRM_MERCHANT + CRM_FLOWS_SETTINGS)
    crm_server.seed_demo()
    return ipsoft_server, crm_server


def run(connection: str, flow: str) -> str:
    bag = dag_bag()
    assert bag.import_errors == {}
    return str(bag.dags[f"{connection}__{flow}"].test().state)


def inbound(store: MessageStore, connection: str, flow: str) -> dict[str, MessageStatus]:
    found = store.find(connection_id=connection, flow=flow, direction=Direction.IN)
    return {str(m.document_key): m.status for m in found}


def exports(server: WebshopServer | CrmServer, collection: str) -> dict[str, dict[str, str]]:
    with server.state.lock:
        records = server.state.collections[collection]
        return {ref: dict(record.exports) for ref, record in records.items() if record.exports}


def creates(ipsoft: IPSoftServer) -> dict[str, int]:
    """How many documents of each kind IPSoft holds."""
    state = ipsoft.state
    with state.lock:
        return {
            "orders": len(state.orders),
            "quotes": len(state.quotes),
            "invoices": len(state.invoices),
            "direct_invoices": len(state.direct_invoices),
            "sales_invoices": len(state.sales_invoices),
            "journal_entries": len(state.journal_entries),
        }


def test_paid_orders_become_orders_once_and_an_unknown_product_waits_for_it(
    shop: tuple[IPSoftServer, WebshopServer], store: MessageStore
) -> None:
    ipsoft, webshop = shop
    assert run(SHOP, "orders") == "success"

    assert set(ipsoft.state.orders) == {"W-1001", "W-1003"}
    w1001 = ipsoft.state.orders["W-1001"]
    assert w1001.customer_number == "C10023"
    assert [(ln.sku, ln.quantity) for ln in w1001.lines] == [
        ("NZ2401-NAVY-M", Decimal(2)),
        ("NZ2402-SAND-32", Decimal(1)),
    ]
    # The net price after the 5.00 coupon (2 x 27.45 = 54.90), and the shipping and fee.
    assert [ln.unit_price for ln in w1001.lines] == [Decimal("27.45"), Decimal("59.95")]
    assert [(c.kind, c.amount) for c in w1001.charges] == [
        ("shipping", Decimal("4.95")),
        ("fee", Decimal("0.29")),
    ]
    assert exports(webshop, "orders") == {
        ref: {"order": ipsoft.state.orders[ref].order_number} for ref in ("W-1001", "W-1003")
    }
    statuses = inbound(store, SHOP, "orders")
    assert statuses["W-1002"] is MessageStatus.HELD
    (held,) = store.find(connection_id=SHOP, flow="orders", statuses=[MessageStatus.HELD])
    unknown = [p for p in held.problems if p.code == "product.unknown"]
    assert [(p.severity.value, p.field) for p in unknown] == [("error", "lines[1].sku")]
    assert "KOP-UNKNOWN-1 does not exist" in unknown[0].message

    before = creates(ipsoft)
    assert run(SHOP, "orders") == "success"  # nothing new: nothing created twice
    assert creates(ipsoft) == before
    assert inbound(store, SHOP, "orders")["W-1002"] is MessageStatus.HELD

    ipsoft.state.put(Product(article_id="A-GIFT", name="Cadeaubon-verpakking", sku="KOP-UNKNOWN-1"))
    assert run(SHOP, "orders") == "success"
    assert set(ipsoft.state.orders) == {"W-1001", "W-1002", "W-1003"}
    assert exports(webshop, "orders")["W-1002"] == {
        "order": ipsoft.state.orders["W-1002"].order_number
    }
    assert inbound(store, SHOP, "orders")["W-1002"] is MessageStatus.DELIVERED


def test_a_shipped_order_is_invoiced_against_its_order_once(
    shop: tuple[IPSoftServer, WebshopServer], store: MessageStore
) -> None:
    ipsoft, webshop = shop
    webshop.state.set_status("orders", "W-1005", "paid")
    assert run(SHOP, "orders") == "success"
    order_number = ipsoft.state.orders["W-1005"].order_number
    webshop.state.set_status("orders", "W-1005", "shipped")

    assert run(SHOP, "invoices") == "success"
    invoice = ipsoft.state.invoices["W-1005"]
    assert invoice.order_number == order_number
    assert exports(webshop, "orders")["W-1005"] == {
        "order": order_number,
        "invoice": invoice.invoice_number,
    }
    before = creates(ipsoft)
    assert run(SHOP, "invoices") == "success"
    assert creates(ipsoft) == before


def test_an_invoice_number_whose_recording_was_lost_is_asked_of_ipsoft(
    shop: tuple[IPSoftServer, WebshopServer], store: MessageStore
) -> None:
    """A crash between IPSoft's answer and its recording: the finish step asks GetDocument."""
    ipsoft, webshop = shop
    webshop.state.set_status("orders", "W-1005", "paid")
    assert run(SHOP, "orders") == "success"
    webshop.state.set_status("orders", "W-1005", "shipped")
    assert run(SHOP, "invoices") == "success"
    number = ipsoft.state.invoices["W-1005"].invoice_number
    with store.engine.begin() as conn:  # as if the process died before both were recorded
        conn.execute(
            update(messages)
            .where(messages.c.connection_id == SHOP, messages.c.flow == "invoices")
            .values(disposition=None)
        )
    with webshop.state.lock:
        webshop.state.collections["orders"]["W-1005"].exports.pop("invoice")

    assert run(SHOP, "invoices") == "success"
    assert exports(webshop, "orders")["W-1005"]["invoice"] == number
    assert len(ipsoft.state.invoices) == 1


def test_an_invoice_for_an_order_ipsoft_does_not_have_is_refused(
    shop: tuple[IPSoftServer, WebshopServer], store: MessageStore
) -> None:
    ipsoft, _ = shop
    assert run(SHOP, "invoices") == "failed"  # W-1005 was never created as an order
    assert ipsoft.state.invoices == {}
    (refused,) = store.find(connection_id=SHOP, flow="invoices", direction=Direction.IN)
    assert refused.status is MessageStatus.REJECTED
    assert any("ORDER_NOT_FOUND" in p.message for p in refused.problems)


def test_a_cash_sale_is_a_direct_invoice_lowering_stock_once(
    shop: tuple[IPSoftServer, WebshopServer], store: MessageStore
) -> None:
    ipsoft, webshop = shop
    stock_before = {key: item.available for key, item in ipsoft.state.stock.items()}

    assert run(SHOP, "direct_invoices") == "success"
    sale = ipsoft.state.direct_invoices["W-1004"]
    assert [(c.sku, c.change) for c in sale.stock_changes] == [("NZ2403-OKER-OS", Decimal(-1))]
    entry = ipsoft.state.journal_entries[sale.invoice_number]
    debit, credit = entry.totals()
    assert debit == credit == Decimal("24.95")
    assert exports(webshop, "orders")["W-1004"] == {"direct_invoice": sale.invoice_number}
    changed = {
        key: item.available
        for key, item in ipsoft.state.stock.items()
        if stock_before.get(key) != item.available
    }

    assert run(SHOP, "direct_invoices") == "success"
    assert len(ipsoft.state.direct_invoices) == 1
    assert {
        key: item.available for key, item in ipsoft.state.stock.items() if key in changed
    } == changed  # lowered once


def test_a_shipped_order_is_posted_to_the_ledger_balanced_with_its_rounding_line(
    shop: tuple[IPSoftServer, WebshopServer], store: MessageStore
) -> None:
    """The awkward order at the extreme level: IPSoft books exactly what Koppel computed."""
    ipsoft, webshop = shop
    webshop.state.set_status("orders", "W-1003", "shipped")

    # W-1005 was shipped already and R-1001 refunded: posted too, the refund with reversed signs.
    assert run(SHOP, "postings") == "success"
    assert set(ipsoft.state.journal_entries) == {"W-1003", "W-1005", "R-1001"}
    refund = ipsoft.state.journal_entries["R-1001"]
    refund_debit, refund_credit = refund.totals()
    assert refund_debit == refund_credit
    refunded = Decimal(webshop.record_json("orders", "R-1001")["grand_total"])
    assert [ln.credit for ln in refund.lines if ln.account == DEFAULT_ACCOUNTS.debtor] == [refunded]
    entry = ipsoft.state.journal_entries["W-1003"]
    debit, credit = entry.totals()
    assert debit == credit
    body = webshop.record_json("orders", "W-1003")
    debtor = [ln.debit for ln in entry.lines if ln.account == DEFAULT_ACCOUNTS.debtor]
    assert debtor == [Decimal(body["grand_total"])]  # 9.57, as the shop computed it
    read = default_registry().get("webshop.order").read(json_bytes(body), source="W-1003")
    (order,) = read.documents
    assert isinstance(order, Order)
    expected = post_order(order, MutationLevel.EXTREME, DEFAULT_ACCOUNTS).mutation
    assert expected is not None
    assert [(ln.account, ln.debit, ln.credit) for ln in entry.lines] == [
        (ln.account, ln.debit, ln.credit) for ln in expected.lines
    ]
    assert exports(webshop, "orders")["W-1003"] == {"financial_mutation": entry.entry_number}

    assert run(SHOP, "postings") == "success"
    assert len(ipsoft.state.journal_entries) == 3


def test_quotes_and_won_deals_reach_ipsoft_once(
    crm: tuple[IPSoftServer, CrmServer], store: MessageStore
) -> None:
    ipsoft, source = crm
    assert run(CRM, "quotes") == "success"
    assert set(ipsoft.state.quotes) == {"Q-2026-0001"}
    quote = ipsoft.state.quotes["Q-2026-0001"]
    assert [ln.sku for ln in quote.lines] == ["NZ2401-NAVY-L", "NZ2402-SAND-30"]
    assert str(quote.valid_until) == "2026-12-31"
    assert inbound(store, CRM, "quotes")["Q-2026-0002"] is MessageStatus.HELD

    assert run(CRM, "sales_invoices") == "success"
    assert set(ipsoft.state.sales_invoices) == {"D-2026-0001"}
    invoice = ipsoft.state.sales_invoices["D-2026-0001"]
    assert invoice.customer_number == "C10031"
    assert all(line.sku is None for line in invoice.amounts.lines)
    assert exports(source, "deals") == {"D-2026-0001": {"sales_invoice": invoice.invoice_number}}
    assert exports(source, "quotes") == {"Q-2026-0001": {"quote": quote.quote_number}}

    before = creates(ipsoft)
    assert run(CRM, "quotes") == "success"
    assert run(CRM, "sales_invoices") == "success"
    assert creates(ipsoft) == before


def json_bytes(body: object) -> bytes:
    import json

    return json.dumps(body).encode()
