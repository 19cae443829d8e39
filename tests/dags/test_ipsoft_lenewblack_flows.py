"""The IPSoft <-> Le New Black flows, run by ``dag.test()`` against both emulators and PostgreSQL.

IPSoft answers SOAP through its WSDL; Le New Black answers HTTP/JSON; the
store is a real PostgreSQL. Assertions are on what each side holds afterwards
and on the stored messages.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import or_, update

from koppel.sandbox.ipsoft import IPSoftServer, Product
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.lenewblack.seed import demo_order_skus
from koppel.store import Direction, MessageStatus, MessageStore
from koppel.store.schema import messages
from tests.fixtures.airflow_env import dag_bag
from tests.fixtures.ipsoft import IPSOFT_CONN_ID
from tests.fixtures.lenewblack import NOORDZEE_MERCHANT

pytestmark = pytest.mark.dagrun

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONNECTION = "ipsoft_noordzee"
FLOWS = ("customers", "products", "prices", "stock", "orders")
MERCHANT = (
    NOORDZEE_MERCHANT
    + """\
flows:
"""
    + "".join(f"  {flow}: {{retries: 0}}\n" for flow in FLOWS)
)


@pytest.fixture
def noordzee(
    airflow_db: Path,
    connections_dir: Path,
    ipsoft_server: IPSoftServer,
    lenewblack_server: LeNewBlackServer,
    store_conn_id: str,
) -> tuple[IPSoftServer, LeNewBlackServer]:
    shutil.copy(
        PROJECT_ROOT / "include" / "connections" / "_ipsoft_lenewblack.yaml", connections_dir
    )
    (connections_dir / f"{CONNECTION}.yaml").write_text(MERCHANT)
    lenewblack_server.seed_demo()
    for sku in demo_order_skus():
        ipsoft_server.state.put(Product(article_id=f"A-{sku}", name=sku, sku=sku))
    return ipsoft_server, lenewblack_server


def run(flow: str, conf: dict[str, object] | None = None) -> str:
    bag = dag_bag()
    assert bag.import_errors == {}
    return str(bag.dags[f"{CONNECTION}__{flow}"].test(run_conf=conf).state)


def inbound(store: MessageStore, flow: str) -> list:
    return store.find(connection_id=CONNECTION, flow=flow, direction=Direction.IN)


def test_customers_go_to_the_portal_once_and_again_only_when_changed(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    ipsoft, portal = noordzee
    portal.state.customers.clear()

    assert run("customers") == "success"
    sent = {cid: record.body for cid, record in portal.state.customers.items()}
    assert set(sent) == set(ipsoft.state.customers)
    lotte = sent["C10023"]
    assert lotte["name"] == "Boutique Lotte"
    assert lotte["billing_address"]["city"] == "Amsterdam"
    assert [buyer["name"] for buyer in lotte["buyers"]] == ["Lotte de Vries"]

    assert run("customers") == "success"  # nothing changed: nothing sent again
    assert {cid: r.version for cid, r in portal.state.customers.items()} == dict.fromkeys(sent, 1)

    ipsoft.state.modify(ipsoft.state.customers["C10023"], name="Boutique Lotte & Co")
    assert run("customers") == "success"
    versions = {cid: r.version for cid, r in portal.state.customers.items()}
    assert versions == {**dict.fromkeys(sent, 1), "C10023": 2}
    assert portal.state.customers["C10023"].body["name"] == "Boutique Lotte & Co"
    assert store.get_watermark(CONNECTION, "customers") is not None


def test_products_without_sku_or_valid_ean13_are_not_exported(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    ipsoft, portal = noordzee

    assert run("products") == "success"

    exportable = {
        p.sku
        for p in ipsoft.state.products.values()
        if p.sku and p.ean13 and p.sku.startswith("NZ")
    } - {"NZ2403-OKER-OS"}
    assert exportable <= set(portal.state.products)
    assert "NZ2402-SAND-30" not in portal.state.products  # no EAN13
    assert "NZ2403-OKER-OS" not in portal.state.products  # wrong check digit
    notes = [
        p
        for m in inbound(store, "products")
        for p in m.problems
        if p.code == "product.not_exported"
    ]
    reasons = " ".join(p.message for p in notes)
    assert "NZ2402-SAND-30 is not exported: it has no EAN13" in reasons
    assert "NZ2403-OKER-OS is not exported: EAN13" in reasons
    assert "it has no SKU" in reasons


def test_a_price_for_an_unknown_price_list_is_an_error_and_the_rest_goes_out(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    _, portal = noordzee

    assert run("prices") == "failed"

    assert portal.state.prices["WHOLESALE-EUR"]
    assert portal.state.prices["RETAIL-EUR"]
    assert "OUTLET-EUR" not in portal.state.prices
    problems = [
        p for m in inbound(store, "prices") for p in m.problems if p.code == "delivery.refused"
    ]
    assert len(problems) == 1
    assert "PRICE_LIST_NOT_FOUND" in problems[0].message
    assert {m.status for m in inbound(store, "prices")} == {MessageStatus.REJECTED}


def test_stock_levels_reach_the_portal(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    ipsoft, portal = noordzee

    assert run("stock") == "success"

    expected = {item.sku: item.available for item in ipsoft.state.stock.values()}
    assert {sku: Decimal(r.body["available"]) for sku, r in portal.state.stock.items()} == expected


def test_orders_are_created_once_held_without_reference_and_released_when_fixed(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    ipsoft, portal = noordzee

    assert run("orders") == "success"

    assert set(ipsoft.state.orders) == {"LNB-100045", "LNB-100047"}
    for reference in ("LNB-100045", "LNB-100047"):
        assert portal.state.orders[reference].status == "exported"
        assert portal.state.orders[reference].erp_order_number
    held = {m.document_key: m for m in inbound(store, "orders") if m.status is MessageStatus.HELD}
    assert set(held) == {"LNB-100046", "LNB-100048"}
    assert "has no ERP customer reference" in held["LNB-100046"].problems[-1].message
    assert "invalid ERP reference '12345'" in held["LNB-100048"].problems[-1].message

    portal.state.customers["LNB-4711"].body["erp_reference"] = "C10047"  # fixed in the portal
    assert run("orders") == "success"

    assert set(ipsoft.state.orders) == {"LNB-100045", "LNB-100046", "LNB-100047"}
    assert ipsoft.state.orders["LNB-100046"].customer_number == "C10047"
    statuses: dict[str | None, list[MessageStatus]] = {}
    for message in inbound(store, "orders"):
        statuses.setdefault(message.document_key, []).append(message.status)
    # The held message goes out; the portal's copy with the new reference is not sent twice.
    assert statuses["LNB-100046"] == [MessageStatus.DELIVERED, MessageStatus.SKIPPED]
    assert statuses["LNB-100048"] == [MessageStatus.HELD]
    copy = [m for m in inbound(store, "orders") if m.document_key == "LNB-100046"][-1]
    (note,) = [p for p in copy.problems if p.code == "delivery.already_exported"]
    assert note.severity.value == "info"  # the same order, not a change to warn about

    calls = len([c for c in ipsoft.calls if c[0] == "CreateOrder"])
    assert run("orders") == "success"  # a rerun creates nothing
    assert len([c for c in ipsoft.calls if c[0] == "CreateOrder"]) == calls


def test_export_now_sends_only_the_orders_asked_for(
    noordzee: tuple[IPSoftServer, LeNewBlackServer],
) -> None:
    ipsoft, _ = noordzee

    assert run("orders", {"references": ["LNB-100047"]}) == "success"

    assert set(ipsoft.state.orders) == {"LNB-100047"}


def test_a_retry_after_a_timeout_creates_one_order(
    noordzee: tuple[IPSoftServer, LeNewBlackServer],
    monkeypatch: pytest.MonkeyPatch,
    store: MessageStore,
) -> None:
    ipsoft, _ = noordzee
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{IPSOFT_CONN_ID.upper()}", ipsoft.airflow_connection(timeout=1)
    )
    ipsoft.delay_next(2.5, "CreateOrder")

    assert run("orders", {"references": ["LNB-100045"]}) == "success"

    assert list(ipsoft.state.orders) == ["LNB-100045"]
    assert len([c for c in ipsoft.calls if c[0] == "CreateOrder"]) == 2
    (message,) = inbound(store, "orders")
    assert message.status is MessageStatus.DELIVERED


def test_a_soap_fault_is_stored_on_the_order_fails_the_run_and_a_replay_sends_it(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    ipsoft, portal = noordzee
    ipsoft.fail_next("UNKNOWN_SKU", "article JL-DRESS-001-BLK-M is blocked", server=False)

    assert run("orders", {"references": ["LNB-100045"]}) == "failed"

    (message,) = inbound(store, "orders")
    assert message.status is MessageStatus.REJECTED
    assert "IPSoft CreateOrder fault UNKNOWN_SKU" in message.problems[-1].message
    assert portal.state.orders["LNB-100045"].status == "confirmed"

    # The article is unblocked in IPSoft; a replay offers the refused order again.
    store.requeue(message.id)
    assert run("orders", {"references": ["LNB-100045"]}) == "success"

    assert store.get(message.id).status is MessageStatus.DELIVERED
    assert list(ipsoft.state.orders) == ["LNB-100045"]
    assert portal.state.orders["LNB-100045"].status == "exported"


def test_an_unreachable_erp_fails_the_run_and_keeps_the_order_for_the_next(
    noordzee: tuple[IPSoftServer, LeNewBlackServer],
    monkeypatch: pytest.MonkeyPatch,
    store: MessageStore,
) -> None:
    ipsoft, _ = noordzee
    ipsoft.stop()

    assert run("orders", {"references": ["LNB-100045"]}) == "failed"

    (message,) = inbound(store, "orders")
    assert message.status is MessageStatus.FAILED
    assert message.problems[-1].code == "delivery.failed"
    assert "unreachable" in message.problems[-1].message or "IPSoft" in message.problems[-1].message


def test_a_change_after_export_is_recorded_not_exported(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    ipsoft, portal = noordzee
    assert run("orders") == "success"
    created = dict(ipsoft.state.orders)

    portal.change_order("LNB-100045", remarks="Graag ook de sjaals meesturen")
    assert run("orders") == "success"

    assert ipsoft.state.orders == created  # nothing created or changed in IPSoft
    later = [m for m in inbound(store, "orders") if m.document_key == "LNB-100045"][-1]
    assert later.status is MessageStatus.SKIPPED
    (warning,) = [p for p in later.problems if p.code == "delivery.already_exported"]
    assert warning.severity.value == "warning"
    assert "not exported again" in warning.message


def test_orders_koppel_marked_exported_are_not_stored_again(
    noordzee: tuple[IPSoftServer, LeNewBlackServer], store: MessageStore
) -> None:
    """Issue 7: the mark moves the order's updated_at; that is not a change to record."""
    _, portal = noordzee
    assert run("orders") == "success"
    marked = {ref for ref, order in portal.state.orders.items() if order.status == "exported"}
    assert marked == {"LNB-100045", "LNB-100047"}
    stored = {m.id for m in inbound(store, "orders")}

    assert run("orders") == "success"
    assert run("orders") == "success"

    assert {m.id for m in inbound(store, "orders")} == stored

    portal.change_order("LNB-100047", remarks="Toch 3 jassen")  # a real change still counts
    assert run("orders") == "success"
    (later,) = [m for m in inbound(store, "orders") if m.id not in stored]
    assert (later.document_key, later.status) == ("LNB-100047", MessageStatus.SKIPPED)
    (warning,) = [p for p in later.problems if p.code == "delivery.already_exported"]
    assert warning.severity.value == "warning"


