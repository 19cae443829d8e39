"""Counting the SQL statements an engine runs: how the readers' tests prove their query counts.

A reader of partner master data (Isah, the store ERP) must cost a fixed
number of queries whatever the order's size; the tests count what the
engine really sends, not what the code says it sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """Every statement ``engine`` runs inside the block, in order (SQLite's BEGIN is none).

    The list fills while the block runs; a test may clear it between steps.
    """
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
