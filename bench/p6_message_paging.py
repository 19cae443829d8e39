"""P6: the integration centre's message list on a big store: keyset pages with their totals.

Fills a PostgreSQL store (migrated by Koppel, so with migration 0007's
indexes) with N messages in one ``INSERT … SELECT … generate_series`` per
100,000 rows: 20 connections, six flows, 70% inbound, mostly delivered with
5% rejected, 3% held and the rest spread over the other statuses, problem
codes on the rejected and held ones, stored times spread over 90 days in id
order; then ``VACUUM ANALYZE``, as autovacuum would have run by then.

Then pages of 50, each with the total of its filter, as the UI asks; the
result's figure is the sum over these four:

- ``first``: no filter, the newest page;
- ``deep``: no filter, the page below an id 90% of the way down (keyset);
- ``filtered``: one connection's rejected messages;
- ``text``: a document-key substring (an order number), matching a few rows.

``extra`` also has one page each of the UI's other filters (inbound only, one
status everywhere, one flow's outbound messages, the last week) and the
overview's counts per flow and status over the last week.

Koppel: :func:`koppel.store.message_queries.page_messages` (SQLAlchemy, the
rows as ``MessageSummary`` records). Floor: the same two statements (page
and count) hand-written, on bare psycopg, rows as tuples. Each figure is
the median of 3 after one warm-up call. The result is the sum over the four
pages in ms, against the floor's sum; ``extra`` has each page's figures and
whether every page took under a second (the issue's goal on 1,000,000 rows).

``python -m bench.p6_message_paging [N]``: N messages (default 200,000;
``BENCH_FULL=1``: 1,000,000). ``P6_EXPLAIN=1`` prints PostgreSQL's plan of
each statement too (how migration 0007's indexes were chosen).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
from sqlalchemy import Engine

from bench.common import BenchResult, emit, full_size, median_seconds
from koppel.sandbox.postgres import PostgresServer
from koppel.store import Direction, MessageStatus, create_store_engine, migrate
from koppel.store.message_queries import MessageFilter, page_messages, status_counts

GOAL = 1.5
#: The issue's goal for one page with its total, on 1,000,000 messages.
PAGE_GOAL_MS = 1000.0
PAGE_SIZE = 50
FILL_CHUNK = 100_000
DATABASE = "p6"

#: One chunk of the fill: ids ``lo`` to ``hi``, everything derived from the id and its hash.
FILL = """
INSERT INTO messages (id, connection_id, flow, direction, source_name, checksum, size_bytes,
                      payload, document_key, status, problems, run_id, created_at, updated_at)
SELECT i,
       'merchant' || lpad((h %% 20)::text, 2, '0'),
       (ARRAY['orders', 'order_responses', 'stock', 'prices', 'products', 'invoices'])
           [h / 20 %% 6 + 1],
       CASE WHEN h / 120 %% 10 < 7 THEN 'in' ELSE 'out' END,
       CASE WHEN h / 120 %% 10 < 7 THEN 'inbox/ORD-' || i || '.xml' ELSE 'out:PO-' || i END,
       md5(i::text) || md5(h::text),
       320,
       convert_to(repeat('<Order/>', 40), 'UTF8'),
       'PO-' || lpad((i * 7919 %% 900000)::text, 6, '0'),
       CASE WHEN s < 80 THEN 'delivered' WHEN s < 85 THEN 'rejected' WHEN s < 88 THEN 'held'
            WHEN s < 90 THEN 'failed' WHEN s < 93 THEN 'skipped' WHEN s < 96 THEN 'pending'
            ELSE 'received' END,
       CASE WHEN s >= 80 AND s < 85 THEN
                '[{"code": "scsn.price.deviation", "message": "price deviates 12%%",
                   "severity": "error"}]'::jsonb
            WHEN s >= 85 AND s < 88 THEN
                '[{"code": "erp.reference.missing", "message": "no ERP reference",
                   "severity": "error"}]'::jsonb
            ELSE '[]'::jsonb END,
       'scheduled__' || (i / 5000),
       %(start)s + (i * %(step)s),
       %(start)s + (i * %(step)s)