def lose_order_numbers(store: MessageStore, portal: LeNewBlackServer, reference: str) -> None:
    """The state a crash between recording `delivered` and IPSoft's order number leaves."""
    (message,) = [m for m in inbound(store, "orders") if m.document_key == reference]
    with store.engine.begin() as conn:
        conn.execute(
            update(messages)
            .where(or_(messages.c.id == message.id, messages.c.parent_id == message.id))
            .values(disposition=None)
        )
    order = portal.state.orders[reference]
    order.status, order.erp_order_number = "confirmed", None  # never marked exported


def test_a_lost_erp_order_number_is_fetched_back_and_blocks_no_other_order(
    noordzee: tuple[IPSoftServer, LeNewBlackServer],
    store: MessageStore,
    capfd: pytest.CaptureFixture[str],
) -> None:
    ipsoft, portal = noordzee
    export = {"references": ["LNB-100045", "LNB-100047"]}
    assert run("orders", export) == "success"
    numbers = {ref: ipsoft.state.orders[ref].order_number for ref in export["references"]}
    for reference in export["references"]:
        lose_order_numbers(store, portal, reference)
    gone = ipsoft.state.orders.pop("LNB-100047")  # and IPSoft does not know this one

    assert run("orders", export) == "failed"

    assert portal.state.orders["LNB-100045"].erp_order_number == numbers["LNB-100045"]
    assert portal.state.orders["LNB-100047"].status == "confirmed"
    (problem,) = [
        p
        for m in inbound(store, "orders")
        if m.document_key == "LNB-100047"
        for p in m.problems
        if p.code == "export.unconfirmed"
    ]
    assert "IPSoft has no order LNB-100047" in problem.message
    failure = "1 delivered order(s) could not be marked exported: message"
    assert failure in "".join(capfd.readouterr())  # the run fails with the reason

    ipsoft.state.orders["LNB-100047"] = gone  # found again in IPSoft
    assert run("orders", export) == "success"
    assert portal.state.orders["LNB-100047"].erp_order_number == numbers["LNB-100047"]
