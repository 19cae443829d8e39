"""Streamed catalogues in the store: payload chunks, staged records, products and batch files.

A catalogue message goes through the store in three kinds of transactions,
each of which a SIGKILL can interrupt without losing or doubling anything:

1. **Receive**: the file's bytes go into ``payload_chunks`` as they arrive,
   and its message and idempotency key are written in the same transaction,
   once the checksum is known: a file is stored whole or not at all.
2. **Stage**: every chunk of good records goes into the message's own stage
   table (``COPY`` on PostgreSQL) together with ``catalogue_progress`` (how
   many records were seen, the problems so far); a rerun skips what is staged.
3. **Decide**: one transaction upserts the staged records into
   ``catalogue_products`` (only those whose content hash changed, unless a
   backfill resends), writes every batch file of the changed products as an
   outbound message, marks the message ``decided`` and drops its stage.
   Delivery then takes the batch files one by one, like any outbound message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from koppel.documents import Problem
from koppel.errors import StoreError
from koppel.store.records import Receipt, dump_problems
from koppel.store.schema import (
    catalogue_products,
    catalogue_progress,
    idempotency_keys,
    messages,
    payload_chunks,
    utc_now,
)
from koppel.store.statuses import Direction, MessageStatus

#: Payload chunks inserted per statement while receiving: two MB per round trip (the
#: driver holds copies of each parameter, so more costs memory and gains little).
_CHUNKS_PER_INSERT = 2
#: PostgreSQL's memory for the merge's sort (the server's, for one transaction).
_SORT_MEMORY = "256MB"
STAGING = "staging"
DECIDED = "decided"


@dataclass(frozen=True)
class Progress:
    """How far a catalogue message got, and the problems of its bad records so far."""

    phase: str
    records_seen: int
    records_staged: int
    problem_count: int
    problems: list[Problem]


@dataclass(slots=True)
class StagedRow:
    """One good record, ready for the stage: its position, key, content hash and JSON."""

    seq: int
    sku: str
    content_hash: str
    record: str


class _Duplicate(Exception):  # noqa: N818  # a signal to roll the receive back
    def __init__(self, message_id: int) -> None:
        super().__init__(message_id)
        self.message_id = message_id


def _stage_table(message_id: int) -> str:
    """The name of a message's own stage table (an integer id: safe to splice into SQL)."""
    return f"catalogue_stage_{int(message_id)}"


