"""The message store: every message in or out, with its payload, status and problems.

"Received means stored": an inbound file is written here before it is parsed
and an outbound document before it is delivered. Each is stored under an
idempotency key inside the same transaction as the message, so a rerun after a
crash at any step finds the row it already made instead of adding a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    TextClause,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from koppel.documents import Problem
from koppel.errors import StoreError
from koppel.store.coordination import RunCoordination, lock_message
from koppel.store.records import (
    DeliveryAttempt,
    Incoming,
    Message,
    MessageEdit,
    MessageSummary,
    OutboundCopy,
    Receipt,
    dump_problems,
)
from koppel.store.schema import (
    MISFILED,
    SUMMARY_COLUMNS,
    delivery_attempts,
    idempotency_keys,
    message_edits,
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


class MasterDataChange(Protocol):
    """A master-data change a decision makes (stock reserved), run in the decision's transaction."""

    def __call__(self, *, conn: Connection) -> object:
        """Make the change through ``conn``, inside its transaction."""


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

    def receive_many(
        self,
        *,
        connection_id: str,
        flow: str,
        files: Sequence[Incoming],
        run_id: str | None = None,
    ) -> list[Receipt]:
        """Store a chunk of inbound files in one transaction, as :meth:`receive` stores one.

        Returns one receipt per file, in order. A file stored before (or twice
        in the chunk) gets the first message's id with ``created=False``. When
        a concurrent run stores one of the same files meanwhile, the chunk's
        transaction loses on the idempotency key and rolls back whole, and the
        files are stored one by one instead, each settled by its own key.
        """
        if not files:
            return []
        now = utc_now()
        keys: list[str] = []
        rows: list[dict[str, Any]] = []
        for item in files:
            checksum = hashlib.sha256(item.payload).hexdigest()
            keys.append(f"in:{item.source_name}:{checksum}")
            rows.append(
                {
                    "connection_id": connection_id,
                    "flow": flow,
                    "direction": Direction.IN.value,
                    "source_name": item.source_name,
                    "checksum": checksum,
                    "size_bytes": len(item.payload),
                    "payload": item.payload,
                    "status": (
                        MessageStatus.REJECTED if item.rejected else MessageStatus.RECEIVED
                    ).value,
                    "problems": dump_problems(item.rejected or []),
                    "run_id": run_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        try:
            with self._transaction() as conn:
                known = self._ids_for_keys(conn, connection_id, flow, keys)
                fresh = {key: row for key, row in zip(keys, rows, strict=True) if key not in known}
                created = _insert_messages(conn, connection_id, flow, fresh, now)
        except StoreConflictError:
            return [
                self.receive(
                    connection_id=connection_id,
                    flow=flow,
                    source_name=item.source_name,
                    payload=item.payload,
                    run_id=run_id,
                    rejected=item.rejected,
                )
                for item in files
            ]
        receipts: list[Receipt] = []
        for key in keys:
            message_id = created.pop(key, None)
            if message_id is not None:
                known[key] = message_id
                receipts.append(Receipt(message_id=message_id, created=True))
            else:
                receipts.append(Receipt(message_id=known[key], created=False))
        return receipts

    @staticmethod
    def _ids_for_keys(
        conn: Connection, connection_id: str, flow: str, keys: Sequence[str]
    ) -> dict[str, int]:
        query = select(idempotency_keys.c.key, idempotency_keys.c.message_id).where(
            idempotency_keys.c.connection_id == connection_id,
            idempotency_keys.c.flow == flow,
            idempotency_keys.c.key.in_(sorted(set(keys))),
        )
        return {str(key): int(message_id) for key, message_id in conn.execute(query).tuples()}

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

    def record_decision(
        self,
        message_id: int,
        *,
        connection_id: str,
        flow: str,
        problems: list[Problem],
        document: Any,
        document_key: str | None,
        run_id: str,
        outbound: Sequence[OutboundCopy],
        changes: Sequence[MasterDataChange] = (),
    ) -> list[Message]:
        """Store what was decided for an inbound message, and its outbound copies, at once.

        The message gets its parsed ``document`` and notes; each copy is
        stored pending under its delivery key, as :meth:`create_outbound`
        stores one, all in one transaction. Returns, per copy, the message
        stored under its key: the new one (its ``parent_id`` is this message),
        or the one another message stored first (a document already sent).
        A concurrent run storing one of the keys meanwhile makes the
        transaction lose and roll back; then each is stored on its own.

        ``changes`` (the order's stock reservation) are made in the same
        transaction as the decision, so a kill leaves both or neither: never
        stock reserved for a decision that was not stored. After a lost race
        they are made together with the message's own update.
        """
        now = utc_now()
        keys = [f"out:{copy.delivery_key}" for copy in outbound]
        rows = [
            {
                "connection_id": connection_id,
                "flow": flow,
                "direction": Direction.OUT.value,
                "source_name": copy.delivery_key,
                "checksum": hashlib.sha256(copy.payload).hexdigest(),
                "size_bytes": len(copy.payload),
                "payload": copy.payload,
                "document": copy.document,
                "document_key": copy.document_key,
                "status": MessageStatus.PENDING.value,
                "parent_id": message_id,
                "target_name": copy.target_name,
                "problems": [],
                "run_id": run_id,
                "created_at": now,
                "updated_at": now,
            }
            for copy in outbound
        ]
        decided = {"problems": dump_problems(problems), "document": document, "run_id": run_id}
        if document_key is not None:
            decided["document_key"] = document_key
        try:
            with self._transaction() as conn:
                for change in changes:
                    change(conn=conn)
                _update_message(conn, message_id, decided)
                known = self._ids_for_keys(conn, connection_id, flow, keys) if keys else {}
                fresh = {key: row for key, row in zip(keys, rows, strict=True) if key not in known}
                known |= _insert_messages(conn, connection_id, flow, fresh, now)
                ids = [known[key] for key in keys]
                query = select(messages).where(messages.c.id.in_(ids)) if ids else None
                found = [] if query is None else list(conn.execute(query).mappings())
        except StoreConflictError:
            with self._transaction() as conn:
                for change in changes:
                    change(conn=conn)
                _update_message(conn, message_id, decided)
            ids = [
                self.create_outbound(
                    parent_id=message_id,
                    connection_id=connection_id,
                    flow=flow,
                    delivery_key=copy.delivery_key,
                    target_name=copy.target_name,
                    payload=copy.payload,
                    document=copy.document,
                    document_key=copy.document_key,
                    run_id=run_id,
                ).message_id
                for copy in outbound
            ]
            by_id = {m.id: m for m in self.get_many(ids)}
            return [by_id[i] for i in ids]
        by_id = {m.id: m for m in (Message.from_row(row) for row in found)}
        return [by_id[i] for i in ids]

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

        The payload is what processing reads: the newest corrected copy a user
        stored (:meth:`record_edit`), else the payload as received.

        Raises:
            StoreError: no message has this id.
        """
        with self._transaction() as conn:
            row = conn.execute(_with_edits().where(messages.c.id == message_id)).mappings()
            found = row.one_or_none()
        if found is None:
            raise StoreError(f"message {message_id} does not exist")
        return Message.from_row(found)

    def get_many(self, message_ids: Iterable[int]) -> list[Message]:
        """The messages with these ids that exist, with payload and document, in id order.

        The payload is the newest edit's, as :meth:`get` gives it: this is what
        the process step reads, so a corrected copy is what the checks see.
        """
        ids = sorted(set(message_ids))
        if not ids:
            return []
        query = _with_edits().where(messages.c.id.in_(ids)).order_by(messages.c.id)
        with self._transaction() as conn:
            return [Message.from_row(row) for row in conn.execute(query).mappings()]

    def received_payload(self, message_id: int) -> bytes:
        """The payload exactly as received, whatever corrected copies were stored since.

        Raises:
            StoreError: no message has this id.
        """
        query = select(messages.c.payload).where(messages.c.id == message_id)
        with self._transaction() as conn:
            found = conn.execute(query).scalar_one_or_none()
        if found is None:
            raise StoreError(f"message {message_id} does not exist")
        return bytes(found)

    # -- corrected copies --------------------------------------------------------------------

    def record_edit(
        self,
        message_id: int,
        *,
        payload: bytes,
        edited_by: str,
        original_checksum: str,
        diff: str,
    ) -> MessageEdit:
        """Store a corrected copy of an inbound message's payload; the received one stays.

        ``original_checksum`` is the checksum of the payload the caller diffed
        against; when another edit was stored meanwhile the copy is refused,
        so no correction silently overwrites one its author never saw.

        Raises:
            StoreConflictError: the message's payload changed since it was read.
            StoreError: no message has this id.
        """
        now = utc_now()
        with self._transaction() as conn:
            current = lock_message(conn, message_id, messages.c.checksum)
            latest = conn.execute(
                select(message_edits.c.checksum)
                .where(message_edits.c.message_id == message_id)
                .order_by(message_edits.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if (latest or current) != original_checksum:
                raise StoreConflictError(
                    f"message {message_id} was edited meanwhile; show it again and redo the edit"
                )
            row = conn.execute(
                insert(message_edits)
                .values(
                    message_id=message_id,
                    edited_at=now,
                    edited_by=edited_by,
                    original_checksum=original_checksum,
                    checksum=hashlib.sha256(payload).hexdigest(),
                    payload=payload,
                    diff=diff,
                )
                .returning(*message_edits.c)
            )
            return MessageEdit.from_row(row.mappings().one())

    def edits(self, message_id: int) -> list[MessageEdit]:
        """The corrected copies stored for a message, oldest first."""
        query = (
            select(message_edits)
            .where(message_edits.c.message_id == message_id)
            .order_by(message_edits.c.id)
        )
        with self._transaction() as conn:
            return [MessageEdit.from_row(row) for row in conn.execute(query).mappings()]

    def misfiled_ids(self, *, connection_id: str, flow: str) -> list[int]:
        """Inbound messages that passed on a replay while their file lies in the error folder.

        Served by the partial index ``ix_messages_misfiled`` (the condition is
        its very text), so the acknowledge step asks every run at the cost of
        the few rows it holds, not of every delivered message.
        """
        query = select(messages.c.id).where(
            messages.c.connection_id == connection_id, messages.c.flow == flow, MISFILED
        )
        with self._transaction() as conn:
            return [int(i) for i in conn.execute(query.order_by(messages.c.id)).scalars()]

    def get_summaries(self, message_ids: Iterable[int]) -> list[MessageSummary]:
        """The messages with these ids that exist, without payload and document, in id order."""
        ids = sorted(set(message_ids))
        if not ids:
            return []
        query = select(*SUMMARY_COLUMNS).where(messages.c.id.in_(ids)).order_by(messages.c.id)
        with self._transaction() as conn:
            return [MessageSummary.from_row(row) for row in conn.execute(query).mappings()]

    def outputs_of(
        self, *, connection_id: str, flow: str, parent_ids: Iterable[int]
    ) -> dict[int, list[Message]]:
        """The outbound messages decided for each of these inbound ones, oldest first.

        One query for a chunk of messages (served by ``ix_messages_parent_id``);
        a message nothing was decided for yet is left out.
        """
        ids = sorted(set(parent_ids))
        found: dict[int, list[Message]] = {}
        if not ids:
            return found
        query = (
            select(messages)
            .where(
                messages.c.connection_id == connection_id,
                messages.c.flow == flow,
                messages.c.direction == Direction.OUT.value,
                messages.c.parent_id.in_(ids),
            )
            .order_by(messages.c.id)
        )
        with self._transaction() as conn:
            for row in conn.execute(query).mappings():
                message = Message.from_row(row)
                found.setdefault(int(row["parent_id"]), []).append(message)
        return found

    def taken_dispositions(
        self, *, connection_id: str, flow: str, dispositions: Iterable[str]
    ) -> set[str]:
        """Which of these places (``archive:/…/x.xml``) an inbound file of the flow already has.

        Lets a run that moves many files see, without asking the server about
        each, which file names in the archive are taken by earlier files.
        """
        wanted = sorted(set(dispositions))
        if not wanted:
            return set()
        query = select(messages.c.disposition).where(
            messages.c.connection_id == connection_id,
            messages.c.flow == flow,
            messages.c.direction == Direction.IN.value,
            messages.c.disposition.in_(wanted),
        )
        with self._transaction() as conn:
            return {str(d) for d in conn.execute(query).scalars()}

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
        status: MessageStatus | Collection[MessageStatus] | None = None,
        direction: Direction | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        problem_code: str | None = None,
        limit: int = 200,
    ) -> list[MessageSummary]:
        """Return the newest messages matching every filter given, without payloads.

        ``status`` is one status or any of several; ``since`` and ``until``
        bound the time a message was stored (``until`` excluded);
        ``problem_code`` keeps messages with a problem whose code starts with it
        (``scsn.price``), found in the stored problems' JSON.
        """
        conditions = self._filters(
            connection_id=connection_id,
            flow=flow,
            status=status,
            direction=direction,
            since=since,
            until=until,
            problem_code=problem_code,
        )
        query: Select[Any] = select(*SUMMARY_COLUMNS).where(*conditions)
        with self._transaction() as conn:
            rows = conn.execute(query.order_by(messages.c.id.desc()).limit(limit)).mappings()
            return [MessageSummary.from_row(row) for row in rows.all()]

    def count_messages(
        self,
        *,
        connection_id: str | None = None,
        flow: str | None = None,
        status: MessageStatus | Collection[MessageStatus] | None = None,
        direction: Direction | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        problem_code: str | None = None,
    ) -> int:
        """How many messages match the filters of :meth:`list_messages`: what a listing cut off."""
        conditions = self._filters(
            connection_id=connection_id,
            flow=flow,
            status=status,
            direction=direction,
            since=since,
            until=until,
            problem_code=problem_code,
        )
        query = select(func.count()).select_from(messages).where(*conditions)
        with self._transaction() as conn:
            return int(conn.execute(query).scalar_one())

    def _filters(
        self,
        *,
        connection_id: str | None,
        flow: str | None,
        status: MessageStatus | Collection[MessageStatus] | None,
        direction: Direction | None,
        since: datetime | None,
        until: datetime | None,
        problem_code: str | None,
    ) -> list[ColumnElement[bool] | TextClause]:
        """The conditions for each filter given, shared by listing and counting.

        Each column filter is one the ``messages`` indexes start with
        (connection, flow, status); the problem code is looked for in each
        remaining row's problems (a JSON array), which no index serves: a
        prefix of a value inside an array is beyond a GIN index, and the rows
        it is asked of are those the other filters leave.
        """
        conditions: list[ColumnElement[bool] | TextClause] = []
        if connection_id is not None:
            conditions.append(messages.c.connection_id == connection_id)
        if flow is not None:
            conditions.append(messages.c.flow == flow)
        if isinstance(status, MessageStatus):
            conditions.append(messages.c.status == status.value)
        elif status is not None:
            conditions.append(messages.c.status.in_(sorted(MessageStatus(s).value for s in status)))
        if direction is not None:
            conditions.append(messages.c.direction == Direction(direction).value)
        if since is not None:
            conditions.append(messages.c.created_at >= since)
        if until is not None:
            conditions.append(messages.c.created_at < until)
        if problem_code is not None:
            conditions.append(self._has_problem_code(problem_code))
        return conditions

    def _has_problem_code(self, prefix: str) -> TextClause:
        """A message has a problem whose code starts with ``prefix`` (``_`` and ``%`` literal)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            clause = (
                "EXISTS (SELECT 1 FROM jsonb_array_elements(messages.problems) AS p "
                "WHERE p ->> 'code' LIKE :code_prefix ESCAPE '\\')"
            )
        elif dialect == "sqlite":
            clause = (
                "EXISTS (SELECT 1 FROM json_each(messages.problems) AS p "
                "WHERE json_extract(p.value, '$.code') LIKE :code_prefix ESCAPE '\\')"
            )
        else:
            raise StoreError(f"the message store does not support {dialect!r} databases")
        return text(clause).bindparams(code_prefix=escaped)

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

    def finish_many(
        self, outcomes: Mapping[int, tuple[MessageStatus, list[Problem]]], *, run_id: str
    ) -> None:
        """Store the final status and problems of a chunk of messages in one transaction.

        The run's claims on them end in the same statement: a kill right after
        must not leave finished messages held, where no later step would free them.
        """
        if not outcomes:
            return
        statement = (
            update(messages)
            .where(messages.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                problems=bindparam("b_problems", type_=messages.c.problems.type),
                run_id=run_id,
                updated_at=utc_now(),
                **_released(run_id),
            )
        )
        rows = [
            {"b_id": message_id, "b_status": status.value, "b_problems": dump_problems(problems)}
            for message_id, (status, problems) in sorted(outcomes.items())
        ]
        with self._transaction() as conn:
            conn.execute(statement, rows)

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

    def set_dispositions(self, dispositions: Mapping[int, str], *, run_id: str) -> None:
        """:meth:`set_disposition` for a chunk of messages, in one transaction.

        The moves are over, and so are ``run_id``'s claims on the messages.
        """
        if not dispositions:
            return
        statement = (
            update(messages)
            .where(messages.c.id == bindparam("b_id"))
            .values(
                disposition=bindparam("b_disposition"),
                disposal=None,
                updated_at=utc_now(),
                **_released(run_id),
            )
        )
        rows = [{"b_id": i, "b_disposition": d} for i, d in sorted(dispositions.items())]
        with self._transaction() as conn:
            conn.execute(statement, rows)

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


def _with_edits() -> Select[Any]:
    """Whole ``messages`` rows with the newest edit's id and payload, None where never edited.

    Correlated subqueries on ``ix_message_edits_message_id``: an index probe
    per message read, and nothing at all while ``message_edits`` is empty.
    """

    def newest(column: ColumnElement[Any]) -> Any:
        return (
            select(column)
            .where(message_edits.c.message_id == messages.c.id)
            .order_by(message_edits.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    return select(
        messages,
        newest(message_edits.c.id).label("edit_id"),
        newest(message_edits.c.payload).label("edited_payload"),
    )


def _released(run_id: str) -> dict[str, Any]:
    """Column values that end ``run_id``'s claim on a row and leave another run's claim alone."""
    mine = messages.c.claimed_by == run_id
    return {
        "claimed_by": case((mine, None), else_=messages.c.claimed_by),
        "claimed_until": case((mine, None), else_=messages.c.claimed_until),
    }


def _insert_messages(
    conn: Connection, connection_id: str, flow: str, rows: Mapping[str, dict[str, Any]], now: Any
) -> dict[str, int]:
    """Insert message rows and their idempotency keys; return the new id of each key."""
    if not rows:
        return {}
    inserted = conn.execute(
        insert(messages).returning(messages.c.id, sort_by_parameter_order=True), list(rows.values())
    )
    created = dict(zip(rows, (int(i) for i in inserted.scalars()), strict=True))
    conn.execute(
        insert(idempotency_keys),
        [
            {
                "connection_id": connection_id,
                "flow": flow,
                "key": key,
                "message_id": message_id,
                "created_at": now,
            }
            for key, message_id in created.items()
        ],
    )
    return created


def _update_message(conn: Connection, message_id: int, values: dict[str, Any]) -> None:
    result = conn.execute(
        update(messages).where(messages.c.id == message_id).values(updated_at=utc_now(), **values)
    )
    if result.rowcount == 0:
        raise StoreError(f"message {message_id} does not exist")
