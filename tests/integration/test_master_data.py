"""Stock snapshots and order reservations against a real PostgreSQL (and one SQLite smoke test)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, select, text

from koppel.documents import Order, OrderLine, StockLevel, StockMode
from koppel.errors import StoreError
from koppel.store import (
    MasterDataStore,
    MessageStore,
    Reservation,
    StoreConflictError,
    create_store_engine,
    migrate,
)
from koppel.store.migrate import MIGRATIONS_DIR
from koppel.store.schema import stock_levels

pytestmark = pytest.mark.integration

CONN = "itsperfect_acme"
MASTER_TABLES = {"stock_levels", "order_reservations"}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite store in a temporary file."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def master(store_engine: Engine) -> MasterDataStore:
    return MasterDataStore(store_engine)


@pytest.fixture
def order_message(store: MessageStore) -> int:
    """An inbound order message for reservations to point at."""
    return _message(store, "order.xml")


def _message(store: MessageStore, name: str) -> int:
    receipt = store.receive(connection_id=CONN, flow="orders", source_name=name, payload=b"<o/>")
    return receipt.message_id


def _levels(*pairs: tuple[str, str]) -> list[StockLevel]:
    return [StockLevel(sku=sku, quantity=Decimal(qty)) for sku, qty in pairs]


def _order(order_id: str, *lines: tuple[str, str | None, str]) -> Order:
    return Order(
        order_id=order_id,
        lines=[
            OrderLine(line_id=line_id, sku=sku, quantity=Decimal(qty))
            for line_id, sku, qty in lines
        ],
    )


def _hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT version_num FROM koppel_alembic_version")).all()
    return [row[0] for row in rows]


def _alembic(engine: Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


# -- migration -------------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_migration_0002_applies_on_top_of_0001_and_twice_is_a_no_op(
    database: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(
        "store_engine" if database == "postgres" else "sqlite_engine"
    )
    _alembic(engine, "downgrade", "0001")
    assert _versions(engine) == ["0001"]
    assert MASTER_TABLES.isdisjoint(inspect(engine).get_table_names())
    message_id = _message(MessageStore(engine), "kept.xml")

    migrate(engine)
    MasterDataStore(engine).replace_stock(
        CONN, _levels(("A", "1")), as_of=_hour_ago(), message_id=message_id
    )
    migrate(engine)

    assert _versions(engine) == [_head_revision()]
    assert set(inspect(engine).get_table_names()) >= MASTER_TABLES
    assert MessageStore(engine).get(message_id).source_name == "kept.xml"
    assert MasterDataStore(engine).stock(CONN) == {"A": Decimal(1)}


# -- stock -----------------------------------------------------------------------------------


def test_a_full_update_replaces_the_whole_snapshot(
    master: MasterDataStore, order_message: int
) -> None:
    first = master.replace_stock(
        CONN, _levels(("A", "5"), ("B", "3")), as_of=_hour_ago(), message_id=None
    )
    second = master.replace_stock(
        CONN, _levels(("A", "2"), ("C", "7")), as_of=datetime.now(UTC), message_id=order_message
    )

    assert (first, second) == (2, 2)
    assert master.stock(CONN) == {"A": Decimal(2), "C": Decimal(7)}
    assert master.stock(CONN, ["B", "C", "C"]) == {"B": Decimal(0), "C": Decimal(7)}
    assert master.stock("other_connection") == {}


def test_an_empty_update_leaves_no_stock(master: MasterDataStore) -> None:
    master.replace_stock(CONN, _levels(("A", "5")), as_of=_hour_ago(), message_id=None)

    assert master.replace_stock(CONN, [], as_of=datetime.now(UTC), message_id=None) == 0
    assert master.stock(CONN) == {}


@pytest.mark.parametrize(
    ("entries", "quantity", "warehouse"),
    [
        ([("3", "AMS"), ("4", "AMS")], Decimal(7), "AMS"),
        ([("3", "AMS"), ("4", "RTM")], Decimal(7), None),
        ([("0.1", None), ("0.2", None)], Decimal("0.3"), None),
        ([("-2", "AMS"), ("5", "AMS"), ("0", "AMS")], Decimal(3), "AMS"),
    ],
)
def test_a_sku_listed_per_location_holds_the_sum(
    master: MasterDataStore,
    store_engine: Engine,
    entries: list[tuple[str, str | None]],
    quantity: Decimal,
    warehouse: str | None,
) -> None:
    levels = [StockLevel(sku="A", quantity=Decimal(q), warehouse=w) for q, w in entries]

    assert master.replace_stock(CONN, levels, as_of=_hour_ago(), message_id=None) == 1

    stock = master.stock(CONN)
    assert stock == {"A": quantity}
    assert str(stock["A"]) == str(quantity)
    with store_engine.connect() as conn:
        stored = conn.execute(select(stock_levels.c.warehouse)).scalar_one()
    assert stored == warehouse


def test_twenty_thousand_levels_round_trip_exactly(
    master: MasterDataStore, order_message: int
) -> None:
    expected = {f"SKU-{n:05d}": Decimal(n % 1000) + Decimal("0.0625") for n in range(20_000)}
    levels = [StockLevel(sku=sku, quantity=qty) for sku, qty in expected.items()]

    count = master.replace_stock(CONN, levels, as_of=_hour_ago(), message_id=order_message)

    assert count == 20_000
    assert master.stock(CONN) == expected
    asked = list(expected)[::7]
    assert master.stock(CONN, asked) == {sku: expected[sku] for sku in asked}
    assert master.available(CONN, asked) == {sku: expected[sku] for sku in asked}


def test_a_delta_level_is_refused_and_the_snapshot_kept(master: MasterDataStore) -> None:
    master.replace_stock(CONN, _levels(("A", "5")), as_of=_hour_ago(), message_id=None)
    delta = StockLevel(sku="B", quantity=Decimal(1), mode=StockMode.DELTA)

    with pytest.raises(ValueError, match="delta"):
        master.replace_stock(CONN, [delta], as_of=datetime.now(UTC), message_id=None)
    assert master.stock(CONN) == {"A": Decimal(5)}


def test_a_naive_snapshot_time_is_refused(master: MasterDataStore) -> None:
    with pytest.raises(StoreError, match="naive datetime"):
        master.replace_stock(CONN, _levels(("A", "5")), as_of=datetime(2026, 1, 1), message_id=None)
    assert master.stock(CONN) == {}


def test_concurrent_replacements_leave_exactly_one_snapshot(master: MasterDataStore) -> None:
    snapshots = [
        [StockLevel(sku=f"SKU-{n}-{i}", quantity=Decimal(n)) for i in range(200)] for n in range(8)
    ]

    def replace(levels: list[StockLevel]) -> int:
        return master.replace_stock(CONN, levels, as_of=_hour_ago(), message_id=None)

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(replace, snapshots))

    assert counts == [200] * 8
    final = master.stock(CONN)
    assert final in [{lv.sku: lv.quantity for lv in snapshot} for snapshot in snapshots]


# -- reservations ----------------------------------------------------------------------------


def test_reserving_twice_records_each_line_once(
    master: MasterDataStore, store: MessageStore, order_message: int
) -> None:
    order = _order("IP-1", ("1", "A", "2"), ("2", "B", "1"), ("3", None, "1"))
    rerun_message = _message(store, "order-again.xml")

    assert master.reserve(CONN, order, message_id=order_message) == 3
    assert master.reserve(CONN, order, message_id=order_message) == 0
    assert master.reserve(CONN, order, message_id=rerun_message) == 0
    assert master.reserve(CONN, _order("IP-2"), message_id=order_message) == 0

    lines = master.order_lines(CONN, "IP-1")
    assert [(r.line_id, r.sku, r.quantity) for r in lines] == [
        ("1", "A", Decimal(2)),
        ("2", "B", Decimal(1)),
        ("3", None, Decimal(1)),
    ]
    assert {r.message_id for r in lines} == {order_message}


def test_a_reservation_needs_a_stored_message(master: MasterDataStore) -> None:
    with pytest.raises(StoreConflictError):
        master.reserve(CONN, _order("IP-1", ("1", "A", "1")), message_id=999_999)
    assert not master.known_order(CONN, "IP-1")


def test_a_reservation_is_stored_with_the_decision_or_not_at_all(
    master: MasterDataStore, store: MessageStore, order_message: int
) -> None:
    """Reserving and storing the order's decision are one transaction: a failure keeps neither."""
    order = _order("IP-1", ("1", "A", "2"))
    reserve = partial(master.reserve, CONN, order, message_id=order_message)

    def broken(*, conn: Connection) -> None:
        raise StoreError("the decision's transaction fails after the stock was reserved")

    decide = partial(
        store.record_decision,
        order_message,
        connection_id=CONN,
        flow="orders",
        problems=[],
        document={"order_id": "IP-1"},
        document_key="IP-1",
        run_id="run-1",
        outbound=[],
    )
    with pytest.raises(StoreError):
        decide(changes=[reserve, broken])
    assert not master.known_order(CONN, "IP-1")
    assert store.get(order_message).document is None

    decide(changes=[reserve])
    assert [r.line_id for r in master.order_lines(CONN, "IP-1")] == ["1"]
    assert store.get(order_message).document == {"order_id": "IP-1"}


