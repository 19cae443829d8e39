"""The emulator's one notion of time: aware UTC.

The state, the service, the XML writers and the seed all compare or print
modification times; reading every time through :func:`utc` here means none
of them can mix naive and aware values.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """Naive times are read as UTC, so comparisons never mix naive and aware values."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
