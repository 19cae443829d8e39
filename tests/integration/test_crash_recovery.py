"""SIGKILL at each named step of a file flow and an API flow, then rerun: nothing lost or doubled.

Each case runs the flow in a process of its own that kills itself at one
failpoint (``koppel.faults``), against a real SFTP server, the IPSoft and Le
New Black emulators, a real SMTP server and PostgreSQL. A partner collects the
delivered files after every run, as Monta does, so a file sent again after
being collected counts as delivered twice. Then the same run is retried (as
Airflow retries a task) and the next scheduled run follows.
"""

from __future__ import annotations

import re
import shutil
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from koppel.sandbox import samples
from koppel.sandbox.ipsoft import IPSoftServer, Product
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.lenewblack.seed import demo_order_skus
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.smtp_server import SMTPServer
from koppel.store import Direction, MessageStatus, MessageStore
from tests.fixtures.lenewblack import NOORDZEE_MERCHANT
from tests.integration.flow_processes import Partner, run_flow, states

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_FILE_BYTES = 50_000

FILE_MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
vars:
  sftp_conn_id: {conn_id}
alert_emails: [ops@acme.example]
flows:
  orders:
    max_file_bytes: {max_bytes}
    source:
      stable_seconds: 0
"""


#: (failpoint, hit): the second file or message is where it hurts most, mid-batch.
FILE_POINTS = [
    ("receive.stored", 2),
    ("process.decided", 2),
    ("deliver.staged", 2),
    ("deliver.published", 2),
    ("process.delivered", 2),
    ("acknowledge.intended", 2),
    ("acknowledge.reported", 1),
    ("acknowledge.moved", 2),
    ("alert.sent", 1),
]
API_POINTS = [
    ("receive.stored", 2),
    ("process.decided", 1),
    ("deliver.sent", 1),
    ("process.delivered", 2),
    ("finish.marked_exported", 1),
]
GOOD_ORDERS = ("7001", "7002", "7003")


@pytest.fixture
def acme_file(connections_dir: Path, sftp_server: SFTPServer, store_conn_id: str) -> Path:
    path = connections_dir / "itsperfect_acme.yaml"
    path.write_text(FILE_MERCHANT.format(conn_id=sftp_server.conn_id, max_bytes=MAX_FILE_BYTES))
    inbound = sftp_server.root / "acme" / "itsperfect" / "orders"
    inbound.mkdir(parents=True)
    for number, name in zip(
        GOOD_ORDERS, ("order_1.xml", "order_3.xml", "order_5.xml"), strict=True
    ):
        (inbound / name).write_bytes(samples.good_order(number))
    (inbound / "order_2.xml").write_bytes(samples.xsd_violation())
    (inbound / "order_4.xml").write_bytes(b"<Orders>" + b" " * MAX_FILE_BYTES + b"</Orders>")
    return path


def alerted_ids(smtp: SMTPServer) -> Counter[int]:
    """How often each message id was named as rejected in an alert e-mail."""
    counts: Counter[int] = Counter()
    for mail in smtp.messages:
        body = mail.get_body(("html", "plain"))
        assert body is not None
        named = set(re.findall(r"- message (\d+) \(", body.get_content()))
        counts.update(int(i) for i in named)
    return counts


@pytest.mark.parametrize(("point", "hit"), FILE_POINTS, ids=[p for p, _ in FILE_POINTS])
def test_a_file_flow_killed_at_any_step_recovers_exactly_once(
    point: str,
    hit: int,
    acme_file: Path,
    sftp_server: SFTPServer,
    smtp_server: SMTPServer,
    store: MessageStore,
) -> None:
    root = sftp_server.root / "acme"
    partner = Partner(root / "monta" / "orders")

    killed = run_flow(acme_file, "orders", "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    partner.collect()
    assert states(run_flow(acme_file, "orders", "run-1", "run-2")) == {
        "run-1": "failed",  # two rejected files are owed their alert
        "run-2": "success",
    }
    partner.collect()

    assert dict(partner.collected) == {f"acme_order_{n}.xml": 1 for n in GOOD_ORDERS}
    inbound = root / "itsperfect" / "orders"
    assert sorted(p.name for p in inbound.iterdir() if p.is_file()) == []
    assert sorted(p.name for p in (inbound / "archive").iterdir()) == [
        "order_1.xml",
        "order_3.xml",
        "order_5.xml",
    ]
    assert sorted(p.name for p in (inbound / "error").iterdir()) == [
        "order_2.xml",
        "order_2.xml.problems.txt",
        "order_4.xml",
        "order_4.xml.problems.txt",
    ]
    assert "file.too_large" in (inbound / "error" / "order_4.xml.problems.txt").read_text()
    messages = store.find(connection_id="itsperfect_acme", flow="orders")
    for message in messages:
        if message.direction is Direction.IN:
            assert message.disposition is not None
            assert not message.disposition.endswith(":missing"), message
            assert message.disposal is None
        else:
            assert message.status is MessageStatus.DELIVERED
            assert [a.outcome.value for a in store.attempts(message.id)][-1] == "delivered"
    assert unreleased_claims(store) == 0
    rejected = [m for m in messages if m.status is MessageStatus.REJECTED]
    assert sorted(m.source_name.rsplit("/", 1)[1] for m in rejected) == [
        "order_2.xml",
        "order_4.xml",
    ]
    assert all(m.alerted_at is not None for m in rejected)
    alerts = alerted_ids(smtp_server)
    if point == "alert.sent":
        # Sent, then killed before it was recorded: the one window SMTP leaves open. The
        # retry repeats the same mail (same Message-ID), so a mail client shows it once.
        assert alerts == {m.id: 2 for m in rejected}
        assert len({mail["Message-ID"] for mail in smtp_server.messages}) == 1
    else:
        assert alerts == {m.id: 1 for m in rejected}


@pytest.fixture
def noordzee_file(
    connections_dir: Path,
    ipsoft_server: IPSoftServer,
    lenewblack_server: LeNewBlackServer,
    store_conn_id: str,
) -> Path:
    shutil.copy(
        PROJECT_ROOT / "include" / "connections" / "_ipsoft_lenewblack.yaml", connections_dir
    )
    path = connections_dir / "ipsoft_noordzee.yaml"
    path.write_text(NOORDZEE_MERCHANT)
    lenewblack_server.seed_demo()
    for sku in demo_order_skus():
        ipsoft_server.state.put(Product(article_id=f"A-{sku}", name=sku, sku=sku))
    return path


@pytest.mark.parametrize(("point", "hit"), API_POINTS, ids=[p for p, _ in API_POINTS])
def test_an_api_flow_killed_at_any_step_creates_and_confirms_each_order_once(
    point: str,
    hit: int,
    noordzee_file: Path,
    ipsoft_server: IPSoftServer,
    lenewblack_server: LeNewBlackServer,
    store: MessageStore,
) -> None:
    killed = run_flow(noordzee_file, "orders", "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    assert states(run_flow(noordzee_file, "orders", "run-1", "run-2")) == {
        "run-1": "success",
        "run-2": "success",
    }

    exported = {"LNB-100045", "LNB-100047"}
    assert set(ipsoft_server.state.orders) == exported
    created = [c for c in ipsoft_server.calls if c[0] == "CreateOrder"]
    assert len(created) <= 2 * len(exported)  # a repeat after the kill finds the first order
    for reference in exported:
        order = lenewblack_server.state.orders[reference]
        assert order.status == "exported"
        assert order.erp_order_number == ipsoft_server.state.orders[reference].order_number
    messages = store.find(connection_id="ipsoft_noordzee", flow="orders", direction=Direction.IN)
    by_status = Counter(m.status for m in messages)
    assert by_status[MessageStatus.HELD] == 2  # the two orders without a valid reference
    assert by_status[MessageStatus.REJECTED] == by_status[MessageStatus.FAILED] == 0
    delivered = [m for m in messages if m.status is MessageStatus.DELIVERED]
    assert sorted(m.document_key for m in delivered) == sorted(exported)
    assert all((m.disposition or "").startswith("exported:") for m in delivered)
    assert unreleased_claims(store) == 0


def unreleased_claims(store: MessageStore) -> int:
    with store.engine.connect() as conn:
        query = text("SELECT count(*) FROM messages WHERE claimed_by IS NOT NULL")
        return int(conn.execute(query).scalar_one())


#: Kills between two chunks of one run: each step works through a batch in chunks
#: (``koppel.pipeline``: 200 files stored, 100 messages processed, 200 files moved
#: per chunk), so a kill can leave some chunks of a run done and the next untouched.
CHUNK_POINTS = [
    ("receive.stored", 200),  # the first chunk stored, the second not read yet
    ("process.decided", 150),  # a chunk delivered, the next one half decided
    ("deliver.staged", 120),  # the second chunk's files staged, none renamed
    ("deliver.published", 160),  # the second chunk renamed, its attempts still open
    ("acknowledge.intended", 50),  # every place of the first chunk recorded, nothing moved
    ("acknowledge.moved", 230),  # the second chunk moved, its places not yet confirmed
]
MANY_FILES = 250


@pytest.mark.parametrize(("point", "hit"), CHUNK_POINTS, ids=[f"{p}:{n}" for p, n in CHUNK_POINTS])
def test_a_run_killed_between_chunks_of_a_large_batch_recovers_exactly_once(
    point: str,
    hit: int,
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    store: MessageStore,
) -> None:
    path = connections_dir / "itsperfect_acme.yaml"
    path.write_text(FILE_MERCHANT.format(conn_id=sftp_server.conn_id, max_bytes=MAX_FILE_BYTES))
    root = sftp_server.root / "acme"
    inbound = root / "itsperfect" / "orders"
    inbound.mkdir(parents=True)
    for n in range(MANY_FILES):
        (inbound / f"order_{n:03d}.xml").write_bytes(samples.good_order(str(30000 + n)))
    partner = Partner(root / "monta" / "orders")

    killed = run_flow(path, "orders", "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    partner.collect()
    assert states(run_flow(path, "orders", "run-1", "run-2")) == {
        "run-1": "success",
        "run-2": "success",
    }
    partner.collect()

    assert dict(partner.collected) == {f"acme_order_{30000 + n}.xml": 1 for n in range(MANY_FILES)}
    assert not [p for p in inbound.iterdir() if p.is_file()]
    assert len(list((inbound / "archive").iterdir())) == MANY_FILES
    messages = store.find(connection_id="itsperfect_acme", flow="orders")
    inbound_messages = [m for m in messages if m.direction is Direction.IN]
    assert len(inbound_messages) == MANY_FILES
    for message in messages:
        assert message.status is MessageStatus.DELIVERED, message.id
        if message.direction is Direction.IN:
            expected = f"archive:/acme/itsperfect/orders/archive/{message.source_name[-13:]}"
            assert message.disposition == expected
            assert message.disposal is None
        else:
            assert [a.outcome.value for a in store.attempts(message.id)][-1] == "delivered"
    assert unreleased_claims(store) == 0
