"""What the store hands back: plain frozen records, never live rows or ORM objects.

Callers (operators, the CLI, rules) must not be able to change a stored
message by mutating what they read; every change goes through
:class:`~koppel.store.repository.MessageStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from koppel.documents import Problem, cap_problems
from koppel.store.statuses import AttemptOutcome, Direction, MessageStatus


@dataclass(frozen=True)
class Receipt:
    """The outcome of storing a message: its id, and whether this call created it."""

    message_id: int
    created: bool


@dataclass(frozen=True)
class Incoming:
    """An inbound file to store: its name and bytes, or the problems that refuse it unread."""

    source_name: str
    payload: bytes
    rejected: list[Problem] | None = None


@dataclass(frozen=True)
class OutboundCopy:
    """An outbound payload to store under its delivery key, pending delivery."""

    delivery_key: str
    target_name: str | None
    payload: bytes
    document: Any
    """Plain JSON (``model_dump(mode="json")``)."""
    document_key: str | None


@dataclass(frozen=True)
class MessageSummary:
    """A message without its payload and document, for listings that must stay light."""

    id: int
    connection_id: str
    flow: str
    direction: Direction
    source_name: str
    """The inbound file's name; for an outbound message, the delivery key it was made under."""
    checksum: str
    size_bytes: int
    document_key: str | None
    status: MessageStatus
    problems: list[Problem]
    parent_id: int | None
    target_name: str | None
    disposition: str | None
    """Where the inbound file went (``archive:…``, ``error:…``) or, outbound, the target's id."""
    disposal: str | None
    """Where the inbound file is being moved, recorded before the move and cleared after it."""
    run_id: str | None
    alerted_at: datetime | None
    """When the alert about this rejected message went out; None while it is still owed."""
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> MessageSummary:
        """Build the summary from a ``messages`` row (extra columns are ignored)."""
        return cls(**_summary_fields(row))


@dataclass(frozen=True)
class Message(MessageSummary):
    """A stored message with everything in it: the raw bytes and the parsed document."""

    payload: bytes
    """What processing reads: the newest corrected copy when a user edited it, else as received."""
    document: Any
    """The canonical document(s) as plain JSON, or None before parsing."""
    edit_id: int | None = None
    """The edit (``message_edits.id``) whose copy ``payload`` is; None: the payload as received."""

    @classmethod
    def from_row(cls, row: RowMapping) -> Message:
        """Build the message from a full ``messages`` row, with its newest edit's if selected."""
        edited = row.get("edited_payload")
        return cls(
            **_summary_fields(row),
            payload=bytes(row["payload"] if edited is None else edited),
            document=row["document"],
            edit_id=row.get("edit_id"),
        )


@dataclass(frozen=True)
class MessageEdit:
    """A corrected copy of an inbound message's payload, who stored it and when."""

    id: int
    message_id: int
    edited_at: datetime
    edited_by: str
    original_checksum: str
    """The checksum of the payload it replaced: the received one, or the previous edit's."""
    checksum: str
    payload: bytes
    diff: str
    """A unified diff from the payload it replaced to this one."""

    @classmethod
    def from_row(cls, row: RowMapping) -> MessageEdit:
        """Build the edit from a ``message_edits`` row."""
        return cls(
            id=row["id"],
            message_id=row["message_id"],
            edited_at=row["edited_at"],
            edited_by=row["edited_by"],
            original_checksum=row["original_checksum"],
            checksum=row["checksum"],
            payload=bytes(row["payload"]),
            diff=row["diff"],
        )


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try at handing an outbound message to its target."""

    id: int
    message_id: int
    attempt_no: int
    target: str
    outcome: AttemptOutcome
    error: str | None
    started_at: datetime
    finished_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> DeliveryAttempt:
        """Build the attempt from a ``delivery_attempts`` row."""
        return cls(
            id=row["id"],
            message_id=row["message_id"],
            attempt_no=row["attempt_no"],
            target=row["target"],
            outcome=AttemptOutcome(row["outcome"]),
            error=row["error"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )


def dump_problems(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems as the plain JSON the ``problems`` column holds: the first 100 and a count.

    Every write of problems goes through here, so what one message costs the
    store stays bounded whatever a partner sends.
    """
    return [problem.model_dump(mode="json") for problem in cap_problems(problems)]


def _summary_fields(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "connection_id": row["connection_id"],
        "flow": row["flow"],
        "direction": Direction(row["direction"]),
        "source_name": row["source_name"],
        "checksum": row["checksum"],
        "size_bytes": row["size_bytes"],
        "document_key": row["document_key"],
        "status": MessageStatus(row["status"]),
        "problems": [Problem.model_validate(item) for item in row["problems"] or []],
        "parent_id": row["parent_id"],
        "target_name": row["target_name"],
        "disposition": row["disposition"],
        "disposal": row["disposal"],
        "run_id": row["run_id"],
        "alerted_at": row["alerted_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
