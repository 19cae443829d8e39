"""SIGKILL at each step of seed 003's store flows, then rerun: nothing lost, nothing twice.

Koppel's standard: every step is recoverable after a SIGKILL at any point.
Each flow runs in a process of its own that kills itself at one failpoint
(``koppel.faults``), against a real SFTP server, two PostgreSQL store
databases and a PostgreSQL message store, and is then run again.

* ``purchase_orders`` reads store A's changed purchase-order rows (an SQL
  *source*) and sends each as a UBL order file: Tampere's store collects the
  orders folder after every run, so an order sent again after being
  collected counts twice.
* ``waybills`` takes a waybill file into store A (an SQL *target that
  updates*): the purchase order must take the waybill's quantities and
  prices once, with the note on the changed quantity written once, not
  appended again by a retried delivery.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select

from koppel.config import file_endpoint, load_connection
from koppel.documents import Order
from koppel.formats import default_registry
from koppel.hooks.store_erp_schema import (
    purchase_order_lines,
    purchase_orders,
    sales_orders,
)
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.store_erp import OrderedLine, deliver_sales_order, post_purchase_order
from koppel.sandbox.store_erp.seed import COFFEE, MUG, STORE_B_ID, TEA
from koppel.store import Direction, MessageStatus, MessageStore
from koppel.store.schema import watermarks
from tests.fixtures.store_erp import STORE_A_CONN_ID, STORE_B_CONN_ID, write_nordkauppa
from tests.integration.flow_processes import Partner, run_flow, states

pytestmark = pytest.mark.integration

CONNECTION = "ubl_nordkauppa"

#: (failpoint, hit) the SQL-source flow passes with two purchase orders in one batch.
#: These are all it passes (deliver.sent, acknowledge.* and alert.sent are never reached,
#: nor a third hit of any). Its finish step (the watermark) has no failpoint of its own: a
#: kill at any point above leaves the watermark where it was, so every rerun reads the window
#: again; a kill after the last status and before the watermark is
#: :func:`test_purchase_orders_killed_before_the_watermark_moved_send_nothing_again`.
ORDER_POINTS = [
    ("receive.stored", 1),
    ("receive.stored", 2),
    ("process.decided", 1),
    ("process.decided", 2),
    ("deliver.staged", 1),
    ("deliver.staged", 2),
    ("deliver.published", 1),
    ("process.delivered", 2),
]
#: (failpoint, hit) the waybill import passes: one file, one purchase order updated.
WAYBILL_POINTS = [
    ("receive.stored", 1),
    ("process.decided", 1),
    ("deliver.sent", 1),  # the update is committed in store A, the attempt not yet recorded
    ("process.delivered", 1),
    ("acknowledge.intended", 1),
    ("acknowledge.moved", 1),
]


@pytest.fixture(params=["postgres"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The crash tests run against PostgreSQL store databases."""
    backend: str = request.param
    return backend


class Nordkauppa:
    """The merchant's connection file, its SFTP folders and both stores' databases."""

    def __init__(self, path: Path, root: Path, store_a: Engine, store_b: Engine) -> None:
        self.path = path
        self.connection = load_connection(path)
        self.root = root
        self.store_a = store_a
        self.store_b = store_b
        for flow in self.connection.flows.values():
            for _, end in flow.endpoints():
                if end.transport == "sftp":
                    self.folder(file_endpoint(end, "any").folder).mkdir(parents=True, exist_ok=True)

    def folder(self, folder: str) -> Path:
        return self.root / folder.lstrip("/")

    def endpoint_folder(self, flow: str, role: str) -> Path:
        end = dict(self.connection.flows[flow].endpoints())[role]
        return self.folder(file_endpoint(end, role).folder)

    def archive(self, flow: str) -> Path:
        end = file_endpoint(self.connection.flows[flow].source, "source")
        return self.folder(end.archive_folder)

    def run(self, flow: str) -> None:
        """One clean run of ``flow`` in a process of its own; it must succeed."""
        assert states(run_flow(self.path, flow, f"prepare-{flow}")) == {
            f"prepare-{flow}": "success"
        }


