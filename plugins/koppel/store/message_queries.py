"""The integration centre's reads of the message store: filtered pages, totals, overview counts.

The UI lists a store that may hold millions of messages, so every page is a
*keyset* page: newest first (``ORDER BY id DESC``), the next page being the
messages with an id below the last one shown (``id < before_id``), never an
``OFFSET``. A deep page costs what the first one costs, and messages stored
while a user pages never shift what the next page shows (they all have higher
ids), so no message is shown twice or skipped.

The column filters are the ones ``koppel messages`` has
(:meth:`~koppel.store.repository.MessageStore.list_messages`), built by the
same code, so the CLI and the UI never disagree about what a filter means;
the free text search on the source name and document key is added here.
Migration 0007 indexes the columns these queries filter and order on.

Kept apart from :class:`~koppel.store.repository.MessageStore`, which is
about storing and processing messages: these are read-only queries for people
looking at the store, and they take a store or a bare engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    TextClause,
    false,
    func,
    or_,
    select,
    text,
    tuple_,
)

from koppel.errors import StoreError
from koppel.store.records import MessageSummary
from koppel.store.repository import MessageStore
from koppel.store.schema import SUMMARY_COLUMNS, messages
from koppel.store.statuses import Direction, MessageStatus

#: The most messages one page may hold; a UI asking for more is asking for a dump.
MAX_PAGE_SIZE = 500
#: What the free text search escapes in ``LIKE`` patterns, so ``%`` and ``_`` match themselves.
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class MessageFilter:
    """Which messages a listing shows; every field left at its default filters nothing.

    Attributes:
        connection_id: Only this connection's messages.
        flow: Only this flow's messages (of any connection unless ``connection_id`` is given).
        direction: Only inbound (``in``) or outbound (``out``) messages.
        statuses: Any of these statuses; empty for every status.
        problem_code: A problem whose code starts with this (``scsn.price``), as
            ``koppel messages --problem`` finds it; ``%`` and ``_`` are literal.
        since: Stored at or after this time (timezone-aware).
        until: Stored before this time (timezone-aware; excluded).
        text: A case-insensitive substring of the source name (the inbound
            file's name, the outbound delivery key) or of the document key
            (an order number); ``%`` and ``_`` are literal. Blank searches nothing.
        problem_text: A case-insensitive substring of a problem's text or field
            (a customer number, an SKU): "every order held for customer LNB-4711"
            is ``statuses=("held",), problem_text="LNB-4711"``; ``%`` and ``_``
            are literal. Blank searches nothing.
        flows: Only messages of these ``(connection_id, flow)`` pairs; None for
            every flow, empty for none. The centre passes the flows whose DAGs a
            user may see, so a listing never shows a row its page would refuse.
    """

    connection_id: str | None = None
    flow: str | None = None
    direction: Direction | None = None
    statuses: tuple[MessageStatus, ...] = field(default=())
    problem_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    problem_text: str | None = None
    flows: frozenset[tuple[str, str]] | None = None

    def __post_init__(self) -> None:
        """Normalise what a web form hands in: plain strings become enums, blanks become None.

        Raises:
            ValueError: an unknown direction or status, or a naive ``since``/``until``
                (its zone would be a guess; the store keeps UTC).
        """
        if self.direction is not None:
            object.__setattr__(self, "direction", Direction(self.direction))
        statuses = tuple(sorted({MessageStatus(s) for s in self.statuses}, key=str))
        object.__setattr__(self, "statuses", statuses)
        for name in ("connection_id", "flow", "problem_code", "text", "problem_text"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                object.__setattr__(self, name, None)
        for name in ("since", "until"):
            stamp = getattr(self, name)
            if stamp is not None and stamp.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {stamp!r}")


@dataclass(frozen=True)
class MessagePage:
    """One page of a listing, newest first, with how to ask for the next one.

    Attributes:
        items: At most the page size of messages, without payload and document.
        next_before_id: Pass as ``before_id`` for the next (older) page; None on the last page.
        total: How many messages match the filter in all, over every page, when counted.
    """

    items: list[MessageSummary]
    next_before_id: int | None
    total: int


def page_messages(
    store_or_engine: MessageStore | Engine,
    filter: MessageFilter,
    *,
    limit: int = 50,
    before_id: int | None = None,
) -> MessagePage:
    """One page of the messages matching ``filter``, newest first, and their total.

    The page is the ``limit`` newest matches with an id below ``before_id``
    (all of them without it). One more row than asked is read to know whether
    a next page exists, so ``next_before_id`` is None exactly on the last page.
    The total counts every match, ignoring ``before_id``; it is read in the
    same transaction as the page, so on PostgreSQL the two agree.

    Raises:
        ValueError: ``limit`` is not between 1 and :data:`MAX_PAGE_SIZE`.
        StoreError: the database failed.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    store = _as_store(store_or_engine)
    conditions = _conditions(store, filter)
    page: Select[Any] = select(*SUMMARY_COLUMNS).where(*conditions)
    if before_id is not None:
        page = page.where(messages.c.id < before_id)
    page = page.order_by(messages.c.id.desc()).limit(limit + 1)
    count = select(func.count()).select_from(messages).where(*conditions)
    with _reading(store) as conn:
        rows = conn.execute(page).mappings().all()
        total = int(conn.execute(count).scalar_one())
    items = [MessageSummary.from_row(row) for row in rows[:limit]]
    next_before_id = items[-1].id if len(rows) > limit else None
    return MessagePage(items=items, next_before_id=next_before_id, total=total)


def status_counts(
    store_or_engine: MessageStore | Engine, *, since: datetime
) -> dict[tuple[str, str], dict[MessageStatus, int]]:
    """How many messages each (connection, flow) stored since ``since``, per status.

    The overview's "last day / last week" figures, in one grouped query over
    the ``created_at`` index (which holds the grouped columns too, so the
    table itself is not read on PostgreSQL). A flow with no messages in the
    window is absent; a status none of its messages has is absent too.

    Raises:
        ValueError: ``since`` is naive.
        StoreError: the database failed.
    """
    if since.tzinfo is None:
        raise ValueError(f"since must be timezone-aware, got {since!r}")
    store = _as_store(store_or_engine)
    query = (
        select(messages.c.connection_id, messages.c.flow, messages.c.status, func.count())
        .where(messages.c.created_at >= since)
        .group_by(messages.c.connection_id, messages.c.flow, messages.c.status)
    )
    counts: dict[tuple[str, str], dict[MessageStatus, int]] = {}
    with _reading(store) as conn:
        for connection_id, flow, status, count in conn.execute(query).tuples():
            per_status = counts.setdefault((str(connection_id), str(flow)), {})
            per_status[MessageStatus(status)] = int(count)
    return counts


def message_runs(store_or_engine: MessageStore | Engine, message_id: int) -> list[str]:
    """The Airflow run ids that touched a message, as far as the store knows them.

    They are: the run that last processed it (``run_id``: received it, or
    decided it on the latest replay), the run holding a claim on it right
    now, and the runs that stored or delivered its outbound copies. The store
    keeps no history of earlier runs (a replay overwrites ``run_id``) and
    delivery attempts record no run, so older runs are not listed.

    Returns them in that order, each once.

    Raises:
        StoreError: no message has this id, or the database failed.
    """
    store = _as_store(store_or_engine)
    own = select(messages.c.run_id, messages.c.claimed_by).where(messages.c.id == message_id)
    copies = (
        select(messages.c.run_id, messages.c.claimed_by)
        .where(messages.c.parent_id == message_id)
        .order_by(messages.c.id)
    )
    with _reading(store) as conn:
        found = conn.execute(own).one_or_none()
        if found is None:
            raise StoreError(f"message {message_id} does not exist")
        rows = [tuple(found), *(tuple(row) for row in conn.execute(copies))]
    return _unique(run for row in rows for run in row)


def _as_store(store_or_engine: MessageStore | Engine) -> MessageStore:
    return (
        store_or_engine
        if isinstance(store_or_engine, MessageStore)
        else MessageStore(store_or_engine)
    )


def _reading(store: MessageStore) -> AbstractContextManager[Connection]:
    """One transaction on the store, its failures as :class:`StoreError`, as the store reads."""
    return store._transaction()


def _conditions(
    store: MessageStore, wanted: MessageFilter
) -> list[ColumnElement[bool] | TextClause]:
    """The WHERE conditions of ``wanted``: the store's own filters, and the free text."""
    conditions = store._filters(
        connection_id=wanted.connection_id,
        flow=wanted.flow,
        status=wanted.statuses or None,
        direction=wanted.direction,
        since=wanted.since,
        until=wanted.until,
        problem_code=wanted.problem_code,
    )
    if wanted.text is not None:
        pattern = f"%{_escape_like(wanted.text.strip())}%"
        conditions.append(
            or_(
                messages.c.source_name.ilike(pattern, escape=_LIKE_ESCAPE),
                messages.c.document_key.ilike(pattern, escape=_LIKE_ESCAPE),
            )
        )
    if wanted.problem_text is not None:
        conditions.append(_problem_mentions(store, wanted.problem_text.strip()))
    if wanted.flows is not None:
        pairs = sorted(wanted.flows)
        conditions.append(
            tuple_(messages.c.connection_id, messages.c.flow).in_(pairs) if pairs else false()
        )
    return conditions


def _problem_mentions(store: MessageStore, needle: str) -> TextClause:
    """A message has a problem whose text or field holds ``needle``, case-insensitively.

    Read from the problems' JSON as ``_has_problem_code`` reads their codes;
    no index serves it, so it is meant beside a narrower filter (a status,
    a flow), as the list's bulk replay uses it.
    """
    dialect = store._engine.dialect.name
    if dialect == "postgresql":
        clause = (
            "EXISTS (SELECT 1 FROM jsonb_array_elements(messages.problems) AS p "
            "WHERE p ->> 'message' ILIKE :mention ESCAPE '\\' "
            "OR p ->> 'field' ILIKE :mention ESCAPE '\\')"
        )
    elif dialect == "sqlite":
        clause = (
            "EXISTS (SELECT 1 FROM json_each(messages.problems) AS p "
            "WHERE lower(json_extract(p.value, '$.message')) LIKE lower(:mention) ESCAPE '\\' "
            "OR lower(json_extract(p.value, '$.field')) LIKE lower(:mention) ESCAPE '\\')"
        )
    else:
        raise StoreError(f"the message store does not support {dialect!r} databases")
    return text(clause).bindparams(mention=f"%{_escape_like(needle)}%")


def _escape_like(value: str) -> str:
    """``value`` with the ``LIKE`` wildcards and the escape character matching themselves."""
    return (
        value.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


def _unique(values: Iterable[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(str(value), None)
    return list(seen)
