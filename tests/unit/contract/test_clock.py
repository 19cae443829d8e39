"""The day rules date their answers by: today, or the day a contract case fixes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from koppel.pipeline.clock import fixed_today, today


def is_the_real_day(read: Callable[[], date]) -> bool:
    before = datetime.now(UTC).date()
    day = read()
    return before <= day <= datetime.now(UTC).date()


def test_today_is_the_utc_date_unless_fixed() -> None:
    assert is_the_real_day(today)
    with fixed_today(date(1999, 2, 1)):
        assert today() == date(1999, 2, 1)
        with fixed_today(date(1998, 1, 1)):
            assert today() == date(1998, 1, 1)
        assert today() == date(1999, 2, 1)
    assert is_the_real_day(today)


def test_a_fixed_day_stays_in_its_own_thread() -> None:
    with fixed_today(date(1999, 2, 1)), ThreadPoolExecutor(1) as pool:
        assert is_the_real_day(lambda: pool.submit(today).result())
