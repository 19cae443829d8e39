"""The day rule steps date their answers by: today, or a day fixed for a contract case.

An order response's issue date, a waybill receipt's date and the date the
SCSN checks judge delivery dates against are "today". That makes them the
one part of an outbound document that differs from run to run, so a
contract case (``koppel test``) could never pin it. :func:`fixed_today`
fixes the day for the code it wraps; a DAG run never calls it, so for a run
:func:`today` is simply the date in UTC.

A context variable, not a global: two cases run side by side in threads
(or a case beside a real run in one process) each see their own day.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

_FIXED: ContextVar[date | None] = ContextVar("koppel_fixed_today", default=None)


def today() -> date:
    """The date in UTC, unless :func:`fixed_today` set another for the caller's context."""
    fixed = _FIXED.get()
    return fixed if fixed is not None else datetime.now(UTC).date()


@contextmanager
def fixed_today(day: date) -> Iterator[None]:
    """Make :func:`today` answer ``day`` inside the ``with`` block (a contract case's run)."""
    token = _FIXED.set(day)
    try:
        yield
    finally:
        _FIXED.reset(token)
