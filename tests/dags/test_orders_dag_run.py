"""The generated orders DAG, run by Airflow's ``dag.test()`` against real servers.

SFTP server and PostgreSQL store are real; the DAG is built by the project's
own DAG file from a connection file written by the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from koppel.sandbox import samples
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MessageStatus, MessageStore
from tests.fixtures.airflow_env import dag_bag

pytestmark = pytest.mark.dagrun

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MONTA_XSD = PROJECT_ROOT / "include" / "schemas" / "monta" / "order.xsd"
DAG_ID = "itsperfect_acme__orders"

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
    retries: 0
    source:
      stable_seconds: 0.2
"""


@pytest.fixture
def acme_dag_env(
    airflow_db: Path, connections_dir: Path, sftp_server: SFTPServer, store_conn_id: str
) -> SFTPServer:
    (connections_dir / "itsperfect_acme.yaml").write_text(
        MERCHANT.format(conn_id=sftp_server.conn_id)
    )
    return sftp_server


def _run_dag() -> str:
    bag = dag_bag()
    assert bag.import_errors == {}
    run = bag.dags[DAG_ID].test()
    return str(run.state)


def test_orders_dag_delivers_good_files_rejects_bad_ones_and_reruns_cleanly(
    acme_dag_env: SFTPServer, store: MessageStore
) -> None:
    root = acme_dag_env.root / "acme"
    inbound = root / "itsperfect" / "orders"
    target = root / "monta" / "orders"
    inbound.mkdir(parents=True)
    (inbound / "order_1.xml").write_bytes(samples.good_order("8001", lines=2))
    (inbound / "order_2.xml").write_bytes(samples.good_order("8002", lines=4))
    (inbound / "order_3.xml").write_bytes(samples.broken_xml())

    assert _run_dag() == "failed"  # a rejected file fails the run, after every file was tried

    schema = etree.XMLSchema(etree.parse(str(MONTA_XSD)))
    delivered = sorted(p.name for p in target.iterdir())
    assert delivered == ["acme_order_8001.xml", "acme_order_8002.xml"]
    for name in delivered:
        assert schema.validate(etree.parse(str(target / name))), schema.error_log
    assert sorted(p.name for p in (inbound / "archive").iterdir()) == ["order_1.xml", "order_2.xml"]
    assert sorted(p.name for p in (inbound / "error").iterdir()) == [
        "order_3.xml",
        "order_3.xml.problems.txt",
    ]
    messages = store.find(connection_id="itsperfect_acme", flow="orders", direction=Direction.IN)
    statuses = sorted((Path(m.source_name).name, m.status) for m in messages)
    assert statuses == [
        ("order_1.xml", MessageStatus.DELIVERED),
        ("order_2.xml", MessageStatus.DELIVERED),
        ("order_3.xml", MessageStatus.REJECTED),
    ]
    rejected = next(m for m in messages if m.status is MessageStatus.REJECTED)
    assert rejected.problems[0].code == "xml.syntax"
    assert all(m.run_id and m.run_id.startswith("manual__") for m in messages)

    before = {p.name: p.read_bytes() for p in target.iterdir()}
    assert _run_dag() == "success"  # nothing new: nothing delivered twice, nothing rejected
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert (
        len(store.find(connection_id="itsperfect_acme", flow="orders", direction=Direction.OUT))
        == 2
    )
