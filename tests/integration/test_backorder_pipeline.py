"""Backorder handling through the pipeline, with the stock in a real PostgreSQL store.

The interesting cases are the ones between steps: orders in one batch share
the stock, and an order whose delivery failed is delivered as it was decided,
even when the stock changed before the retry.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.config import ConnectionConfig, load_connection
from koppel.documents import Severity, StockLevel
from koppel.errors import TransportError
from koppel.formats import default_registry
from koppel.hooks.destinations import open_destinations
from koppel.hooks.file_sessions import open_file_session
from koppel.pipeline import process_pending, receive_batch
from koppel.sandbox import samples
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MasterDataStore, MessageStatus, MessageStore

CONNECTION = "itsperfect_acme"
TARGET_CONN = "koppel_test_monta_target"
MERCHANT = f"""\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{{{origin: acme-webshop}}}}
vars:
  sftp_conn_id: {{conn_id}}
flows:
  orders:
    options: {{{{backorder_handling: true}}}}
    source: {{{{stable_seconds: 0}}}}
    target: {{{{conn_id: {TARGET_CONN}}}}}
"""
DRESS, TEE = "JL-DRESS-001-BLK-M", "JL-TEE-203-WHT-S"
INFO, WARNING = Severity.INFO, Severity.WARNING


@pytest.fixture
def acme(
    connections_dir: Path, sftp_server: SFTPServer, monkeypatch: pytest.MonkeyPatch
) -> ConnectionConfig:
    path = connections_dir / f"{CONNECTION}.yaml"
    path.write_text(MERCHANT.format(conn_id=sftp_server.conn_id))
    monkeypatch.setenv(f"AIRFLOW_CONN_{TARGET_CONN.upper()}", sftp_server.airflow_connection_uri())
    connection = load_connection(path)
    for _, endpoint in connection.flows["orders"].endpoints():
        (sftp_server.root / endpoint.folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return connection


@pytest.fixture
def master(store: MessageStore) -> MasterDataStore:
    return MasterDataStore(store.engine)


def stock(master: MasterDataStore, levels: dict[str, int]) -> None:
    master.replace_stock(
        CONNECTION,
        [StockLevel(sku=sku, quantity=Decimal(q)) for sku, q in levels.items()],
        as_of=datetime.now(UTC),
        message_id=None,
    )


def drop(sftp: SFTPServer, acme: ConnectionConfig, name: str, payload: bytes) -> None:
    folder = sftp.root / acme.flows["orders"].source.folder.lstrip("/")
    (folder / name).write_bytes(payload)


def receive_and_process(
    store: MessageStore, master: MasterDataStore, acme: ConnectionConfig
) -> None:
    flow = acme.flows["orders"]
    with open_file_session("sftp", flow.source.conn_id) as session:
        receive_batch(session, store, acme, flow, run_id="run")
    with open_destinations() as destinations:
        process_pending(
            store,
            master,
            default_registry(),
            acme,
            flow,
            run_id="run",
            destination=destinations.get,
        )


def monta_lines(sftp: SFTPServer, acme: ConnectionConfig) -> dict[str, list[tuple[str, Decimal]]]:
    """What Monta received: order number -> (SKU, quantity) per line."""
    fmt = default_registry().get("monta.order")
    folder = sftp.root / acme.flows["orders"].target.folder.lstrip("/")
    result = {}
    for path in sorted(folder.glob("*.xml")):
        (order,) = fmt.read(path.read_bytes(), source=path.name).documents
        result[order.order_id] = [(line.sku, line.quantity) for line in order.lines]
    return result


def test_orders_in_one_batch_share_the_stock(
    store: MessageStore, master: MasterDataStore, acme: ConnectionConfig, sftp_server: SFTPServer
) -> None:
    stock(master, {DRESS: 3, TEE: 1})
    drop(sftp_server, acme, "a.xml", samples.order_with_lines("601", [(DRESS, 2), (TEE, 1)]))
    drop(sftp_server, acme, "b.xml", samples.order_with_lines("602", [(DRESS, 2), (TEE, 1)]))

    receive_and_process(store, master, acme)

    assert monta_lines(sftp_server, acme) == {"601": [(DRESS, Decimal(2)), (TEE, Decimal(1))]}
    assert master.available(CONNECTION, [DRESS, TEE]) == {DRESS: Decimal(1), TEE: Decimal(0)}
    second = next(
        m
        for m in store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)
        if m.document_key == "602"
    )
    removed = [p.message for p in second.problems if p.code == "backorder.line_removed"]
    assert len(removed) == 2
    assert "1 available" in removed[0]
    assert "0 available" in removed[1]


def test_a_failed_delivery_is_retried_as_decided(
    store: MessageStore,
    master: MasterDataStore,
    acme: ConnectionConfig,
    sftp_server: SFTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stock(master, {DRESS: 5, TEE: 0})
    drop(sftp_server, acme, "a.xml", samples.order_with_lines("701", [(DRESS, 1), (TEE, 1)]))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"sftp://koppel:x@127.0.0.1:{closed.getsockname()[1]}/"
    monkeypatch.setenv(f"AIRFLOW_CONN_{TARGET_CONN.upper()}", dead)

    with pytest.raises(TransportError, match="delivery of message"):
        receive_and_process(store, master, acme)

    (message,) = store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)
    assert message.status is MessageStatus.FAILED
    stock(master, {DRESS: 5, TEE: 10})  # the tee arrives before the retry
    monkeypatch.setenv(f"AIRFLOW_CONN_{TARGET_CONN.upper()}", sftp_server.airflow_connection_uri())

    receive_and_process(store, master, acme)

    assert monta_lines(sftp_server, acme) == {"701": [(DRESS, Decimal(1))]}
    assert store.get(message.id).status is MessageStatus.DELIVERED
    replies = sftp_server.root / acme.flows["orders"].reply.folder.lstrip("/")
    assert len(list(replies.glob("*.xml"))) == 1  # the backorder report, once
    outbound = store.find(connection_id=CONNECTION, flow="orders", direction=Direction.OUT)
    assert len(outbound) == 2
    attempts = {m.source_name.split(":")[0]: len(store.attempts(m.id)) for m in outbound}
    assert attempts == {"target": 2, "reply": 1}  # the target failed once; the report waited
    assert all(m.status is MessageStatus.DELIVERED for m in outbound)


def test_target_and_reply_on_one_server_share_one_login(
    store: MessageStore,
    master: MasterDataStore,
    acme: ConnectionConfig,
    sftp_server: SFTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An order and its backorder report go out over the same SFTP session."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{TARGET_CONN.upper()}", sftp_server.airflow_connection_uri())
    stock(master, {DRESS: 5, TEE: 0})
    drop(sftp_server, acme, "a.xml", samples.order_with_lines("801", [(DRESS, 1), (TEE, 1)]))
    flow = acme.flows["orders"]
    with open_file_session("sftp", flow.source.conn_id) as session:
        receive_batch(session, store, acme, flow, run_id="run")
    before = sftp_server.login_count
    shared = flow.model_copy(
        update={"target": flow.target.model_copy(update={"conn_id": flow.reply.conn_id})}
    )

    with open_destinations() as destinations:
        process_pending(
            store,
            master,
            default_registry(),
            acme,
            shared,
            run_id="run",
            destination=destinations.get,
        )

    assert sftp_server.login_count - before == 1
    replies = sftp_server.root / flow.reply.folder.lstrip("/")
    assert len(list(replies.glob("*.xml"))) == 1
    assert monta_lines(sftp_server, acme) == {"801": [(DRESS, Decimal(1))]}


# -- before the first full stock update: unknown stock is not zero stock -----------------------


def replies(sftp: SFTPServer, acme: ConnectionConfig) -> list[str]:
    """The reports sent back to IT's Perfect (cancellations and backorders at import)."""
    assert acme.flows["orders"].reply is not None
    folder = sftp.root / acme.flows["orders"].reply.folder.lstrip("/")
    return sorted(path.name for path in folder.glob("*.xml"))


