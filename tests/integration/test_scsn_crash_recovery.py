"""SIGKILL at each step of the SCSN order import, then rerun: each order written and answered once.

The flow runs in a process of its own that kills itself at one failpoint
(``koppel.faults``), against a real SFTP server and a PostgreSQL ERP and
store. The buyer's service provider collects the order responses after every
run, so an answer sent again after being collected counts twice. Three
messages: a new order, a "New" message updating an unconfirmed order, and an
order with an unknown article (rejected, and answered with the reasons).
"""

from __future__ import annotations

import signal
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from koppel.formats import default_registry
from koppel.hooks.isah_schema import sales_order_lines, sales_orders
from koppel.sandbox.isah import seed
from koppel.sandbox.scsn import order_message
from koppel.sandbox.scsn_demo import cases
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MessageStatus, MessageStore
from tests.fixtures.isah import write_scsn_supplier
from tests.integration.flow_processes import Partner, run_flow, states

pytestmark = pytest.mark.integration

#: Demo messages: accepted, accepted as an update of the unconfirmed order, rejected.
FILES = ("bakker_1001.xml", "bakker_0816.xml", "bakker_1003.xml")
#: (failpoint, hit): mid-batch where a batch has more than one of the step.
POINTS = [
    ("receive.stored", 2),
    ("process.decided", 2),
    ("deliver.sent", 1),  # the order is committed in the ERP, the attempt not yet recorded
    ("deliver.sent", 2),
    ("deliver.staged", 1),
    ("deliver.published", 2),
    ("process.delivered", 2),
    ("acknowledge.moved", 2),
]


@pytest.fixture
def supplier(
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    erp_conn_id: str,
) -> Path:
    path = write_scsn_supplier(
        connections_dir, sftp_conn_id=sftp_server.conn_id, erp_conn_id=erp_conn_id
    )
    inbound = sftp_server.root / "techparts" / "inbound" / "orders"
    inbound.mkdir(parents=True)
    by_file = {case.file: case for case in cases()}
    for name in FILES:
        (inbound / name).write_bytes(order_message(by_file[name].spec))
    return path


@pytest.fixture(params=["postgres"])
def erp_url(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The crash tests run against the PostgreSQL ERP."""
    return request.getfixturevalue("postgres_erp_url")


@pytest.mark.parametrize(("point", "hit"), POINTS, ids=[f"{p}:{n}" for p, n in POINTS])
def test_the_scsn_import_killed_at_any_step_writes_and_answers_each_order_once(
    point: str,
    hit: int,
    supplier: Path,
    sftp_server: SFTPServer,
    erp_engine: Engine,
    store: MessageStore,
) -> None:
    root = sftp_server.root / "techparts"
    provider = Partner(root / "outbound" / "order_responses")
    answers: list[bytes] = []

    def collect() -> None:
        answers.extend(p.read_bytes() for p in provider.folder.glob("*.xml"))
        provider.collect()

    killed = run_flow(supplier, "orders", "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    collect()
    assert states(run_flow(supplier, "orders", "run-1", "run-2")) == {
        "run-1": "failed",  # the rejected order is owed its alert
        "run-2": "success",
    }
    collect()

    # Each message answered once, each answer for another order.
    assert all(count == 1 for count in provider.collected.values()), provider.collected
    reader = default_registry().get("scsn.order_response")
    answered = Counter(reader.read(a, source="r.xml").documents[0].order_id for a in answers)  # type: ignore[attr-defined]
    assert answered == {"PO-2026-1001": 1, seed.UNCONFIRMED_ORDER: 1, "PO-2026-1003": 1}

    # The new order written once, the unconfirmed one updated (not doubled), the rejected absent.
    with erp_engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(sales_orders.c.order_reference, func.count()).group_by(
                    sales_orders.c.order_reference
                )
            ).all()
        )
        updated = (
            conn.execute(
                select(sales_order_lines.c.quantity)
                .join(sales_orders, sales_orders.c.order_number == sales_order_lines.c.order_number)
                .where(sales_orders.c.order_reference == seed.UNCONFIRMED_ORDER)
            )
            .scalars()
            .all()
        )
    assert counts["PO-2026-1001"] == 1
    assert counts[seed.UNCONFIRMED_ORDER] == 1
    assert "PO-2026-1003" not in counts
    assert updated == [Decimal(15)]

    inbound = root / "inbound" / "orders"
    assert sorted(p.name for p in inbound.iterdir() if p.is_file()) == []
    assert sorted(p.name for p in (inbound / "archive").iterdir()) == [
        "bakker_0816.xml",
        "bakker_1001.xml",
    ]
    assert sorted(p.name for p in (inbound / "error").iterdir()) == [
        "bakker_1003.xml",
        "bakker_1003.xml.problems.txt",
    ]
    messages = store.find(connection_id="scsn_techparts", flow="orders")
    statuses = Counter((m.direction, m.status) for m in messages)
    assert statuses[(Direction.IN, MessageStatus.DELIVERED)] == 2
    assert statuses[(Direction.IN, MessageStatus.REJECTED)] == 1
    outbound = [m for m in messages if m.direction is Direction.OUT]
    assert {m.status for m in outbound} == {MessageStatus.DELIVERED}
    assert len(outbound) == 5  # two orders, three answers
