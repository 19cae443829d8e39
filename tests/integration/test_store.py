"""The message store against a real PostgreSQL (and SQLite, the demo's embedded default)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.sql import Select

from koppel.documents import Problem, Severity
from koppel.errors import ConfigError, StoreError
from koppel.hooks.store import KoppelStoreHook
from koppel.store import (
    AttemptOutcome,
    Direction,
    MessageStatus,
    MessageStore,
    create_store_engine,
    migrate,
)
from koppel.store.migrate import MIGRATIONS_DIR
from koppel.store.schema import idempotency_keys, messages

pytestmark = pytest.mark.integration

#: Every byte value, twice: not valid UTF-8, with NULs and a lone 0xFF.
BINARY = bytes(range(256)) * 2 + b"\x00\xff"
CONN = "acme"
FLOW = "orders"


def _scalar(engine: Engine, query: Select[tuple[int]]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _rows(engine: Engine) -> int:
    return _scalar(engine, select(func.count()).select_from(messages))


def _receive(store: MessageStore, name: str = "order-1.xml", payload: bytes = b"<Order/>") -> int:
    receipt = store.receive(connection_id=CONN, flow=FLOW, source_name=name, payload=payload)
    return receipt.message_id


def _outbound(store: MessageStore, parent_id: int | None, key: str = "order-1") -> int:
    return store.create_outbound(
        parent_id=parent_id,
        connection_id=CONN,
        flow=FLOW,
        delivery_key=key,
        target_name=f"/out/{key}.xml",
        payload=b"<Out/>",
        document={"number": key},
        document_key=key,
    ).message_id


# -- receiving -------------------------------------------------------------------------------


def test_receiving_the_same_file_twice_keeps_one_message(
    any_store: MessageStore, any_engine: Engine
) -> None:
    first = any_store.receive(connection_id=CONN, flow=FLOW, source_name="a.xml", payload=b"x")
    second = any_store.receive(connection_id=CONN, flow=FLOW, source_name="a.xml", payload=b"x")

    assert first.created is True
    assert second.created is False
    assert second.message_id == first.message_id
    assert _rows(any_engine) == 1
    stored = any_store.get(first.message_id)
    assert stored.direction is Direction.IN
    assert stored.status is MessageStatus.RECEIVED
    assert stored.checksum == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    assert stored.size_bytes == 1
    assert stored.created_at.utcoffset() is not None


def test_same_name_with_other_bytes_is_a_new_message(
    any_store: MessageStore, any_engine: Engine
) -> None:
    first = _receive(any_store, payload=b"<Order>1</Order>")
    second = _receive(any_store, payload=b"<Order>2</Order>")

    assert second != first
    assert _rows(any_engine) == 2


def test_the_same_bytes_in_another_flow_is_another_message(any_store: MessageStore) -> None:
    first = any_store.receive(connection_id=CONN, flow="orders", source_name="a", payload=b"x")
    other = any_store.receive(connection_id=CONN, flow="stock", source_name="a", payload=b"x")

    assert other.created is True
    assert other.message_id != first.message_id


def test_concurrent_receives_of_one_file_store_it_once(
    any_store: MessageStore, any_engine: Engine
) -> None:
    workers = 6
    barrier = threading.Barrier(workers)

    def receive_together() -> tuple[int, bool]:
        barrier.wait()
        receipt = any_store.receive(
            connection_id=CONN, flow=FLOW, source_name="race.xml", payload=b"<Order/>"
        )
        return receipt.message_id, receipt.created

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda _: receive_together(), range(workers)))

    assert len({message_id for message_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert _rows(any_engine) == 1
    assert _scalar(any_engine, select(func.count()).select_from(idempotency_keys)) == 1


def test_payload_bytes_round_trip_exactly(any_store: MessageStore) -> None:
    message_id = _receive(any_store, payload=BINARY)

    stored = any_store.get(message_id)

    assert stored.payload == BINARY
    assert stored.size_bytes == len(BINARY)


# -- outbound --------------------------------------------------------------------------------


def test_outbound_documents_are_stored_once_per_delivery_key(
    any_store: MessageStore, any_engine: Engine
) -> None:
    parent = _receive(any_store)

    first = _outbound(any_store, parent)
    again = any_store.create_outbound(
        parent_id=parent,
        connection_id=CONN,
        flow=FLOW,
        delivery_key="order-1",
        target_name="/out/other.xml",
        payload=b"<Different/>",
        document={"number": "changed"},
        document_key="order-1",
    )
    other = _outbound(any_store, parent, key="order-2")

    assert again.created is False
    assert again.message_id == first
    assert other != first
    assert _rows(any_engine) == 3
    stored = any_store.get(first)
    assert stored.direction is Direction.OUT
    assert stored.status is MessageStatus.PENDING
    assert stored.parent_id == parent
    assert stored.document == {"number": "order-1"}
    assert stored.payload == b"<Out/>"
    assert stored.target_name == "/out/order-1.xml"


def test_outbound_with_a_missing_parent_is_refused(any_store: MessageStore) -> None:
    with pytest.raises(StoreError):
        _outbound(any_store, parent_id=999_999)


# -- changing messages -----------------------------------------------------------------------


def test_update_and_problems_round_trip(any_store: MessageStore) -> None:
    message_id = _receive(any_store)
    error = Problem(code="xsd.invalid", message="bad", file="a.xml", line=3, field="/Order/ID")
    warning = Problem(code="scsn.revision", message="differs", severity=Severity.WARNING)
    document = [{"number": "PO-1", "lines": [{"sku": "A", "quantity": "2.50"}]}]

    any_store.update(
        message_id,
        status=MessageStatus.REJECTED,
        problems=[error],
        document=document,
        document_key="PO-1",
        run_id="run-1",
    )
    any_store.add_problems(message_id, [warning])
    stored = any_store.get(message_id)

    assert stored.status is MessageStatus.REJECTED
    assert stored.problems == [error, warning]
    assert stored.document == document
    assert stored.document_key == "PO-1"
    assert stored.run_id == "run-1"
    assert stored.updated_at >= stored.created_at


def test_update_leaves_the_document_alone_unless_given(any_store: MessageStore) -> None:
    message_id = _receive(any_store)
    any_store.update(message_id, document={"a": 1})

    any_store.update(message_id, status=MessageStatus.HELD)
    assert any_store.get(message_id).document == {"a": 1}

    any_store.update(message_id, document=None, problems=[])
    cleared = any_store.get(message_id)
    assert cleared.document is None
    assert cleared.problems == []
    assert cleared.status is MessageStatus.HELD


def test_changing_a_missing_message_raises(any_store: MessageStore) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        any_store.get(424242)
    with pytest.raises(StoreError, match="does not exist"):
        any_store.update(424242, status=MessageStatus.DELIVERED)
    with pytest.raises(StoreError, match="does not exist"):
        any_store.add_problems(424242, [Problem(code="x", message="y")])
    with pytest.raises(StoreError, match="does not exist"):
        any_store.set_disposition(424242, "archive:/x")


# -- reading ---------------------------------------------------------------------------------


def test_find_applies_every_filter(any_store: MessageStore) -> None:
    archived = _receive(any_store, "a.xml")
    rejected = _receive(any_store, "b.xml")
    waiting = _receive(any_store, "c.xml")
    elsewhere = any_store.receive(
        connection_id="other", flow=FLOW, source_name="a.xml", payload=b"<Order/>"
    ).message_id
    outbound = _outbound(any_store, archived)
    any_store.update(archived, status=MessageStatus.DELIVERED)
    any_store.update(rejected, status=MessageStatus.REJECTED)
    any_store.set_disposition(archived, "archive:/acme/orders/archive/a.xml")

    def ids(**filters: object) -> list[int]:
        found = any_store.find(connection_id=CONN, flow=FLOW, **filters)  # type: ignore[arg-type]
        return [message.id for message in found]

    assert ids() == [archived, rejected, waiting, outbound]
    assert ids(direction=Direction.IN) == [archived, rejected, waiting]
    assert ids(direction=Direction.OUT) == [outbound]
    assert ids(statuses=[MessageStatus.RECEIVED, MessageStatus.REJECTED]) == [rejected, waiting]
    assert ids(statuses=[]) == []
    assert ids(direction=Direction.IN, disposed=True) == [archived]
    assert ids(direction=Direction.IN, disposed=False) == [rejected, waiting]
    assert ids(parent_id=archived) == [outbound]
    assert elsewhere not in ids()
    assert any_store.get(archived).disposition == "archive:/acme/orders/archive/a.xml"


def test_list_messages_is_newest_first_without_payloads(any_store: MessageStore) -> None:
    first = _receive(any_store, "a.xml")
    second = _receive(any_store, "b.xml")
    third = any_store.receive(connection_id="other", flow="stock", source_name="s", payload=b"1")
    any_store.update(second, status=MessageStatus.REJECTED)

    newest = any_store.list_messages()
    assert [m.id for m in newest] == [third.message_id, second, first]
    assert not hasattr(newest[0], "payload")
    assert [m.id for m in any_store.list_messages(limit=1)] == [third.message_id]
    assert [m.id for m in any_store.list_messages(connection_id=CONN)] == [second, first]
    assert [m.id for m in any_store.list_messages(flow="stock")] == [third.message_id]
    assert [m.id for m in any_store.list_messages(status=MessageStatus.REJECTED)] == [second]
    assert any_store.list_messages(direction=Direction.OUT) == []


def test_counts_tally_the_statuses_a_run_left(any_store: MessageStore) -> None:
    for name, status in [
        ("a", MessageStatus.DELIVERED),
        ("b", MessageStatus.DELIVERED),
        ("c", MessageStatus.REJECTED),
    ]:
        any_store.update(_receive(any_store, name), status=status, run_id="run-2")
    _receive(any_store, "d")  # not touched by run-2

    assert any_store.counts(connection_id=CONN, flow=FLOW, run_id="run-2") == {
        "delivered": 2,
        "rejected": 1,
    }
    assert any_store.counts(connection_id=CONN, flow=FLOW, run_id="run-9") == {}


# -- delivery attempts and watermarks --------------------------------------------------------


def test_attempts_are_numbered_per_message(any_store: MessageStore) -> None:
    one = _outbound(any_store, None, "k1")
    two = _outbound(any_store, None, "k2")

    assert any_store.start_attempt(one, target="ftp:/out") == 1
    any_store.finish_attempt(
        one, 1, outcome=AttemptOutcome.FAILED, status=MessageStatus.FAILED, error="timeout"
    )
    assert any_store.start_attempt(two, target="ftp:/out") == 1
    assert any_store.start_attempt(one, target="ftp:/out") == 2
    any_store.finish_attempt(
        one, 2, outcome=AttemptOutcome.ALREADY_PRESENT, status=MessageStatus.DELIVERED
    )

    attempts = any_store.attempts(one)
    assert [(a.attempt_no, a.outcome, a.error) for a in attempts] == [
        (1, AttemptOutcome.FAILED, "timeout"),
        (2, AttemptOutcome.ALREADY_PRESENT, None),
    ]
    assert all(a.finished_at >= a.started_at for a in attempts)
    assert any_store.get(one).status is MessageStatus.DELIVERED
    with pytest.raises(StoreError, match="has no delivery attempt 3"):
        any_store.finish_attempt(
            one, 3, outcome=AttemptOutcome.DELIVERED, status=MessageStatus.DELIVERED
        )
    with pytest.raises(StoreError, match="does not exist"):
        any_store.start_attempt(999_999, target="ftp:/out")


def test_watermarks_are_kept_per_connection_and_flow(any_store: MessageStore) -> None:
    assert any_store.get_watermark(CONN, "stock") is None

    any_store.set_watermark(CONN, "stock", "2026-01-01T00:00:00+00:00")
    any_store.set_watermark(CONN, "stock", "2026-01-02T00:00:00+00:00")
    any_store.set_watermark(CONN, "prices", "17")

    assert any_store.get_watermark(CONN, "stock") == "2026-01-02T00:00:00+00:00"
    assert any_store.get_watermark(CONN, "prices") == "17"
    assert any_store.get_watermark("other", "stock") is None


# -- migrations ------------------------------------------------------------------------------


def test_migrating_twice_changes_nothing(any_store: MessageStore, any_engine: Engine) -> None:
    message_id = _receive(any_store, payload=BINARY)

    migrate(any_engine)
    migrate(any_engine)

    with any_engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM koppel_alembic_version")).all()
    assert [row[0] for row in versions] == [_head_revision()]
    assert any_store.get(message_id).payload == BINARY
    assert _rows(any_engine) == 1


def _head_revision() -> str:
    """The newest revision of the store, read from the migrations: migrating goes all the way."""
    folder = MIGRATIONS_DIR / "versions"
    return max(path.name.split("_", 1)[0] for path in folder.glob("[0-9]*_*.py"))


def test_migrate_on_an_unreachable_database_raises_store_error(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'missing' / 'store.db'}")
    with pytest.raises(StoreError, match="cannot migrate"):
        migrate(engine)


# -- the Airflow hook ------------------------------------------------------------------------


def test_hook_opens_the_postgres_store_named_by_the_connection(
    store_conn_id: str, store: MessageStore
) -> None:
    hook = KoppelStoreHook(store_conn_id)

    hook_store = hook.get_store()
    message_id = _receive(hook_store, payload=BINARY)

    assert hook.get_engine() is hook.get_engine()
    assert hook.get_engine().dialect.name == "postgresql"
    assert store.get(message_id).payload == BINARY  # the fixture's store sees the same row
    assert hook.test_connection() == (True, "Connection successfully tested")


@pytest.mark.parametrize("form", ["uri", "json_host"])
def test_hook_opens_a_sqlite_store(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "demo store.db"
    value = (
        f"sqlite:///{path}"
        if form == "uri"
        else json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    monkeypatch.setenv("AIRFLOW_CONN_KOPPEL_STORE", value)

    hook = KoppelStoreHook()
    first = _receive(hook.get_store())
    again = _receive(hook.get_store())

    assert again == first
    assert path.exists()
    assert hook.get_engine().dialect.name == "sqlite"
    hook.get_engine().dispose()


def test_hook_refuses_a_connection_of_another_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_KOPPEL_STORE", "mysql://user:secret@127.0.0.1:3306/koppel")

    with pytest.raises(ConfigError, match="postgres or sqlite"):
        KoppelStoreHook().get_store()