class CatalogueStore:
    """The catalogue side of the message store, on the same engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    # -- receiving ---------------------------------------------------------------------------

    def receive_stream(
        self,
        *,
        connection_id: str,
        flow: str,
        source_name: str,
        chunks: Iterable[bytes],
        run_id: str | None = None,
    ) -> Receipt:
        """Store a file from an iterable of byte chunks, in one transaction, as one message.

        The sha256 is computed on the way; the same name with the same bytes
        is the same file, as :meth:`MessageStore.receive` decides, so storing
        it again rolls back and returns the first message with ``created=False``.
        """
        digest = hashlib.sha256()
        size = 0
        now = utc_now()
        try:
            with self._transaction() as conn:
                message_id = int(
                    conn.execute(
                        insert(messages)
                        .values(
                            connection_id=connection_id,
                            flow=flow,
                            direction=Direction.IN.value,
                            source_name=source_name,
                            checksum="",
                            size_bytes=0,
                            payload=b"",
                            status=MessageStatus.RECEIVED.value,
                            problems=[],
                            run_id=run_id,
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(messages.c.id)
                    ).scalar_one()
                )
                batch: list[dict[str, Any]] = []
                for seq, chunk in enumerate(chunks):
                    digest.update(chunk)
                    size += len(chunk)
                    batch.append({"message_id": message_id, "seq": seq, "data": chunk})
                    if len(batch) == _CHUNKS_PER_INSERT:
                        conn.execute(insert(payload_chunks), batch)
                        batch = []
                if batch:
                    conn.execute(insert(payload_chunks), batch)
                checksum = digest.hexdigest()
                key = f"in:{source_name}:{checksum}"
                existing = _message_for_key(conn, connection_id, flow, key)
                if existing is not None:
                    raise _Duplicate(existing)
                conn.execute(
                    update(messages)
                    .where(messages.c.id == message_id)
                    .values(checksum=checksum, size_bytes=size)
                )
                conn.execute(
                    insert(idempotency_keys).values(
                        connection_id=connection_id,
                        flow=flow,
                        key=key,
                        message_id=message_id,
                        created_at=now,
                    )
                )
        except _Duplicate as duplicate:
            return Receipt(message_id=duplicate.message_id, created=False)
        except IntegrityError:  # a concurrent run stored the same file first
            with self._transaction() as conn:
                found = _message_for_key(
                    conn, connection_id, flow, f"in:{source_name}:{digest.hexdigest()}"
                )
            if found is None:
                raise
            return Receipt(message_id=found, created=False)
        return Receipt(message_id=message_id, created=True)

    def payload(self, message_id: int) -> Iterator[bytes]:
        """A streamed message's bytes, chunk by chunk, each read in a short transaction.

        Short transactions, not one open cursor: on SQLite a reader holding the
        database would block the stage's writes for the whole parse.
        """
        seq = 0
        while True:
            query = select(payload_chunks.c.data).where(
                payload_chunks.c.message_id == message_id, payload_chunks.c.seq == seq
            )
            with self._transaction() as conn:
                data = conn.execute(query).scalar_one_or_none()
            if data is None:
                return
            yield bytes(data)
            seq += 1

    # -- staging -----------------------------------------------------------------------------

    def progress(self, message_id: int) -> Progress | None:
        """How far the message got, or None before its first chunk was staged."""
        query = select(catalogue_progress).where(catalogue_progress.c.message_id == message_id)
        with self._transaction() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            return None
        return Progress(
            phase=row["phase"],
            records_seen=int(row["records_seen"]),
            records_staged=int(row["records_staged"]),
            problem_count=int(row["problem_count"]),
            problems=[Problem.model_validate(p) for p in row["problems"]],
        )

    def restart(self, message_id: int) -> None:
        """Forget a message's staging (a replay reads its file again from the start)."""
        with self._transaction() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_stage_table(message_id)}")
            conn.execute(
                catalogue_progress.delete().where(catalogue_progress.c.message_id == message_id)
            )

    def stage(self, message_id: int, rows: list[StagedRow], progress: Progress) -> None:
        """Stage one chunk of records and record how far the message got, in one transaction."""
        table = _stage_table(message_id)
        with self._transaction() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {table} "
                "(seq BIGINT NOT NULL, sku TEXT NOT NULL, content_hash TEXT NOT NULL, "
                "record TEXT NOT NULL)"
            )
            if rows and self._postgres:
                driver = conn.connection.driver_connection
                assert driver is not None  # a checked-out connection always has one
                with (
                    driver.cursor() as cursor,
                    cursor.copy(
                        f"COPY {table} (seq, sku, content_hash, record) FROM STDIN"
                    ) as copy,
                ):
                    for row in rows:
                        copy.write_row((row.seq, row.sku, row.content_hash, row.record))
            elif rows:
                conn.exec_driver_sql(
                    f"INSERT INTO {table} (seq, sku, content_hash, record) VALUES (?, ?, ?, ?)",
                    [(r.seq, r.sku, r.content_hash, r.record) for r in rows],
                )
            _save_progress(conn, message_id, progress)

    # -- deciding ----------------------------------------------------------------------------

    @contextmanager
    def deciding(self, message_id: int) -> Iterator[Decision]:
        """One transaction that merges the stage, writes the batch files and marks it decided.

        Leaving the block without an error commits all of it, drops the stage
        table and sets the phase to ``decided``; an error or a crash rolls all
        of it back, so a rerun decides again from the same stage.
        """
        with self._transaction() as conn:
            decision = Decision(conn, message_id, self._postgres)
            yield decision
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_stage_table(message_id)}")
            conn.execute(
                update(catalogue_progress)
                .where(catalogue_progress.c.message_id == message_id)
                .values(phase=DECIDED, updated_at=utc_now())
            )

    def outbound_ids(self, message_id: int) -> list[int]:
        """The ids of the message's batch files, in the order they were decided."""
        query = (
            select(messages.c.id)
            .where(messages.c.parent_id == message_id, messages.c.direction == Direction.OUT.value)
            .order_by(messages.c.id)
        )
        with self._transaction() as conn:
            return [int(i) for i in conn.execute(query).scalars()]

    def product_count(self, connection_id: str, flow: str) -> int:
        """How many products the flow has received, for the log and the benchmark."""
        query = select(func.count()).where(
            catalogue_products.c.connection_id == connection_id, catalogue_products.c.flow == flow
        )
        with self._transaction() as conn:
            return int(conn.execute(query).scalar_one())

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except (IntegrityError, _Duplicate):
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"message store failure: {exc}") from exc


