"""The message store: every message in or out, with its payload, status and problems.

"Received means stored": an inbound file is written here before it is parsed
and an outbound document before it is delivered. Each is stored under an
idempotency key inside the same transaction as the message, so a rerun after a
crash at any step finds the row it already made instead of adding a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from koppel.documents import Problem
from koppel.errors import StoreError
from koppel.store.coordination import RunCoordination, lock_message
from koppel.store.records import (
    DeliveryAttempt,
    Message,
    MessageSummary,
    Receipt,
    dump_problems,
)
from koppel.store.schema import (
    SUMMARY_COLUMNS,
    delivery_attempts,
    idempotency_keys,
    messages,
    utc_now,
    watermarks,
)
from koppel.store.statuses import Direction, MessageStatus


class StoreConflictError(StoreError):
    """A write collided with stored data: a duplicate key or a reference to a missing row."""


class _Unset(Enum):
    TOKEN = "unset"


#: Tells :meth:`MessageStore.update` "leave the document alone" apart from "set it to None".
_UNSET = _Unset.TOKEN


class MessageStore(RunCoordination):
    """Reads and writes messages, delivery attempts and watermarks through one engine."""

    def __init__(self, engine: Engine) -> None:
        """Use ``engine``, which must point at a store already migrated by ``migrate``."""
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The engine the store runs on, for the master data that lives beside the messages."""
        return self._engine

    # -- storing -----------------------------------------------------------------------------

    def receive(
        self,
        *,
        connection_id: str,
        flow: str,
        source_name: str,
        payload: bytes,
        run_id: str | None = None,
        rejected: list[Problem] | None = None,
    ) -> Receipt:
        """Store an inbound file before anything else touches it.

        The same name with the same bytes is the same file: storing it again returns
        the first message's id with ``created=False``. Changed bytes are a new message.
        ``rejected`` stores it already rejected with these problems (a file too large
        to download), in the same transaction, so no crash can leave it looking new.
        """
        checksum = hashlib.sha256(payload).hexdigest()
        values = {
            "direction": Direction.IN.value,
            "source_name": source_name,
            "checksum": checksum,
            "payload": payload,
            "status": (MessageStatus.REJECTED if rejected else MessageStatus.RECEIVED).value,
            "problems": dump_problems(rejected or []),
            "run_id": run_id,
        }
        return self._insert_once(connection_id, flow, f"in:{source_name}:{checksum}", values)

    def create_outbound(
        self,
        *,
        parent_id: int | None,
        connection_id: str,
        flow: str,
        delivery_key: str,
        target_name: str | None,
        payload: bytes,
        document: Any,
        document_key: str | None,
        run_id: str | None = None,
    ) -> Receipt:
        """Store an outbound document, pending delivery, once per ``delivery_key``.

        ``document`` must already be plain JSON (``model_dump(mode="json")``).
        """
        values = {
            "direction": Direction.OUT.value,
            "source_name": delivery_key,
            "checksum": hashlib.sha256(payload).hexdigest(),
            "payload": payload,
            "document": document,
            "document_key": document_key,
            "status": MessageStatus.PENDING.value,
            "parent_id": parent_id,
            "target_name": target_name,
            "problems": [],
            "run_id": run_id,
        }
        return self._insert_once(connection_id, flow, f"out:{delivery_key}", values)

    def _insert_once(
        self, connection_id: str, flow: str, key: str, values: dict[str, Any]
    ) -> Receipt:
        # Race-safe by construction: a concurrent writer of the same key loses on the
        # primary key of idempotency_keys, and its message row rolls back with it.
        now = utc_now()
        try:
            with self._transaction() as conn:
                inserted = conn.execute(
                    insert(messages)
                    .values(
                        connection_id=connection_id,
                        flow=flow,
                        size_bytes=len(values["payload"]),
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                    .returning(messages.c.id)
                )
                message_id = int(inserted.scalar_one())
                conn.execute(
                    insert(idempotency_keys).values(
                        connection_id=connection_id,
                        flow=flow,
                        key=key,
                        message_id=message_id,
                        created_at=now,
                    )
                )
        except StoreConflictError:
            existing = self._message_id_for_key(connection_id, flow, key)
            if existing is None:
                raise
            return Receipt(message_id=existing, created=False)
        return Receipt(message_id=message_id, created=True)

    def _message_id_for_key(self, connection_id: str, flow: str, key: str) -> int | None:
        query = select(idempotency_keys.c.message_id).where(
            idempotency_keys.c.connection_id == connection_id,
            idempotency_keys.c.flow == flow,
            idempotency_keys.c.key == key,
        )
        with self._transaction() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else int(found)

    # -- reading -----------------------------------------------------------------------------

    def get(self, message_id: int) -> Message:
        """Return one message with payload and document.

        Raises:
            StoreError: no message has this id.
        """
        with self._transaction() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).mappings()
            found = row.one_or_none()
        if found is None:
            raise StoreError(f"message {message_id} does not exist")
        return Message.from_row(found)

    def get_summary(self, message_id: int) -> MessageSummary:
        """Return one message without its payload and document.

        Raises:
            StoreError: no message has this id.
        """
        with self._transaction() as conn:
            query = select(*SUMMARY_COLUMNS).where(messages.c.id == message_id)
            found = conn.execute(query).mappings().one_or_none()
        if found is None:
            raise StoreError(f"message {message_id} does not exist")
        return MessageSummary.from_row(found)

    def find(
        self,
        *,
        connection_id: str,
        flow: str,
        direction: Direction | None = None,
        statuses: Iterable[MessageStatus] | None = None,
        disposed: bool | None = None,
        parent_id: int | None = None,
    ) -> list[Message]:
        """Return a flow's messages matching every filter given, oldest first.

        ``disposed`` tells inbound files already moved away (True) from those still
        waiting in the partner's folder (False).
        """
        query = select(messages).where(
            messages.c.connection_id == connection_id, messages.c.flow == flow
        )
        if direction is not None:
            query = query.where(messages.c.direction == Direction(direction).value)
        if statuses is not None:
            query = query.where(messages.c.status.in_([MessageStatus(s).value for s in statuses]))
        if disposed is not None:
            column = messages.c.disposition
            query = query.where(column.is_not(None) if disposed else column.is_(None))
        if parent_id is not None:
            query = query.where(messages.c.parent_id == parent_id)
        with self._transaction() as conn:
            rows = conn.execute(query.order_by(messages.c.id)).mappings().all()
        return [Message.from_row(row) for row in rows]

    def delivered_checksums(
        self, *, connection_id: str, flow: str, target_names: Iterable[str]
    ) -> dict[str, str]:
        """The checksum of the payload last delivered to each target, for change detection.

        An HTTP upsert need not be sent again while what the target holds (the
        last payload delivered there) is byte for byte what would be sent now.
        """
        names = sorted(set(target_names))
        if not names:
            return {}
        latest = (
            select(messages.c.target_name, func.max(messages.c.id).label("id"))
            .where(
                messages.c.connection_id == connection_id,
                messages.c.flow == flow,
                messages.c.direction == Direction.OUT.value,
                messages.c.status == MessageStatus.DELIVERED.value,
                messages.c.target_name.in_(names),
            )
            .group_by(messages.c.target_name)
            .subquery()
        )
        query = select(messages.c.target_name, messages.c.checksum).join(
            latest, messages.c.id == latest.c.id
        )
        with self._transaction() as conn:
            return {row.target_name: row.checksum for row in conn.execute(query)}

    def list_messages(
        self,
        *,
        connection_id: str | None = None,
        flow: str | None = None,
        status: MessageStatus | None = None,
        direction: Direction | None = None,
        limit: int = 200,
    ) -> list[MessageSummary]:
        """Return the newest messages matching every filter given, without payloads."""
        query: Select[Any] = select(*SUMMARY_COLUMNS).where(
            *_message_filters(connection_id, flow, status, direction)
        )
        with self._transaction() as conn:
            rows = conn.execute(query.order_by(messages.c.id.desc()).limit(limit)).mappings()
            return [MessageSummary.from_row(row) for row in rows.all()]

    def count_messages(
        self,
        *,
        connection_id: str | None = None,
        flow: str | None = None,
        status: MessageStatus | None = None,
        direction: Direction | None = None,
    ) -> int:
        """How many messages match the filters of :meth:`list_messages`: what a listing cut off."""
        query = (
            select(func.count())
            .select_from(messages)
            .where(*_message_filters(connection_id, flow, status, direction))
        )
        with self._transaction() as conn:
            return int(conn.execute(query).scalar_one())

    def counts(self, *, connection_id: str, flow: str, run_id: str) -> dict[str, int]:
        """Return how many of the flow's messages a run left in each status."""
        query = (
            select(messages.c.status, func.count())
            .where(
                messages.c.connection_id == connection_id,
                messages.c.flow == flow,
                messages.c.run_id == run_id,
            )
            .group_by(messages.c.status)
        )
        with self._transaction() as conn:
            return {str(status): int(count) for status, count in conn.execute(query).all()}

    # -- changing ----------------------------------------------------------------------------

    def update(
        self,
        message_id: int,
        *,
        status: MessageStatus | None = None,
        problems: list[Problem] | None = None,
        document: Any = _UNSET,
        document_key: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Change what is given (``problems`` replaces the list); always stamps ``updated_at``.

        ``document`` may be set to None on purpose, hence its sentinel default.
        """
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = MessageStatus(status).value
        if problems is not None:
            values["problems"] = dump_problems(problems)
        if document is not _UNSET:
            values["document"] = document
        if document_key is not None:
            values["document_key"] = document_key
        if run_id is not None:
            values["run_id"] = run_id
        with self._transaction() as conn:
            _update_message(conn, message_id, values)

    def add_problems(self, message_id: int, problems: list[Problem]) -> None:
        """Append problems to those already recorded on the message."""
        with self._transaction() as conn:
            current = lock_message(conn, message_id, messages.c.problems)
            combined = list(current or []) + dump_problems(problems)
            _update_message(conn, message_id, {"problems": combined})

    def set_disposition(self, message_id: int, disposition: str) -> None:
        """Record where the inbound file went, e.g. ``archive:/acme/orders/archive/x.xml``.

        The move it records is over, so the intent noted before it is cleared.
        """
        with self._transaction() as conn:
            _update_message(conn, message_id, {"disposition": disposition, "disposal": None})

    # -- delivery attempts -------------------------------------------------------------------

    def attempts(self, message_id: int) -> list[DeliveryAttempt]:
        """Return a message's delivery attempts, first attempt first."""
        query = (
            select(delivery_attempts)
            .where(delivery_attempts.c.message_id == message_id)
            .order_by(delivery_attempts.c.attempt_no)
        )
        with self._transaction() as conn:
            return [DeliveryAttempt.from_row(row) for row in conn.execute(query).mappings()]

    # -- watermarks --------------------------------------------------------------------------

    def get_watermark(self, connection_id: str, flow: str) -> str | None:
        """Return how far a flow has read its source, or None before its first run."""
        query = select(watermarks.c.value).where(
            watermarks.c.connection_id == connection_id, watermarks.c.flow == flow
        )
        with self._transaction() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return None if value is None else str(value)

    def set_watermark(self, connection_id: str, flow: str, value: str) -> None:
        """Record how far a flow has read its source, replacing the previous value."""
        dialect = self._engine.dialect.name
        if dialect not in {"postgresql", "sqlite"}:
            raise StoreError(f"the message store does not support {dialect!r} databases")
        upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(watermarks)
        now = utc_now()
        statement = upsert.values(
            connection_id=connection_id, flow=flow, value=value, updated_at=now
        ).on_conflict_do_update(
            index_elements=[watermarks.c.connection_id, watermarks.c.flow],
            set_={"value": value, "updated_at": now},
        )
        with self._transaction() as conn:
            conn.execute(statement)

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction; database failures come out as :class:`StoreError`."""
        try:
            with self._engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise StoreConflictError(f"conflicts with stored data: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"message store failure: {exc}") from exc


def _message_filters(
    connection_id: str | None,
    flow: str | None,
    status: MessageStatus | None,
    direction: Direction | None,
) -> list[ColumnElement[bool]]:
    """The conditions for each filter given, shared by listing and counting."""
    conditions: list[ColumnElement[bool]] = []
    if connection_id is not None:
        conditions.append(messages.c.connection_id == connection_id)
    if flow is not None:
        conditions.append(messages.c.flow == flow)
    if status is not None:
        conditions.append(messages.c.status == MessageStatus(status).value)
    if direction is not None:
        conditions.append(messages.c.direction == Direction(direction).value)
    return conditions


def _update_message(conn: Connection, message_id: int, values: dict[str, Any]) -> None:
    result = conn.execute(
        update(messages).where(messages.c.id == message_id).values(updated_at=utc_now(), **values)
    )
    if result.rowcount == 0:
        raise StoreError(f"message {message_id} does not exist")
