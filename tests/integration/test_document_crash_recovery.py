"""Seed 001's document types after a SIGKILL at any step, and two order runs at once.

Each crash case runs a webshop or CRM flow to IPSoft in a process of its own
that kills itself at one failpoint (``koppel.faults``), against the webshop,
CRM and IPSoft emulators on 127.0.0.1 and a real PostgreSQL store. Then the
same run is retried (as Airflow retries a task) and the next scheduled run
follows. Whatever the step, IPSoft must hold each document once (a direct
invoice's stock lowered once, a posting booked once and balanced), the source
must carry one export mark with IPSoft's number, and every message must end
delivered (or, for an unknown product, held) with no claim left behind.

The concurrency case starts two runs of the orders flow together, as two
workers would (a scheduled run and an "export now"), over one webshop, one
IPSoft and one store.
"""

from __future__ import annotations

import shutil
import signal
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from koppel.sandbox.crm import CrmServer
from koppel.sandbox.ipsoft import IPSoftServer
from koppel.sandbox.webshop import WebshopServer
from koppel.store import Direction, Message, MessageStatus, MessageStore
from tests.fixtures.crm import CRM_MERCHANT
from tests.fixtures.webshop import SHOP_MERCHANT
from tests.integration.flow_processes import finished, run_flow, start_flow, states

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHOP = "webshop_shop"
CRM = "crm_advisers"
#: (failpoint, hit) on the API path: stored, decided, sent to IPSoft (its answer not yet
#: recorded), recorded delivered, marked exported in the source (the mark not yet recorded).
#: The direct invoices flow has one message (W-1004), so every point is hit once.
DIRECT_INVOICE_POINTS = [
    ("receive.stored", 1),
    ("process.decided", 1),
    ("deliver.sent", 1),
    ("process.delivered", 1),
    ("finish.marked_exported", 1),
]
#: The postings flow has two shipped orders (W-1003, W-1005): the second is mid-batch.
POSTING_POINTS = [
    ("receive.stored", 2),
    ("process.decided", 2),
    ("deliver.sent", 2),
    ("process.delivered", 2),
    ("finish.marked_exported", 1),
]
#: The quotes flow: Q-2026-0001 goes out, Q-2026-0002 (an unknown product) is held.
QUOTE_POINTS = [
    ("process.decided", 1),
    ("deliver.sent", 1),
    ("finish.marked_exported", 1),
]
CASH_SALE = "W-1004"
CASH_SALE_SKU = "NZ2403-OKER-OS"
#: What the postings flow books: the shipped orders and the seeded refund (reversed signs).
POSTED = ("W-1003", "W-1005", "R-1001")
SENT_QUOTE, HELD_QUOTE = "Q-2026-0001", "Q-2026-0002"
PAID, UNKNOWN_PRODUCT = ("W-1001", "W-1003"), "W-1002"


def install(connections_dir: Path, template: str, name: str, body: str) -> Path:
    """The platform template next to a merchant file that extends it; the merchant file's path."""
    shutil.copy(PROJECT_ROOT / "include" / "connections" / template, connections_dir)
    path = connections_dir / f"{name}.yaml"
    path.write_text(body)
    return path


@pytest.fixture
def shop_file(
    connections_dir: Path,
    ipsoft_server: IPSoftServer,
    webshop_server: WebshopServer,
    store_conn_id: str,
) -> Path:
    """The webshop → IPSoft connection over the demo shop and IPSoft's demo catalogue."""
    webshop_server.seed_demo()
    return install(connections_dir, "_webshop_ipsoft.yaml", SHOP, SHOP_MERCHANT)


@pytest.fixture
def crm_file(
    connections_dir: Path,
    ipsoft_server: IPSoftServer,
    crm_server: CrmServer,
    store_conn_id: str,
) -> Path:
    """The CRM → IPSoft connection over the demo CRM and IPSoft's demo catalogue."""
    crm_server.seed_demo()
    return install(connections_dir, "_crm_ipsoft.yaml", CRM, CRM_MERCHANT)


