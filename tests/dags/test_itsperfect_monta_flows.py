"""Every IT's Perfect <-> Monta flow, run by ``dag.test()`` against real SFTP and PostgreSQL.

Each test asserts on the files that arrive on the other side (valid against
that side's XSD, read back into documents), on the stored messages, and that
running the flow again delivers nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.config import FlowConfig, load_connection
from koppel.documents import CanonicalModel, OrderStatus, StatusUpdate
from koppel.formats import default_registry
from koppel.sandbox import samples, samples_catalogue, samples_warehouse
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MasterDataStore, MessageStatus, MessageStore
from tests.fixtures.airflow_env import dag_bag

pytestmark = pytest.mark.dagrun

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = PROJECT_ROOT / "include" / "schemas"
CONNECTION = "itsperfect_acme"

MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
  B2B: {{origin: acme-wholesale}}
vars:
  sftp_conn_id: {conn_id}
flows:
  orders:
    options: {{backorder_handling: true}}
"""


class Merchant:
    """The merchant's connection, its folders on the SFTP server, and a way to run its DAGs."""

    def __init__(self, path: Path, root: Path) -> None:
        self.connection = load_connection(path)
        self.root = root
        for flow in self.connection.flows.values():
            for _, endpoint in flow.endpoints():
                self.local(endpoint.folder).mkdir(parents=True, exist_ok=True)

    def flow(self, name: str) -> FlowConfig:
        return self.connection.flows[name]

    def local(self, folder: str) -> Path:
        return self.root / folder.lstrip("/")

    def drop(self, flow: str, name: str, payload: bytes) -> None:
        (self.local(self.flow(flow).source.folder) / name).write_bytes(payload)

    def files(self, folder: str) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.local(folder).glob("*.xml"))}

    def run(self, flow: str) -> str:
        bag = dag_bag()
        assert bag.import_errors == {}
        return str(bag.dags[self.connection.dag_id(flow)].test().state)


@pytest.fixture
def merchant(
    airflow_db: Path, connections_dir: Path, sftp_server: SFTPServer, store_conn_id: str
) -> Merchant:
    text = MERCHANT.format(conn_id=sftp_server.conn_id)
    template = (connections_dir / "_itsperfect_monta.yaml").read_text()
    # Tests do not wait for the size check or retry: stable_seconds 0, retries 0.
    template = template.replace("stable_seconds: 2", "stable_seconds: 0")
    (connections_dir / "_itsperfect_monta.yaml").write_text(_no_retries(template))
    path = connections_dir / f"{CONNECTION}.yaml"
    path.write_text(text)
    return Merchant(path, sftp_server.root)


def _no_retries(template: str) -> str:
    """Every flow of the template with retries 0, so a failing test fails at once."""
    lines = []
    for line in template.splitlines():
        lines.append(line)
        if line.startswith("    description:"):
            lines.insert(len(lines) - 1, "    retries: 0")
    return "\n".join(lines) + "\n"


def read_back(fmt: str, data: bytes) -> list[CanonicalModel]:
    """The documents in a delivered file, after checking it against its XSD with bare lxml."""
    side, kind = fmt.split(".")
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / side / f"{kind}.xsd")))
    tree = etree.fromstring(data)
    assert schema.validate(tree), schema.error_log
    result = default_registry().get(fmt).read(data, source="delivered.xml")
    assert result.problems == []
    return list(result.documents)


def inbound(store: MessageStore, flow: str) -> list:
    return store.find(connection_id=CONNECTION, flow=flow, direction=Direction.IN)


def assert_rerun_sends_nothing(merchant: Merchant, store: MessageStore, flow: str) -> None:
    config = merchant.flow(flow)
    folders = [end.folder for role, end in config.endpoints() if role != "source"]
    before = {folder: merchant.files(folder) for folder in folders}
    outbound = len(store.find(connection_id=CONNECTION, flow=flow, direction=Direction.OUT))
    assert merchant.run(flow) == "success"
    assert {folder: merchant.files(folder) for folder in folders} == before
    assert len(store.find(connection_id=CONNECTION, flow=flow, direction=Direction.OUT)) == outbound


SIMPLE_FLOWS: list[tuple[str, Callable[[], bytes], int, str]] = [
    # A catalogue: the four products go out in one batch file.
    ("products", lambda: samples_catalogue.product_export(count=4), 1, "sku"),
    (
        "returns",
        lambda: samples_catalogue.return_registration("R7001", "100231", lines=2),
        1,
        "return_id",
    ),
    ("inbound_forecasts", lambda: samples_catalogue.inbound_forecast("PO-7"), 1, "inbound_id"),
    ("inbound_updates", lambda: samples_catalogue.inbound_update("PO-7"), 1, "inbound_id"),
]


@pytest.mark.parametrize(("flow", "payload", "expected", "key"), SIMPLE_FLOWS)
def test_a_flow_delivers_valid_files_to_the_other_side(
    merchant: Merchant,
    store: MessageStore,
    flow: str,
    payload: Callable[[], bytes],
    expected: int,
    key: str,
) -> None:
    source_docs = (
        default_registry()
        .get(merchant.flow(flow).source.format)
        .read(payload(), source="sample.xml")
    )
    merchant.drop(flow, "batch_1.xml", payload())

    assert merchant.run(flow) == "success"

    target = merchant.flow(flow).target
    delivered = merchant.files(target.folder)
    assert len(delivered) == expected
    documents = [doc for data in delivered.values() for doc in read_back(target.format, data)]
    assert sorted(getattr(d, key) for d in documents) == sorted(
        getattr(d, key) for d in source_docs.documents
    )
    assert [m.status for m in inbound(store, flow)] == [MessageStatus.DELIVERED]
    assert merchant.files(merchant.flow(flow).source.archive_folder).keys() == {"batch_1.xml"}
    assert_rerun_sends_nothing(merchant, store, flow)


