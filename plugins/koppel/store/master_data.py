"""Master data the rules need: the warehouse's stock and what sent orders still claim of it.

Backorder handling (SPEC.md section 4) removes the lines of an order that are
not in stock when the order is imported into the warehouse. "In stock" is
judged against the full stock update (FSU) the warehouse last sent, less what
orders imported after that snapshot reserve: the warehouse's figure is stock
available to sell, so it already counts the orders the warehouse had by then.
Status updates later need the lines of the order as it was sent, because a
deleted order is reported with quantity 0 on every line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import Connection, Engine, Select, and_, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.dml import ReturningInsert

from koppel.documents import Order, StockLevel, StockMode
from koppel.errors import StoreError
from koppel.store.repository import StoreConflictError
from koppel.store.schema import order_reservations, stock_levels

#: What became of a sent order line: still to ship, shipped, or cancelled (never shipped).
ReservationStatus = Literal["open", "shipped", "cancelled"]
_STATUSES: frozenset[str] = frozenset({"open", "shipped", "cancelled"})
#: Bound parameters per ``IN`` list: far below every database's limit, even old SQLite's 999.
_CHUNK = 900
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Reservation:
    """One line of an order sent to the warehouse, as it was sent."""

    line_id: str
    sku: str | None
    quantity: Decimal
    status: ReservationStatus
    message_id: int
    """The inbound order message the line came from."""


class MasterDataStore:
    """Keeps each connection's stock snapshot and the lines of the orders it sent on."""

    def __init__(self, engine: Engine) -> None:
        """Use ``engine``, which must point at a store already migrated by ``migrate``."""
        self._engine = engine

    # -- stock -------------------------------------------------------------------------------

    def replace_stock(
        self,
        connection_id: str,
        levels: Iterable[StockLevel],
        *,
        as_of: datetime,
        message_id: int | None,
        conn: Connection | None = None,
    ) -> int:
        """Make ``levels`` the connection's whole stock, in one transaction; return the SKU count.

        A full stock update lists every SKU the warehouse has, so a SKU missing from
        it has none left and its row goes. A SKU listed more than once (once per
        location) holds the sum. ``as_of`` is the moment the warehouse took the
        snapshot, or else when it was received; it decides which reservations the
        snapshot already counts (see :meth:`available`). Given ``conn``, in its
        transaction (the one storing the stock message's decision).

        Raises:
            ValueError: a level is a delta, which added to nothing would wipe out stock.
        """
        now = _now()
        rows = [
            {
                "connection_id": connection_id,
                "sku": sku,
                "quantity": quantity,
                "warehouse": warehouse,
                "as_of": as_of,
                "message_id": message_id,
                "updated_at": now,
            }
            for sku, (quantity, warehouse) in _sum_per_sku(levels).items()
        ]
        with self._transaction(conn) as tx:
            _lock_stock_of(tx, connection_id)
            tx.execute(delete(stock_levels).where(stock_levels.c.connection_id == connection_id))
            if rows:
                tx.execute(stock_levels.insert(), rows)
        return len(rows)

    def has_stock(self, connection_id: str) -> bool:
        """Tell whether a full stock update was ever kept for the connection.

        :meth:`replace_stock` is the only writer of stock, and a stock file
        without a single SKU is refused before it gets here (the pipeline
        rejects a file that holds no documents), so a kept update always
        leaves rows: no rows means the warehouse's stock is still unknown.
        """
        query = select(stock_levels.c.sku).where(stock_levels.c.connection_id == connection_id)
        with self._transaction() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def stock(self, connection_id: str, skus: Iterable[str] | None = None) -> dict[str, Decimal]:
        """Return the last snapshot's quantities: all, or those of ``skus`` (0 when absent)."""
        query = select(stock_levels.c.sku, stock_levels.c.quantity).where(
            stock_levels.c.connection_id == connection_id
        )
        with self._transaction() as conn:
            if skus is None:
                return {sku: _plain(qty) for sku, qty in conn.execute(query).all()}
            found = dict.fromkeys(sorted(set(skus)), _ZERO)
            for chunk in _chunks(list(found)):
                rows = conn.execute(query.where(stock_levels.c.sku.in_(chunk))).all()
                found.update((sku, _plain(qty)) for sku, qty in rows)
        return found

    def available(
        self, connection_id: str, skus: Iterable[str], *, exclude_order: str | None = None
    ) -> dict[str, Decimal]:
        """Return what each SKU has left to promise: its stock less what later orders claim.

        A reservation counts when it was made after the SKU's snapshot (the snapshot
        already counts earlier orders) and was not cancelled. A shipped line still
        counts until a newer snapshot: the stock it took is not yet in the figure.
        A SKU without stock has 0. The result is never negative: more claimed than
        stocked means those orders were oversold already, and a line can take
        nothing either way, so a negative figure would only mislead sums and reports.

        ``exclude_order`` leaves that order's own lines out, so an order processed
        again after its reservation was made is not short of the stock it holds.
        """
        result = dict.fromkeys(sorted(set(skus)), _ZERO)
        with self._transaction() as conn:
            for chunk in _chunks(list(result)):
                on_hand = conn.execute(
                    select(stock_levels.c.sku, stock_levels.c.quantity).where(
                        stock_levels.c.connection_id == connection_id,
                        stock_levels.c.sku.in_(chunk),
                    )
                ).all()
                query = _claimed_since_snapshot(connection_id, chunk, exclude_order)
                claimed: dict[str, Decimal] = dict(conn.execute(query).tuples().all())
                for sku, quantity in on_hand:
                    result[sku] = _plain(max(_ZERO, quantity - claimed.get(sku, _ZERO)))
        return result

    # -- reservations ------------------------------------------------------------------------

    def reserve(
        self, connection_id: str, order: Order, *, message_id: int, conn: Connection | None = None
    ) -> int:
        """Record every line of ``order`` as sent and open; return how many are new.

        Lines without a SKU are recorded too (a status update needs every line) but
        claim no stock. A rerun records nothing twice: a line already recorded stays
        as it is, whatever the rerun says about it. Given ``conn``, the lines are
        recorded in its transaction: the one that stores the order's decision, so
        that a crash keeps both or neither.
        """
        now = _now()
        rows = [
            {
                "connection_id": connection_id,
                "order_id": order.order_id,
                "line_id": line.line_id,
                "sku": line.sku,
                "quantity": line.quantity,
                "status": "open",
                "message_id": message_id,
                "created_at": now,
                "updated_at": now,
            }
            for line in order.lines
        ]
        if not rows:
            return 0
        with self._transaction(conn) as tx:
            return len(tx.execute(_reserve_statement(tx.dialect.name), rows).all())

    def known_order(self, connection_id: str, order_id: str) -> bool:
        """Tell whether any line of the order was recorded as sent to the warehouse."""
        query = (
            select(order_reservations.c.line_id).where(*_order_is(connection_id, order_id)).limit(1)
        )
        with self._transaction() as conn:
            return conn.execute(query).first() is not None

    def order_lines(self, connection_id: str, order_id: str) -> list[Reservation]:
        """Return the sent lines of an order, in natural line order (``2`` before ``10``)."""
        query = select(order_reservations).where(*_order_is(connection_id, order_id))
        with self._transaction() as conn:
            rows = conn.execute(query).mappings().all()
        lines = [
            Reservation(
                line_id=row["line_id"],
                sku=row["sku"],
                quantity=_plain(row["quantity"]),
                status=cast(ReservationStatus, row["status"]),
                message_id=row["message_id"],
            )
            for row in rows
        ]
        return sorted(lines, key=lambda line: _natural_key(line.line_id))

    def close_order(
        self,
        connection_id: str,
        order_id: str,
        status: Literal["shipped", "cancelled"],
        *,
        conn: Connection | None = None,
    ) -> int:
        """Mark the order's open lines shipped or cancelled; return how many changed.

        Given ``conn``, in its transaction (the one storing the status update's decision).
        """
        if status not in _STATUSES - {"open"}:
            raise ValueError(f"an order closes as shipped or cancelled, not {status!r}")
        return self._close(connection_id, order_id, status, line_ids=None, conn=conn)

    def release_lines(self, connection_id: str, order_id: str, line_ids: Iterable[str]) -> int:
        """Cancel some open lines of an order, e.g. the rest of a partial shipment."""
        return self._close(connection_id, order_id, "cancelled", line_ids=list(line_ids))

    # -- plumbing ----------------------------------------------------------------------------

    def _close(
        self,
        connection_id: str,
        order_id: str,
        status: str,
        *,
        line_ids: list[str] | None,
        conn: Connection | None = None,
    ) -> int:
        conditions = [*_order_is(connection_id, order_id), order_reservations.c.status == "open"]
        if line_ids is not None:
            conditions.append(order_reservations.c.line_id.in_(line_ids))
        statement = (
            update(order_reservations).where(*conditions).values(status=status, updated_at=_now())
        )
        with self._transaction(conn) as tx:
            return int(tx.execute(statement).rowcount)

    @contextmanager
    def _transaction(self, conn: Connection | None = None) -> Iterator[Connection]:
        """One transaction; database failures come out as :class:`StoreError`.

        Given ``conn``, its transaction instead: the caller commits or rolls it
        back, and maps its failures.
        """
        if conn is not None:
            yield conn
            return
        try:
            with self._engine.begin() as own:
                yield own
        except IntegrityError as exc:
            raise StoreConflictError(f"conflicts with stored data: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"master data store failure: {exc}") from exc


#: Recording an order's lines, once per line: built once per dialect and run with one
#: parameter set per line, so SQLAlchemy compiles it once instead of once per order
#: (a multi-row ``VALUES`` of literal rows has no cache key).
_RESERVE = {
    name: dialect_insert(order_reservations)
    .on_conflict_do_nothing(index_elements=list(order_reservations.primary_key))
    .returning(order_reservations.c.line_id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _reserve_statement(dialect: str) -> ReturningInsert[tuple[str]]:
    try:
        return _RESERVE[dialect]
    except KeyError:
        raise StoreError(f"the message store does not support {dialect!r} databases") from None


def _sum_per_sku(levels: Iterable[StockLevel]) -> dict[str, tuple[Decimal, str | None]]:
    """Add up a SKU's quantities; keep its warehouse only when every entry names the same one."""
    totals: dict[str, tuple[Decimal, str | None]] = {}
    for level in levels:
        if level.mode is not StockMode.FULL:
            raise ValueError(f"SKU {level.sku!r} is a {level.mode.value} level, not a full one")
        if level.sku in totals:
            quantity, warehouse = totals[level.sku]
            same = warehouse if warehouse == level.warehouse else None
            totals[level.sku] = (quantity + level.quantity, same)
        else:
            totals[level.sku] = (level.quantity, level.warehouse)
    return totals


def _claimed_since_snapshot(
    connection_id: str, skus: Sequence[str], exclude_order: str | None
) -> Select[str, Decimal]:
    """Per SKU, the quantity of uncancelled lines recorded after that SKU's snapshot."""
    reserved = order_reservations.c
    joined = order_reservations.join(
        stock_levels,
        and_(
            stock_levels.c.connection_id == reserved.connection_id,
            stock_levels.c.sku == reserved.sku,
        ),
    )
    query = (
        select(reserved.sku, func.sum(reserved.quantity))
        .select_from(joined)
        .where(
            reserved.connection_id == connection_id,
            reserved.sku.in_(skus),
            reserved.status != "cancelled",
            reserved.created_at > stock_levels.c.as_of,
        )
        .group_by(reserved.sku)
    )
    return query if exclude_order is None else query.where(reserved.order_id != exclude_order)


def _lock_stock_of(conn: Connection, connection_id: str) -> None:
    """Queue two replacements of one connection's stock instead of letting them collide.

    Without it, the second one's delete misses the rows the first inserts and its
    insert fails on their keys. SQLite needs nothing: ``BEGIN IMMEDIATE`` serialises.
    """
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"koppel.stock_levels:{connection_id}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _order_is(connection_id: str, order_id: str) -> list[Any]:
    return [
        order_reservations.c.connection_id == connection_id,
        order_reservations.c.order_id == order_id,
    ]


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _natural_key(value: str) -> tuple[str | int, ...]:
    """Sort digits as numbers: parts alternate text and number, so they always compare."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", value))


def _plain(value: Decimal) -> Decimal:
    """Drop the column's trailing zeros (``5.0000`` is ``5``) without going to ``5E+1``."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def _now() -> datetime:
    return datetime.now(UTC)