def crash_and_recover(connection_file: Path, flow: str, point: str, hit: int) -> None:
    """Kill a run at the failpoint, then retry it and run the next one: both succeed."""
    killed = run_flow(connection_file, flow, "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    assert states(run_flow(connection_file, flow, "run-1", "run-2")) == {
        "run-1": "success",
        "run-2": "success",
    }


def exports(server: WebshopServer | CrmServer, collection: str) -> dict[str, dict[str, str]]:
    """Each record's export marks, for the records that have any."""
    with server.state.lock:
        records = server.state.collections[collection]
        return {ref: dict(record.exports) for ref, record in records.items() if record.exports}


def inbound(store: MessageStore, connection: str, flow: str) -> dict[str, Message]:
    """The flow's received messages by their document's reference; each reference once."""
    found = store.find(connection_id=connection, flow=flow, direction=Direction.IN)
    keys = Counter(str(m.document_key) for m in found)
    assert all(n == 1 for n in keys.values()), keys  # a record stored once, however many runs
    return {str(m.document_key): m for m in found}


def assert_delivered_once(
    store: MessageStore, connection: str, flow: str, numbers: dict[str, str]
) -> None:
    """Each reference's message delivered and disposed with IPSoft's number; its copy sent once."""
    messages = inbound(store, connection, flow)
    for reference, number in numbers.items():
        message = messages[reference]
        assert message.status is MessageStatus.DELIVERED, message
        assert message.disposition == f"exported:{number}"
        (out,) = store.find(
            connection_id=connection, flow=flow, direction=Direction.OUT, parent_id=message.id
        )
        assert out.status is MessageStatus.DELIVERED
        assert out.disposition == f"soap:{number}"
        assert [a.outcome.value for a in store.attempts(out.id)][-1] == "delivered"
    assert unreleased_claims(store) == 0


def unreleased_claims(store: MessageStore) -> int:
    """Messages some run claimed and never released."""
    with store.engine.connect() as conn:
        query = text("SELECT count(*) FROM messages WHERE claimed_by IS NOT NULL")
        return int(conn.execute(query).scalar_one())


def stock_of(ipsoft: IPSoftServer, sku: str) -> dict[tuple[str, str], Decimal]:
    """What IPSoft has available of ``sku``, per stock record."""
    with ipsoft.state.lock:
        return {key: item.available for key, item in ipsoft.state.stock.items() if key[0] == sku}


@pytest.mark.parametrize(
    ("point", "hit"), DIRECT_INVOICE_POINTS, ids=[p for p, _ in DIRECT_INVOICE_POINTS]
)
def test_a_cash_sale_killed_at_any_step_is_one_direct_invoice_lowering_stock_once(
    point: str,
    hit: int,
    shop_file: Path,
    ipsoft_server: IPSoftServer,
    webshop_server: WebshopServer,
    store: MessageStore,
) -> None:
    before = stock_of(ipsoft_server, CASH_SALE_SKU)
    assert before

    crash_and_recover(shop_file, "direct_invoices", point, hit)

    assert set(ipsoft_server.state.direct_invoices) == {CASH_SALE}
    sale = ipsoft_server.state.direct_invoices[CASH_SALE]
    assert [(c.sku, c.change) for c in sale.stock_changes] == [(CASH_SALE_SKU, Decimal(-1))]
    after = stock_of(ipsoft_server, CASH_SALE_SKU)
    assert sum(after.values()) == sum(before.values()) - 1  # lowered exactly once
    assert set(ipsoft_server.state.journal_entries) == {sale.invoice_number}
    entry = ipsoft_server.state.journal_entries[sale.invoice_number]
    debit, credit = entry.totals()
    assert debit == credit == Decimal("24.95")
    assert exports(webshop_server, "orders") == {CASH_SALE: {"direct_invoice": sale.invoice_number}}
    assert_delivered_once(store, SHOP, "direct_invoices", {CASH_SALE: sale.invoice_number})


