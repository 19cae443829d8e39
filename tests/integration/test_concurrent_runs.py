"""Runs of one flow at the same moment never deliver a message twice, and each reports its own work.

A scheduled run, an "export now" and three runs of a backfill (Airflow's
backfill runs up to ten at once and ignores ``max_active_runs``) start
together as separate processes, as separate workers would, over one inbound
folder on a real SFTP server and one PostgreSQL store, while the partner
collects delivered files as they appear.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from koppel.sandbox import samples
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MessageStatus, MessageStore
from tests.integration.flow_processes import Partner, finished, start_flow

pytestmark = pytest.mark.integration

FILES = 120
RUN_IDS = (
    "scheduled__2026-03-02T00:00:00+00:00",
    "manual__export-now",
    "backfill__2026-03-01T00:00:00+00:00",
    "backfill__2026-03-01T01:00:00+00:00",
    "backfill__2026-03-01T02:00:00+00:00",
)
MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
vars:
  sftp_conn_id: {conn_id}
flows:
  orders:
    source:
      stable_seconds: 0
"""


@pytest.fixture
def collecting_partner(sftp_server: SFTPServer) -> Iterator[Partner]:
    """Monta, collecting delivered files every few milliseconds while the runs work."""
    partner = Partner(sftp_server.root / "acme" / "monta" / "orders")
    stop = threading.Event()

    def collect() -> None:
        while not stop.is_set():
            partner.collect()
            time.sleep(0.01)

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    yield partner
    stop.set()
    thread.join()
    partner.collect()


def test_overlapping_runs_deliver_each_file_once_and_report_their_own_work(
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    store: MessageStore,
    collecting_partner: Partner,
) -> None:
    connection_file = connections_dir / "itsperfect_acme.yaml"
    connection_file.write_text(MERCHANT.format(conn_id=sftp_server.conn_id))
    inbound = sftp_server.root / "acme" / "itsperfect" / "orders"
    inbound.mkdir(parents=True)
    numbers = [str(9000 + n) for n in range(FILES)]
    for number in numbers:
        (inbound / f"order_{number}.xml").write_bytes(samples.good_order(number))

    runs = {run_id: start_flow(connection_file, "orders", run_id) for run_id in RUN_IDS}
    outcomes = {run_id: finished(process) for run_id, process in runs.items()}

    assert {run_id: state for run_id, (state, _) in outcomes.items()} == dict.fromkeys(
        RUN_IDS, "success"
    )
    time.sleep(0.1)
    collecting_partner.collect()
    assert dict(collecting_partner.collected) == {f"acme_order_{n}.xml": 1 for n in numbers}
    assert sorted(p.name for p in (inbound / "archive").iterdir()) == sorted(
        f"order_{n}.xml" for n in numbers
    )
    received = {run_id: x["receive"]["received"] for run_id, (_, x) in outcomes.items()}
    delivered = {run_id: x["process"]["delivered"] for run_id, (_, x) in outcomes.items()}
    assert sum(received.values()) == FILES  # each file stored by exactly one run
    assert sum(delivered.values()) == FILES  # and delivered by exactly one
    messages = store.find(connection_id="itsperfect_acme", flow="orders", direction=Direction.IN)
    assert {m.status for m in messages} == {MessageStatus.DELIVERED}
    by_run = {run_id: sum(m.run_id == run_id for m in messages) for run_id in RUN_IDS}
    assert by_run == delivered  # what each run reports is what the store says it did
    for out in store.find(connection_id="itsperfect_acme", flow="orders", direction=Direction.OUT):
        assert [a.outcome.value for a in store.attempts(out.id)] == ["delivered"]
