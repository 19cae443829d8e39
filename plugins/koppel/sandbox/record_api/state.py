"""What a record API emulator holds: plain records that tests read and change directly.

A webshop's orders and a CRM's quotes and deals look different but live the
same way: a reference, a status that people change in the source system
(which moves ``updated_at``), and export marks Koppel sets (which do not).
Tests change records under ``state.lock``, the lock every request holds too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple


class RecordedRequest(NamedTuple):
    """One request as received: ``path`` includes the query; ``body`` is the parsed JSON or None."""

    method: str
    path: str
    body: Any


@dataclass
class StoredRecord:
    """One record: its identity, status and timestamps, the rest of its body, its export marks.

    ``fields`` is everything else the record shows (lines, totals, parties),
    computed once when the record is built, in the order it is shown.
    """

    reference: str
    status: str
    created_at: datetime
    updated_at: datetime
    fields: dict[str, Any]
    exports: dict[str, str] = field(default_factory=dict)

    def change_status(self, status: str, at: datetime | None = None) -> None:
        """Set the status as a user of the source system would: ``updated_at`` moves forward.

        Without ``at`` the new ``updated_at`` is now, but always later than the
        old one, so a poller that remembers the last ``updated_at`` sees it.
        """
        self.status = status
        moment = at or datetime.now(UTC)
        self.updated_at = max(moment, self.updated_at + timedelta(microseconds=1))

    def render(self) -> dict[str, Any]:
        """The record's JSON as ``GET /api/v1/<collection>/{reference}`` answers it."""
        return {
            "reference": self.reference,
            "status": self.status,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            **self.fields,
            "exports": dict(self.exports),
        }

    def summary(self) -> dict[str, Any]:
        """The record as a listing shows it: enough to decide whether to fetch it."""
        return {
            "reference": self.reference,
            "status": self.status,
            "updated_at": iso(self.updated_at),
            "exports": dict(self.exports),
        }


class RecordState:
    """Every collection's records by reference; hold ``lock`` to read or change them."""

    def __init__(self, collections: Iterable[str]) -> None:
        self.lock = threading.RLock()
        self.collections: dict[str, dict[str, StoredRecord]] = {name: {} for name in collections}

    def add(self, collection: str, record: StoredRecord) -> StoredRecord:
        """Store ``record`` (replacing one with the same reference) and return it."""
        with self.lock:
            self.collections[collection][record.reference] = record
        return record

    def set_status(
        self, collection: str, reference: str, status: str, at: datetime | None = None
    ) -> StoredRecord:
        """Change one record's status as a user would (see :meth:`StoredRecord.change_status`)."""
        with self.lock:
            record = self.collections[collection][reference]
            record.change_status(status, at)
            return record


def new_record(
    reference: str,
    status: str,
    fields: dict[str, Any],
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> StoredRecord:
    """A record created at ``created_at`` (now by default) and unchanged since, unless said."""
    created = created_at or datetime.now(UTC)
    return StoredRecord(reference, status, created, updated_at or created, fields)


def iso(moment: datetime) -> str:
    """A timestamp as the APIs write it: ISO 8601 in UTC with ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