class Decision:
    """What the deciding transaction does: merge, read the changed records, store batch files."""

    def __init__(self, conn: Connection, message_id: int, postgres: bool) -> None:
        self._conn = conn
        self._message_id = message_id
        self._postgres = postgres

    def merge(self, connection_id: str, flow: str, *, resend: bool) -> int:
        """Upsert the staged records into the products; return how many changed.

        The last record of a SKU in the file wins. A product whose content
        hash is unchanged keeps its row (and the message that last changed
        it), so it does not go out again, unless ``resend``.
        """
        table = _stage_table(self._message_id)
        exists = self._conn.exec_driver_sql(
            "SELECT 1 FROM information_schema.tables WHERE table_name = %(t)s"
            if self._postgres
            else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t",
            {"t": table},
        ).first()
        if exists is None:
            return 0  # no good record at all
        if self._postgres:  # sort the stage in memory, not in temporary files
            self._conn.exec_driver_sql(f"SET LOCAL work_mem = '{_SORT_MEMORY}'")
        source = (
            f"SELECT DISTINCT ON (sku) sku, content_hash, record FROM {table} "
            "ORDER BY sku, seq DESC"
            if self._postgres
            else f"SELECT sku, content_hash, record FROM {table} WHERE true ORDER BY seq"
        )
        changed = "" if resend else "WHERE catalogue_products.content_hash <> excluded.content_hash"
        statement = text(
            "INSERT INTO catalogue_products "
            "(connection_id, flow, sku, content_hash, record, message_id, updated_at) "
            f"SELECT :connection_id, :flow, s.sku, s.content_hash, s.record, :message_id, :now "
            f"FROM ({source}) AS s WHERE true "
            "ON CONFLICT (connection_id, flow, sku) DO UPDATE SET "
            "content_hash = excluded.content_hash, record = excluded.record, "
            f"message_id = excluded.message_id, updated_at = excluded.updated_at {changed}"
        )
        self._conn.execute(
            statement,
            {
                "connection_id": connection_id,
                "flow": flow,
                "message_id": self._message_id,
                "now": utc_now(),
            },
        )
        query = select(func.count()).where(catalogue_products.c.message_id == self._message_id)
        return int(self._conn.execute(query).scalar_one())

    def changed(self, page_size: int) -> Iterator[list[tuple[str, str]]]:
        """The (sku, record JSON) of every product this message changed, in SKU order, by page."""
        last = ""
        while True:
            query = (
                select(catalogue_products.c.sku, catalogue_products.c.record)
                .where(
                    catalogue_products.c.message_id == self._message_id,
                    catalogue_products.c.sku > last,
                )
                .order_by(catalogue_products.c.sku)
                .limit(page_size)
            )
            page = [(str(sku), str(record)) for sku, record in self._conn.execute(query)]
            if not page:
                return
            yield page
            last = page[-1][0]

    def add_outbound(
        self,
        *,
        connection_id: str,
        flow: str,
        delivery_key: str,
        target_name: str,
        payload: bytes,
        document_key: str,
        run_id: str,
    ) -> None:
        """Store one batch file, pending delivery, once per ``delivery_key``."""
        key = f"out:{delivery_key}"
        if _message_for_key(self._conn, connection_id, flow, key) is not None:
            return  # decided before (a replay): delivery takes it from there
        now = utc_now()
        out_id = self._conn.execute(
            insert(messages)
            .values(
                connection_id=connection_id,
                flow=flow,
                direction=Direction.OUT.value,
                source_name=delivery_key,
                checksum=hashlib.sha256(payload).hexdigest(),
                size_bytes=len(payload),
                payload=payload,
                document=None,
                document_key=document_key[:200],
                status=MessageStatus.PENDING.value,
                problems=[],
                parent_id=self._message_id,
                target_name=target_name,
                run_id=run_id,
                created_at=now,
                updated_at=now,
            )
            .returning(messages.c.id)
        ).scalar_one()
        self._conn.execute(
            insert(idempotency_keys).values(
                connection_id=connection_id,
                flow=flow,
                key=key,
                message_id=int(out_id),
                created_at=now,
            )
        )


def _message_for_key(conn: Connection, connection_id: str, flow: str, key: str) -> int | None:
    query = select(idempotency_keys.c.message_id).where(
        idempotency_keys.c.connection_id == connection_id,
        idempotency_keys.c.flow == flow,
        idempotency_keys.c.key == key,
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def _save_progress(conn: Connection, message_id: int, progress: Progress) -> None:
    values = {
        "phase": progress.phase,
        "records_seen": progress.records_seen,
        "records_staged": progress.records_staged,
        "problem_count": progress.problem_count,
        "problems": dump_problems(progress.problems),
        "updated_at": utc_now(),
    }
    changed = conn.execute(
        update(catalogue_progress)
        .where(catalogue_progress.c.message_id == message_id)
        .values(**values)
    )
    if changed.rowcount == 0:
        conn.execute(insert(catalogue_progress).values(message_id=message_id, **values))
