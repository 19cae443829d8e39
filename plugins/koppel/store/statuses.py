"""The words the store uses for where a message is going and how far it got.

They are string enums so that the values in the database, in the CLI's filters
and in XCom are the same plain strings a user types.
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Whether a message came into Koppel or is going out of it."""

    IN = "in"
    OUT = "out"


class MessageStatus(StrEnum):
    """Where a message is in its flow."""

    RECEIVED = "received"
    """Inbound, stored, not yet processed."""
    PENDING = "pending"
    """Outbound, stored, not yet delivered."""
    DELIVERED = "delivered"
    REJECTED = "rejected"
    """The document has errors; kept for the inbox so a user can fix and replay it."""
    FAILED = "failed"
    """Delivery failed; a later run retries it."""
    HELD = "held"
    """Waiting on master data, e.g. a missing customer reference."""
    SKIPPED = "skipped"
    """Nothing to do, e.g. a document with no deliverable content."""


#: Statuses a run never picks up again on its own: only a user's replay moves them.
TERMINAL: frozenset[MessageStatus] = frozenset(
    {MessageStatus.DELIVERED, MessageStatus.REJECTED, MessageStatus.SKIPPED}
)

#: Inbound statuses a run (re)tries: new messages, those whose delivery failed, and
#: those held until master data is fixed.
TO_PROCESS: tuple[MessageStatus, ...] = (
    MessageStatus.RECEIVED,
    MessageStatus.FAILED,
    MessageStatus.HELD,
)


class AttemptOutcome(StrEnum):
    """How far one delivery attempt got, and how it ended."""

    STARTED = "started"
    """Recorded before the first byte leaves: a crash now means nothing reached the target."""
    STAGED = "staged"
    """The whole payload is at the target under its temporary name; only the rename is left."""
    DELIVERED = "delivered"
    ALREADY_PRESENT = "already_present"
    """The target already had the document (a retry after a lost acknowledgement)."""
    FAILED = "failed"
