"""Which time window an API flow's run asks its source for."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from koppel.operators.api_flow import run_window

START = date(2026, 1, 1)
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
TUESDAY = datetime(2026, 3, 3, tzinfo=UTC)


def context(run_type: str, *, resend: bool = False) -> dict[str, object]:
    return {
        "data_interval_start": MONDAY,
        "data_interval_end": TUESDAY,
        "dag_run": SimpleNamespace(run_type=run_type),
        "params": {"resend": resend},
    }


def test_the_first_run_asks_for_everything_since_the_flow_starts() -> None:
    since, until = run_window(context("scheduled"), None, START)  # type: ignore[arg-type]
    assert since == datetime(2026, 1, 1, tzinfo=UTC)
    assert until > TUESDAY  # up to now: nothing modified between two runs is missed


def test_later_runs_ask_since_the_last_successful_run() -> None:
    since, _ = run_window(context("scheduled"), "2026-03-02T10:15:00+00:00", START)  # type: ignore[arg-type]
    assert since == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def test_a_backfill_asks_for_its_own_interval_whatever_the_watermark() -> None:
    window = run_window(context("backfill"), "2026-03-05T00:00:00+00:00", START)  # type: ignore[arg-type]
    assert window == (MONDAY, TUESDAY)


def test_a_manual_resend_asks_for_its_interval() -> None:
    window = run_window(context("manual", resend=True), "2026-03-05T00:00:00+00:00", START)  # type: ignore[arg-type]
    assert window == (MONDAY, TUESDAY)