def test_available_subtracts_only_reservations_made_after_the_snapshot(
    master: MasterDataStore, order_message: int
) -> None:
    master.reserve(CONN, _order("BEFORE", ("1", "A", "4")), message_id=order_message)
    master.replace_stock(
        CONN, _levels(("A", "10"), ("B", "10")), as_of=datetime.now(UTC), message_id=None
    )
    assert master.available(CONN, ["A", "B"]) == {"A": Decimal(10), "B": Decimal(10)}

    master.replace_stock(
        CONN, _levels(("A", "10"), ("B", "10")), as_of=_hour_ago(), message_id=None
    )
    master.reserve(
        CONN, _order("AFTER", ("1", "B", "3"), ("2", "B", "2")), message_id=order_message
    )

    assert master.available(CONN, ["A", "B", "C"]) == {
        "A": Decimal(6),
        "B": Decimal(5),
        "C": Decimal(0),
    }
    assert master.available(CONN, ["B"], exclude_order="AFTER") == {"B": Decimal(10)}
    assert master.available("other_connection", ["A"]) == {"A": Decimal(0)}


def test_available_never_goes_below_zero(master: MasterDataStore, order_message: int) -> None:
    master.replace_stock(CONN, _levels(("A", "2")), as_of=_hour_ago(), message_id=None)
    master.reserve(CONN, _order("IP-1", ("1", "A", "5")), message_id=order_message)

    assert master.available(CONN, ["A"]) == {"A": Decimal(0)}