def test_stock_then_orders_then_status_updates(merchant: Merchant, store: MessageStore) -> None:
    """SPEC.md section 4 end to end: stock decides what ships, Monta reports back."""
    master = MasterDataStore(store.engine)
    levels = {"JL-DRESS-001-BLK-M": 3, "JL-TEE-203-WHT-S": 1, "JL-SCARF-310-CAM-OS": 0}

    # FSU: the stock goes to IT's Perfect and is kept in the store.
    merchant.drop("stock", "stock_0600.xml", samples_warehouse.full_stock(levels))
    assert merchant.run("stock") == "success"
    (stock_file,) = merchant.files(merchant.flow("stock").target.folder).values()
    delivered_stock = read_back("itsperfect.stock", stock_file)
    assert {d.sku: d.quantity for d in delivered_stock} == {
        k: Decimal(v) for k, v in levels.items()
    }
    assert master.stock(CONNECTION) == {k: Decimal(v) for k, v in levels.items()}
    assert_rerun_sends_nothing(merchant, store, "stock")

    # OI with backorder handling: in stock / partly / not at all.
    merchant.drop("orders", "o1.xml", samples.order_with_lines("501", [("JL-DRESS-001-BLK-M", 2)]))
    merchant.drop(
        "orders",
        "o2.xml",
        samples.order_with_lines("502", [("JL-DRESS-001-BLK-M", 1), ("JL-TEE-203-WHT-S", 2)]),
    )
    merchant.drop("orders", "o3.xml", samples.order_with_lines("503", [("JL-SCARF-310-CAM-OS", 1)]))
    assert merchant.run("orders") == "success"

    to_monta = merchant.files(merchant.flow("orders").target.folder)
    assert sorted(to_monta) == ["acme_order_501.xml", "acme_order_502.xml"]
    (partial,) = read_back("monta.order", to_monta["acme_order_502.xml"])
    assert [(line.sku, line.quantity) for line in partial.lines] == [("JL-DRESS-001-BLK-M", 1)]
    replies = merchant.files(merchant.flow("orders").reply.folder)
    reports = {
        d.order_id: d
        for data in replies.values()
        for d in read_back("itsperfect.status_update", data)
    }
    assert isinstance(reports["502"], StatusUpdate)
    assert reports["502"].status is OrderStatus.BACKORDERED
    assert [(ln.sku, ln.quantity_backordered) for ln in reports["502"].lines] == [
        ("JL-TEE-203-WHT-S", Decimal(2))
    ]
    assert reports["503"].status is OrderStatus.CANCELLED
    assert [ln.quantity_shipped for ln in reports["503"].lines] == [Decimal(0)]
    assert set(reports) == {"502", "503"}
    why = {m.document_key: [p.code for p in m.problems] for m in inbound(store, "orders")}
    assert "backorder.line_removed" in why["502"]
    assert "backorder.order_cancelled" in why["503"]
    assert master.available(CONNECTION, ["JL-DRESS-001-BLK-M"]) == {
        "JL-DRESS-001-BLK-M": Decimal(0)
    }
    assert_rerun_sends_nothing(merchant, store, "orders")

    # OU: shipped, a -1 split, a deletion.
    merchant.drop(
        "status_updates",
        "u1.xml",
        samples_warehouse.order_update(
            "501", status="shipped", lines=[("JL-DRESS-001-BLK-M", 2, 2)]
        ),
    )
    merchant.drop(
        "status_updates",
        "u2.xml",
        samples_warehouse.order_update(
            "501-1", status="shipped", lines=[("JL-DRESS-001-BLK-M", 1, 1)]
        ),
    )
    merchant.drop(
        "status_updates",
        "u3.xml",
        samples_warehouse.order_update("502", status="deleted", lines=[]),
    )
    before = set(merchant.files(merchant.flow("status_updates").target.folder))
    assert merchant.run("status_updates") == "success"

    after = merchant.files(merchant.flow("status_updates").target.folder)
    new = {n: read_back("itsperfect.status_update", after[n])[0] for n in set(after) - before}
    by_order = {d.order_id: d for d in new.values()}
    assert set(by_order) == {"501", "502"}  # the -1 split is never reported
    assert by_order["501"].status is OrderStatus.SHIPPED
    assert [(ln.sku, ln.quantity_shipped) for ln in by_order["501"].lines] == [
        ("JL-DRESS-001-BLK-M", Decimal(2))
    ]
    assert [ln.quantity_shipped for ln in by_order["502"].lines] == [Decimal(0)]
    statuses = {m.document_key: m.status for m in inbound(store, "status_updates")}
    assert statuses == {
        "501": MessageStatus.DELIVERED,
        "501-1": MessageStatus.SKIPPED,
        "502": MessageStatus.DELIVERED,
    }
    assert [r.status for r in master.order_lines(CONNECTION, "501")] == ["shipped"]
    assert_rerun_sends_nothing(merchant, store, "status_updates")
