"""The list's filters, and the store's listing queries behind the pages and the API.

:func:`page_of`, :func:`status_counts_of` and :func:`runs_of` are the only
functions that ask the store for listings: each is one call to
``koppel.store.message_queries`` (keyset pages with their total, grouped
counts, the runs that touched a message), whose indexes keep a page of a
million-message store fast on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from koppel.store import Direction, MessageStatus, MessageStore
from koppel.store.message_queries import (
    MessageFilter,
    MessagePage,
    message_runs,
    page_messages,
    status_counts,
)


@dataclass(frozen=True)
class MessageQuery:
    """The list's filters, as the query string gives them; None is no filter.

    ``text`` matches the source name (file, delivery key) or the document key,
    case-insensitively; ``problem_text`` a problem's text or field (a customer).
    """

    connection: str | None = None
    flow: str | None = None
    direction: Direction | None = None
    status: MessageStatus | None = None
    problem: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    problem_text: str | None = None

    def params(self) -> dict[str, str]:
        """The filters as query-string parameters (what a link to this list carries)."""
        out: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None:
                continue
            out[spec.name] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out


#: One page of the list: ``items`` newest first, ``next_before_id``, ``total`` matching.
Page = MessagePage


def page_of(
    store: MessageStore,
    query: MessageQuery,
    *,
    limit: int,
    before_id: int | None = None,
    flows: frozenset[tuple[str, str]] | None = None,
) -> Page:
    """One page of the messages ``query`` keeps, newest first, below ``before_id`` when given.

    ``flows`` bounds it to the ``(connection, flow)`` pairs a user may see (None: all).

    Raises:
        ValueError: ``limit`` is out of the store's range.
    """
    wanted = MessageFilter(
        connection_id=query.connection,
        flow=query.flow,
        direction=query.direction,
        statuses=() if query.status is None else (query.status,),
        problem_code=query.problem,
        since=query.since,
        until=query.until,
        text=query.text,
        problem_text=query.problem_text,
        flows=flows,
    )
    return page_messages(store, wanted, limit=limit, before_id=before_id)


def status_counts_of(
    store: MessageStore, *, since: datetime
) -> dict[tuple[str, str], dict[MessageStatus, int]]:
    """How many messages each (connection, flow) stored since ``since``, per status (no zeros)."""
    return status_counts(store, since=since)


def runs_of(store: MessageStore, message_id: int) -> list[str]:
    """The run ids that touched a message: its last run, a claim on it, its copies' runs."""
    return message_runs(store, message_id)


#: The query-string (or form) names of the list's filters.
FILTER_NAMES = (
    "connection",
    "flow",
    "direction",
    "status",
    "problem",
    "problem_text",
    "since",
    "until",
    "text",
)


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
        problem_text=values["problem_text"],
    )