FROM (SELECT i, abs(hashint4(i::int)) AS h, abs(hashint4(i::int + 7)) %% 100 AS s
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i) AS g
"""

SUMMARY = (
    "id, connection_id, flow, direction, source_name, checksum, size_bytes, document_key, "
    "status, problems, parent_id, target_name, disposition, run_id, created_at, updated_at, "
    "claimed_by, claimed_until, alerted_at, disposal"
)


@dataclass(frozen=True)
class Case:
    """One page the bench asks for: Koppel's filter and the floor's WHERE clause for it."""

    name: str
    filter: MessageFilter
    before_id: int | None
    where: str
    params: dict[str, Any]
    headline: bool = True
    """One of the four pages the result's figure sums; the others are reported in ``extra``."""


def fill(dsn: str, count: int) -> float:
    """Insert ``count`` messages in chunks, then VACUUM ANALYZE; the seconds it took."""
    start_time = datetime.now(UTC) - timedelta(days=90)
    step = timedelta(days=90) / count
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for lo in range(1, count + 1, FILL_CHUNK):
            hi = min(lo + FILL_CHUNK - 1, count)
            conn.execute(FILL, {"start": start_time, "step": step, "lo": lo, "hi": hi})
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('messages', 'id'), max(id)) FROM messages"
        )
        conn.execute("VACUUM ANALYZE messages")
    return time.perf_counter() - started


