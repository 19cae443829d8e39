"""Cron expressions and presets accepted as flow schedules."""

from __future__ import annotations

import pytest

from koppel.config.schedule import check_schedule

VALID = [
    "@daily",
    "@once",
    "*/10 * * * *",
    "0 6 * * mon-fri",
    "30 2 1,15 jan,jul 0",
    "0 0 * * 7",
    "  5  4 * * *  ",
]

INVALID = [
    ("@nightly", "unknown preset '@nightly'"),
    ("0 25 * * *", "25 is out of range 0-23 in the hour field"),
    ("* * * *", "has 4 fields; expected 5"),
    ("0 0 0 * *", "0 is out of range 1-31 in the day of month field"),
    ("*/0 * * * *", "invalid step '0' in the minute field"),
    ("0 10-5 * * *", "range '10-5' in the hour field runs backwards"),
    ("0 0 * foo *", "invalid value 'foo' in the month field"),
    ("0 0 0 * * * *", "has 7 fields"),
]


@pytest.mark.parametrize("expression", VALID)
def test_valid(expression: str) -> None:
    assert check_schedule(expression) == " ".join(expression.split())


@pytest.mark.parametrize(("expression", "message"), INVALID)
def test_invalid(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("*", r"\*")) as caught:
        check_schedule(expression)
    assert message in str(caught.value)