def test_without_a_stock_update_orders_are_held_until_it_arrives(
    store: MessageStore,
    master: MasterDataStore,
    acme: ConnectionConfig,
    sftp_server: SFTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 7: a fresh install cancelled every order (0 available) before any stock was known."""
    drop(sftp_server, acme, "a.xml", samples.order_with_lines("901", [(DRESS, 2), (TEE, 1)]))

    with caplog.at_level(logging.INFO, logger="koppel.pipeline.rules"):
        receive_and_process(store, master, acme)

    (message,) = store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)
    assert message.status is MessageStatus.HELD
    assert [(p.code, p.severity) for p in message.problems] == [("stock.unknown", WARNING)]
    assert "no stock update has been received for itsperfect_acme yet" in (
        message.problems[0].message
    )
    assert monta_lines(sftp_server, acme) == {}
    assert replies(sftp_server, acme) == []  # nothing reported back as cancelled
    assert not master.known_order(CONNECTION, "901")  # nothing reserved
    assert any(
        r.levelno == logging.WARNING and "order 901 held" in r.getMessage() for r in caplog.records
    )

    receive_and_process(store, master, acme)  # still no stock: still held, nothing sent
    assert store.get(message.id).status is MessageStatus.HELD
    assert monta_lines(sftp_server, acme) == {}

    stock(master, {DRESS: 5, TEE: 0})  # the first full stock update
    receive_and_process(store, master, acme)

    released = store.get(message.id)
    assert released.status is MessageStatus.DELIVERED
    assert [p.code for p in released.problems] == ["backorder.line_removed"]
    assert monta_lines(sftp_server, acme) == {"901": [(DRESS, Decimal(2))]}
    assert len(replies(sftp_server, acme)) == 1  # the tee on backorder, reported once


def test_unknown_stock_pass_sends_orders_unchanged_with_a_note(
    store: MessageStore,
    master: MasterDataStore,
    connections_dir: Path,
    acme: ConnectionConfig,
    sftp_server: SFTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = connections_dir / f"{CONNECTION}.yaml"
    path.write_text(
        path.read_text().replace(
            "backorder_handling: true", "backorder_handling: true, unknown_stock: pass"
        )
    )
    passing = load_connection(path)
    drop(sftp_server, passing, "a.xml", samples.order_with_lines("902", [(DRESS, 2), (TEE, 1)]))

    with caplog.at_level(logging.INFO, logger="koppel.pipeline.rules"):
        receive_and_process(store, master, passing)

    (message,) = store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)
    assert message.status is MessageStatus.DELIVERED
    assert [(p.code, p.severity) for p in message.problems] == [("stock.unknown_passed", INFO)]
    assert monta_lines(sftp_server, passing) == {"902": [(DRESS, Decimal(2)), (TEE, Decimal(1))]}
    assert replies(sftp_server, passing) == []
    assert [r.line_id for r in master.order_lines(CONNECTION, "902")] == ["1", "2"]  # reserved
    assert any("order 902 sent unchanged" in r.getMessage() for r in caplog.records)