def cases(count: int) -> list[Case]:
    """The four pages of the module docstring, then the UI's other filters, on ``count`` rows."""
    deep = max(count // 10, PAGE_SIZE + 1)
    order = "PO-01234"
    week = datetime.now(UTC) - timedelta(days=7)
    return [
        Case("first", MessageFilter(), None, "TRUE", {}),
        Case("deep", MessageFilter(), deep, "TRUE", {}),
        Case(
            "filtered",
            MessageFilter(connection_id="merchant07", statuses=(MessageStatus.REJECTED,)),
            None,
            "connection_id = %(conn)s AND status = %(status)s",
            {"conn": "merchant07", "status": "rejected"},
        ),
        Case(
            "text",
            MessageFilter(text=order),
            None,
            "(source_name ILIKE %(text)s ESCAPE '\\' OR document_key ILIKE %(text)s ESCAPE '\\')",
            {"text": f"%{order}%"},
        ),
        Case(
            "inbound",
            MessageFilter(direction=Direction.IN),
            deep,
            "direction = %(direction)s",
            {"direction": "in"},
            headline=False,
        ),
        Case(
            "held",
            MessageFilter(statuses=(MessageStatus.HELD,)),
            None,
            "status = %(status)s",
            {"status": "held"},
            headline=False,
        ),
        Case(
            "flow",
            MessageFilter(connection_id="merchant07", flow="orders", direction=Direction.OUT),
            None,
            "connection_id = %(conn)s AND flow = %(flow)s AND direction = %(direction)s",
            {"conn": "merchant07", "flow": "orders", "direction": "out"},
            headline=False,
        ),
        Case(
            "last_week",
            MessageFilter(since=week),
            None,
            "created_at >= %(since)s",
            {"since": week},
            headline=False,
        ),
    ]


def floor_page(conn: psycopg.Connection[Any], case: Case) -> tuple[list[Any], int]:
    """The floor: the page and the count as hand-written SQL on bare psycopg, rows as tuples."""
    keyset = "" if case.before_id is None else " AND id < %(before)s"
    params = {**case.params, "before": case.before_id, "limit": PAGE_SIZE + 1}
    with conn.transaction():
        rows = conn.execute(
            f"SELECT {SUMMARY} FROM messages WHERE {case.where}{keyset} "
            "ORDER BY id DESC LIMIT %(limit)s",
            params,
        ).fetchall()
        found = conn.execute(
            f"SELECT count(*) FROM messages WHERE {case.where}",
            params,
        ).fetchone()
    return rows[:PAGE_SIZE], int(found[0]) if found else 0


def explain(conn: psycopg.Connection[Any], case: Case) -> None:
    """Print PostgreSQL's plans of the floor's page and count (``P6_EXPLAIN=1``)."""
    keyset = "" if case.before_id is None else " AND id < %(before)s"
    params = {**case.params, "before": case.before_id, "limit": PAGE_SIZE + 1}
    for statement in (
        f"SELECT {SUMMARY} FROM messages WHERE {case.where}{keyset} "
        "ORDER BY id DESC LIMIT %(limit)s",
        f"SELECT count(*) FROM messages WHERE {case.where}",
    ):
        with conn.transaction():
            plan = conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", params).fetchall()
        print(f"  -- {case.name}: {statement.split(' FROM ')[0][:30]}…", flush=True)
        for (line,) in plan:
            print(f"     {line}", flush=True)


def time_overview(engine: Engine, conn: psycopg.Connection[Any]) -> dict[str, float]:
    """The overview's counts per flow and status over the last week: Koppel and floor, ms."""
    since = datetime.now(UTC) - timedelta(days=7)
    statement = (
        "SELECT connection_id, flow, status, count(*) FROM messages "
        "WHERE created_at >= %(since)s GROUP BY connection_id, flow, status"
    )

    def floor() -> list[Any]:
        with conn.transaction():
            return conn.execute(statement, {"since": since}).fetchall()

    koppel_ms = timed_ms(lambda: status_counts(engine, since=since))
    floor_ms = timed_ms(floor)
    if os.environ.get("P6_EXPLAIN") == "1":
        with conn.transaction():
            plan = conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", {"since": since})
            print("  -- overview: status counts over the last week", flush=True)
            for (line,) in plan.fetchall():
                print(f"     {line}", flush=True)
    print(f"  overview: koppel {koppel_ms:.1f} ms, floor {floor_ms:.1f} ms", flush=True)
    return {"koppel_ms": round(koppel_ms, 2), "floor_ms": round(floor_ms, 2)}


def timed_ms(work: Callable[[], object]) -> float:
    """Median milliseconds of ``work`` after one warm-up call (caches as the UI finds them)."""
    work()
    return median_seconds(work) * 1000


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else (1_000_000 if full_size() else 200_000)
    with PostgresServer() as pg:
        pg.create_database(DATABASE)
        engine = create_store_engine(pg.sqlalchemy_url(DATABASE))
        migrate(engine)
        fill_seconds = fill(pg.dsn(DATABASE), count)
        print(f"filled {count:,} messages in {fill_seconds:.1f} s", flush=True)
        per_case: dict[str, dict[str, object]] = {}
        with psycopg.connect(pg.dsn(DATABASE)) as conn:
            for case in cases(count):
                page = page_messages(engine, case.filter, limit=PAGE_SIZE, before_id=case.before_id)
                rows, total = floor_page(conn, case)
                if [m.id for m in page.items] != [r[0] for r in rows] or page.total != total:
                    print(f"{case.name}: Koppel and the floor disagree", flush=True)
                    return 1
                koppel_ms = timed_ms(
                    partial(
                        page_messages,
                        engine,
                        case.filter,
                        limit=PAGE_SIZE,
                        before_id=case.before_id,
                    )
                )
                floor_ms = timed_ms(partial(floor_page, conn, case))
                if os.environ.get("P6_EXPLAIN") == "1":
                    explain(conn, case)
                per_case[case.name] = {
                    "koppel_ms": round(koppel_ms, 2),
                    "floor_ms": round(floor_ms, 2),
                    "ratio": round(koppel_ms / floor_ms, 2),
                    "rows": len(page.items),
                    "total": page.total,
                }
                print(
                    f"  {case.name}: koppel {koppel_ms:.1f} ms, floor {floor_ms:.1f} ms, "
                    f"{len(page.items)} rows of {page.total:,}",
                    flush=True,
                )
            overview = time_overview(engine, conn)
        engine.dispose()
    headline = [per_case[case.name] for case in cases(count) if case.headline]
    koppel_sum = sum(float(str(c["koppel_ms"])) for c in headline)
    floor_sum = sum(float(str(c["floor_ms"])) for c in headline)
    slowest = max(float(str(c["koppel_ms"])) for c in per_case.values())
    emit(
        BenchResult(
            name="P6 message paging",
            koppel=koppel_sum,
            floor=floor_sum,
            unit="ms for 4 pages",
            goal=GOAL,
            size=f"{count:,} messages, pages of {PAGE_SIZE} with totals",
            extra={
                "pages": per_case,
                "slowest_page_ms": round(slowest, 2),
                "every_page_under_1s": slowest < PAGE_GOAL_MS,
                "overview_last_week": overview,
                "fill_seconds": round(fill_seconds, 1),
            },
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