@pytest.mark.parametrize(
    ("point", "hit"), POSTING_POINTS, ids=[f"{p}:{n}" for p, n in POSTING_POINTS]
)
def test_a_posting_run_killed_at_any_step_books_each_order_once_and_balanced(
    point: str,
    hit: int,
    shop_file: Path,
    ipsoft_server: IPSoftServer,
    webshop_server: WebshopServer,
    store: MessageStore,
) -> None:
    webshop_server.state.set_status("orders", "W-1003", "shipped")  # W-1005 is shipped already

    crash_and_recover(shop_file, "postings", point, hit)

    entries = ipsoft_server.state.journal_entries
    assert set(entries) == set(POSTED)
    for reference in POSTED:
        debit, credit = entries[reference].totals()
        assert debit == credit > 0
        body = webshop_server.record_json("orders", reference)
        assert debit == Decimal(body["grand_total"])
    assert exports(webshop_server, "orders") == {
        ref: {"financial_mutation": entries[ref].entry_number} for ref in POSTED
    }
    assert_delivered_once(
        store, SHOP, "postings", {ref: entries[ref].entry_number for ref in POSTED}
    )


@pytest.mark.parametrize(("point", "hit"), QUOTE_POINTS, ids=[p for p, _ in QUOTE_POINTS])
def test_a_quote_run_killed_at_any_step_creates_each_quote_once_and_holds_the_unknown(
    point: str,
    hit: int,
    crm_file: Path,
    ipsoft_server: IPSoftServer,
    crm_server: CrmServer,
    store: MessageStore,
) -> None:
    crash_and_recover(crm_file, "quotes", point, hit)

    assert set(ipsoft_server.state.quotes) == {SENT_QUOTE}
    number = ipsoft_server.state.quotes[SENT_QUOTE].quote_number
    assert exports(crm_server, "quotes") == {SENT_QUOTE: {"quote": number}}
    assert_delivered_once(store, CRM, "quotes", {SENT_QUOTE: number})
    held = inbound(store, CRM, "quotes")[HELD_QUOTE]
    assert held.status is MessageStatus.HELD
    assert [p.code for p in held.problems if p.severity.value == "error"] == ["product.unknown"]
    assert (
        store.find(connection_id=CRM, flow="quotes", direction=Direction.OUT, parent_id=held.id)
        == []
    )
    asked = [args for op, args in ipsoft_server.calls if op == "CreateQuote"]
    assert asked
    assert not [args for args in asked if HELD_QUOTE in args.values()]  # never sent


def test_two_order_runs_at_once_create_and_mark_each_paid_order_once(
    shop_file: Path,
    ipsoft_server: IPSoftServer,
    webshop_server: WebshopServer,
    store: MessageStore,
) -> None:
    run_ids = ("scheduled__2026-11-29T12:00:00+00:00", "manual__export-now")
    runs = {run_id: start_flow(shop_file, "orders", run_id) for run_id in run_ids}
    outcomes = {run_id: finished(process) for run_id, process in runs.items()}

    assert {run_id: state for run_id, (state, _) in outcomes.items()} == dict.fromkeys(
        run_ids, "success"
    )
    orders = ipsoft_server.state.orders
    assert set(orders) == set(PAID)
    assert exports(webshop_server, "orders") == {
        ref: {"order": orders[ref].order_number} for ref in PAID
    }
    delivered = {run_id: x["process"]["delivered"] for run_id, (_, x) in outcomes.items()}
    assert sum(delivered.values()) == len(PAID)  # each order delivered by exactly one run
    created = [args for op, args in ipsoft_server.calls if op == "CreateOrder"]
    assert len(created) == len(PAID)  # and sent to IPSoft once
    assert_delivered_once(store, SHOP, "orders", {ref: orders[ref].order_number for ref in PAID})
    held = inbound(store, SHOP, "orders")[UNKNOWN_PRODUCT]
    assert held.status is MessageStatus.HELD
    assert UNKNOWN_PRODUCT not in orders