@pytest.fixture
def nordkauppa(
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    store_database_conn_id: Callable[[str, Engine], str],
    store_a_engine: Engine,
    store_b_engine: Engine,
) -> Nordkauppa:
    store_database_conn_id(STORE_A_CONN_ID, store_a_engine)
    store_database_conn_id(STORE_B_CONN_ID, store_b_engine)
    path = write_nordkauppa(connections_dir, sftp_conn_id=sftp_server.conn_id)
    return Nordkauppa(path, sftp_server.root, store_a_engine, store_b_engine)


def _purchase_orders_to_tampere(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(purchase_orders)
            .where(purchase_orders.c.supplier_id == STORE_B_ID)
            .order_by(purchase_orders.c.order_number)
        ).mappings()
        return [dict(row) for row in rows]


def _lines(engine: Engine, order_number: object) -> list[tuple[object, object, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                purchase_order_lines.c.quantity,
                purchase_order_lines.c.purchase_price,
                purchase_order_lines.c.text,
            )
            .where(purchase_order_lines.c.order_number == order_number)
            .order_by(purchase_order_lines.c.line_number)
        ).all()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(("point", "hit"), ORDER_POINTS, ids=[f"{p}:{n}" for p, n in ORDER_POINTS])
def test_purchase_orders_killed_at_any_step_send_each_order_once(
    point: str, hit: int, nordkauppa: Nordkauppa, store: MessageStore
) -> None:
    post_purchase_order(
        nordkauppa.store_a, STORE_B_ID, [OrderedLine(TEA, Decimal(3)), OrderedLine(MUG, Decimal(1))]
    )
    posted = _purchase_orders_to_tampere(nordkauppa.store_a)
    assert len(posted) == 2
    tampere = Partner(nordkauppa.endpoint_folder("purchase_orders", "target"))
    sent: list[bytes] = []

    def collect() -> None:
        sent.extend(p.read_bytes() for p in tampere.folder.glob("*.xml"))
        tampere.collect()

    killed = run_flow(nordkauppa.path, "purchase_orders", "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    collect()
    assert states(run_flow(nordkauppa.path, "purchase_orders", "run-1", "run-2")) == {
        "run-1": "success",
        "run-2": "success",
    }
    collect()

    # Each purchase order sent once, as one file Tampere collected once.
    numbers = [str(row["order_number"]) for row in posted]
    assert tampere.collected == Counter({f"nordkauppa_order_{n}.xml": 1 for n in numbers})
    reader = default_registry().get("ubl.order")
    orders = [reader.read(payload, source="order.xml").documents[0] for payload in sent]
    assert all(isinstance(order, Order) for order in orders)
    assert sorted(order.order_id for order in orders) == sorted(numbers)  # type: ignore[attr-defined]

    # Each row stored once and delivered once, each copy delivered once.
    messages = store.find(connection_id=CONNECTION, flow="purchase_orders")
    statuses = Counter((m.direction, m.status) for m in messages)
    assert statuses == {
        (Direction.IN, MessageStatus.DELIVERED): 2,
        (Direction.OUT, MessageStatus.DELIVERED): 2,
    }

    # The watermark moved past both rows: the next run reads neither again.
    watermark = store.get_watermark(CONNECTION, "purchase_orders")
    assert watermark is not None
    assert all(datetime.fromisoformat(watermark) >= row["changed_at"] for row in posted)  # type: ignore[operator]


@pytest.mark.parametrize("do_not_receive", [False, True], ids=["receive", "do_not_receive"])
@pytest.mark.parametrize(
    ("point", "hit"), WAYBILL_POINTS, ids=[f"{p}:{n}" for p, n in WAYBILL_POINTS]
)
def test_waybills_killed_at_any_step_update_the_purchase_order_once(
    point: str, hit: int, do_not_receive: bool, nordkauppa: Nordkauppa, store: MessageStore
) -> None:
    """Updated once, received or not.

    "Do not receive" leaves the order posted, so ``update_if`` would let the
    same update in again: only the delivery's own fingerprint in
    ``import_message`` keeps a retried delivery from writing it twice.
    """
    # Helsinki's posted order to Tampere, booked there, delivered 8 of 10 coffees, waybill written.
    nordkauppa.run("purchase_orders")
    nordkauppa.run("orders")
    with nordkauppa.store_b.connect() as conn:
        (sales_order,) = conn.execute(select(sales_orders.c.order_number)).scalars().all()
    deliver_sales_order(nordkauppa.store_b, sales_order, {1: 8, 2: 5, 3: 2})
    nordkauppa.run("despatches")
    inbound = nordkauppa.endpoint_folder("waybills", "source")
    (waybill_file,) = [p.name for p in inbound.glob("*.xml")]
    (order,) = _purchase_orders_to_tampere(nordkauppa.store_a)
    assert order["status"] == "posted"
    if do_not_receive:
        nordkauppa.path.write_text(
            nordkauppa.path.read_text().replace("do_not_receive: false", "do_not_receive: true")
        )

    killed = run_flow(nordkauppa.path, "waybills", "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    if point == "deliver.sent":  # the rerun finds the update made, its attempt still open
        assert _purchase_orders_to_tampere(nordkauppa.store_a)[0]["import_message"] is not None
    assert states(run_flow(nordkauppa.path, "waybills", "run-1", "run-2")) == {
        "run-1": "success",
        "run-2": "success",
    }

    # Updated once: received, the waybill's quantities and prices, the note written once.
    (updated,) = _purchase_orders_to_tampere(nordkauppa.store_a)
    assert updated["status"] == ("posted" if do_not_receive else "received")
    assert (updated["received_date"] is None) == do_not_receive
    assert str(updated["import_message"]).startswith("sha256:")
    assert _lines(nordkauppa.store_a, updated["order_number"]) == [
        (Decimal(8), Decimal("3.7200"), "Tilattu oli 10"),
        (Decimal(5), Decimal("2.2000"), None),
        (Decimal(2), Decimal("5.5000"), None),
    ]

    # The waybill taken in once and archived; its update delivered once.
    assert [p.name for p in inbound.iterdir() if p.is_file()] == []
    assert [p.name for p in nordkauppa.archive("waybills").iterdir()] == [waybill_file]
    messages = store.find(connection_id=CONNECTION, flow="waybills")
    statuses = Counter((m.direction, m.status) for m in messages)
    assert statuses == {
        (Direction.IN, MessageStatus.DELIVERED): 1,
        (Direction.OUT, MessageStatus.DELIVERED): 1,
    }


def test_purchase_orders_killed_before_the_watermark_moved_send_nothing_again(
    nordkauppa: Nordkauppa, store: MessageStore, store_engine: Engine
) -> None:
    """A run dying after its last status and before its finish step moved the watermark.

    The finish step has no failpoint, so the state such a kill leaves is made
    directly: a run that delivered both orders, then its watermark taken out
    of the store. The rerun reads both rows again and sends neither.
    """
    post_purchase_order(nordkauppa.store_a, STORE_B_ID, [OrderedLine(COFFEE, Decimal(6))])
    tampere = Partner(nordkauppa.endpoint_folder("purchase_orders", "target"))
    nordkauppa.run("purchase_orders")
    tampere.collect()
    assert sum(tampere.collected.values()) == 2
    with store_engine.begin() as conn:
        conn.execute(delete(watermarks).where(watermarks.c.flow == "purchase_orders"))
    assert store.get_watermark(CONNECTION, "purchase_orders") is None

    assert states(run_flow(nordkauppa.path, "purchase_orders", "run-1", "run-2")) == {
        "run-1": "success",
        "run-2": "success",
    }
    tampere.collect()
    assert sorted(tampere.collected.values()) == [1, 1]
    messages = store.find(connection_id=CONNECTION, flow="purchase_orders")
    statuses = Counter((m.direction, m.status) for m in messages)
    assert statuses == {
        (Direction.IN, MessageStatus.DELIVERED): 2,
        (Direction.OUT, MessageStatus.DELIVERED): 2,
    }
    assert store.get_watermark(CONNECTION, "purchase_orders") is not None