@pytest.mark.parametrize(
    ("closing", "available"),
    [
        # The warehouse's stock figure only learns of the shipment at its next snapshot.
        ("shipped", Decimal(7)),
        ("cancelled", Decimal(10)),
    ],
)
def test_a_closed_order_reserves_only_until_its_stock_is_back_or_counted(
    master: MasterDataStore, order_message: int, closing: str, available: Decimal
) -> None:
    master.replace_stock(CONN, _levels(("A", "10")), as_of=_hour_ago(), message_id=None)
    master.reserve(CONN, _order("IP-1", ("1", "A", "3")), message_id=order_message)
    assert master.available(CONN, ["A"]) == {"A": Decimal(7)}

    closed = (
        master.close_order(CONN, "IP-1", "shipped")
        if closing == "shipped"
        else master.close_order(CONN, "IP-1", "cancelled")
    )

    assert closed == 1
    assert master.available(CONN, ["A"]) == {"A": available}
    master.replace_stock(CONN, _levels(("A", "7")), as_of=datetime.now(UTC), message_id=None)
    assert master.available(CONN, ["A"]) == {"A": Decimal(7)}


def test_order_lines_come_in_natural_order_and_close_only_once(
    master: MasterDataStore, order_message: int
) -> None:
    order = _order("IP-7", ("10", "C", "1"), ("2", "B", "1"), ("1", "A", "1"), ("1a", "D", "1"))
    master.reserve(CONN, order, message_id=order_message)

    assert master.known_order(CONN, "IP-7")
    assert not master.known_order(CONN, "IP-7-1")
    assert not master.known_order("other_connection", "IP-7")
    assert [r.line_id for r in master.order_lines(CONN, "IP-7")] == ["1", "1a", "2", "10"]
    assert master.order_lines(CONN, "IP-7-1") == []

    assert master.release_lines(CONN, "IP-7", ["2", "99"]) == 1
    assert master.close_order(CONN, "IP-7", "shipped") == 3
    assert master.close_order(CONN, "IP-7", "cancelled") == 0
    assert master.release_lines(CONN, "IP-7", ["1"]) == 0
    assert {r.line_id: r.status for r in master.order_lines(CONN, "IP-7")} == {
        "1": "shipped",
        "1a": "shipped",
        "2": "cancelled",
        "10": "shipped",
    }


def test_an_order_closes_only_as_shipped_or_cancelled(master: MasterDataStore) -> None:
    with pytest.raises(ValueError, match="shipped or cancelled"):
        master.close_order(CONN, "IP-1", "open")  # type: ignore[arg-type]


# -- SQLite ----------------------------------------------------------------------------------


def test_sqlite_smoke_decimal_exact_stock_and_reservations(sqlite_engine: Engine) -> None:
    master = MasterDataStore(sqlite_engine)
    message_id = _message(MessageStore(sqlite_engine), "order.xml")
    master.replace_stock(
        CONN, _levels(("A", "0.1"), ("A", "0.2"), ("B", "1")), as_of=_hour_ago(), message_id=None
    )

    assert master.reserve(CONN, _order("IP-1", ("1", "A", "0.1")), message_id=message_id) == 1
    assert master.reserve(CONN, _order("IP-1", ("1", "A", "0.1")), message_id=message_id) == 0

    assert master.stock(CONN) == {"A": Decimal("0.3"), "B": Decimal(1)}
    assert str(master.available(CONN, ["A"])["A"]) == "0.2"
    assert master.order_lines(CONN, "IP-1") == [
        Reservation(
            line_id="1", sku="A", quantity=Decimal("0.1"), status="open", message_id=message_id
        )
    ]
    assert master.close_order(CONN, "IP-1", "cancelled") == 1
    assert master.available(CONN, ["A"]) == {"A": Decimal("0.3")}


def _head_revision() -> str:
    """The newest revision of the store: migrating goes all the way, whatever came after 0002."""
    folder = MIGRATIONS_DIR / "versions"
    return max(path.name.split("_", 1)[0] for path in folder.glob("[0-9]*_*.py"))
