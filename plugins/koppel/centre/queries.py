"""The message listing behind the pages and the API: one place to switch to the store's queries.

:func:`page_of` and :func:`status_counts_of` are the only functions that ask
the store for listings. Today they sit on ``MessageStore.list_messages`` and
``count_messages``; once ``koppel.store.message_queries`` (keyset paging,
free text, grouped counts) lands, each becomes one call to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from koppel.store import Direction, MessageStatus, MessageStore, MessageSummary

#: How many rows the stopgap reads to apply keyset paging and free text itself.
_SCAN_CAP = 5000


@dataclass(frozen=True)
class MessageQuery:
    """The list's filters, as the query string gives them; None is no filter.

    ``text`` matches the source name (file, delivery key) or the document key,
    case-insensitively.
    """

    connection: str | None = None
    flow: str | None = None
    direction: Direction | None = None
    status: MessageStatus | None = None
    problem: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def params(self) -> dict[str, str]:
        """The filters as query-string parameters (what a link to this list carries)."""
        out: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None:
                continue
            out[spec.name] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out


@dataclass(frozen=True)
class Page:
    """One page of the list: newest first, the id to continue below, and the total matching."""

    items: list[MessageSummary]
    next_before_id: int | None
    total: int


def page_of(
    store: MessageStore, query: MessageQuery, *, limit: int, before_id: int | None = None
) -> Page:
    """One page of the messages ``query`` keeps, newest first, below ``before_id`` when given.

    Stopgap until ``koppel.store.message_queries.page_messages``: the column
    filters run in the database, keyset paging and free text on at most
    :data:`_SCAN_CAP` newest rows here.
    """
    matching = store.list_messages(
        connection_id=query.connection,
        flow=query.flow,
        status=query.status,
        direction=query.direction,
        since=query.since,
        until=query.until,
        problem_code=query.problem,
        limit=_SCAN_CAP,
    )
    if query.text:
        needle = query.text.casefold()
        matching = [m for m in matching if _matches(m, needle)]
        total = len(matching)
    else:
        total = store.count_messages(
            connection_id=query.connection,
            flow=query.flow,
            status=query.status,
            direction=query.direction,
            since=query.since,
            until=query.until,
            problem_code=query.problem,
        )
    if before_id is not None:
        matching = [m for m in matching if m.id < before_id]
    items = matching[:limit]
    more = len(matching) > limit
    return Page(items=items, next_before_id=items[-1].id if more and items else None, total=total)


def _matches(message: MessageSummary, needle: str) -> bool:
    return (
        needle in message.source_name.casefold()
        or needle in (message.document_key or "").casefold()
    )


def status_counts_of(
    store: MessageStore, *, connection: str, flow: str, since: datetime
) -> dict[MessageStatus, int]:
    """How many of a flow's messages stored since ``since`` are in each status (zeros left out).

    Stopgap until ``koppel.store.message_queries.status_counts``: one count per status.
    """
    counts = {
        status: store.count_messages(
            connection_id=connection, flow=flow, status=status, since=since
        )
        for status in MessageStatus
    }
    return {status: n for status, n in counts.items() if n}


#: The query-string (or form) names of the list's filters.
FILTER_NAMES = ("connection", "flow", "direction", "status", "problem", "since", "until", "text")


def query_from(params: Mapping[str, str]) -> MessageQuery:
    """The filters a query string or form gives; empty values are no filter.

    ``since`` and ``until`` are dates or ISO times, UTC when they name no
    zone; a date as ``until`` takes in that whole day (as ``koppel messages``).

    Raises:
        ValueError: an unknown direction or status, or a time that is neither.
    """
    from koppel.inbox import parse_moment

    values = {name: (params.get(name) or "").strip() or None for name in FILTER_NAMES}
    since, until = values["since"], values["until"]
    return MessageQuery(
        connection=values["connection"],
        flow=values["flow"],
        direction=Direction(values["direction"]) if values["direction"] else None,
        status=MessageStatus(values["status"]) if values["status"] else None,
        problem=values["problem"],
        since=parse_moment(since) if since else None,
        until=parse_moment(until, end=True) if until else None,
        text=values["text"],
    )
