"""Validation of flow schedules: five-field cron expressions or Airflow presets.

Checked here, without importing Airflow, so that ``koppel lint`` catches
``0 25 * * *`` before the scheduler does, and names the file and field.
"""

from __future__ import annotations

#: Airflow's schedule presets.
PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}
)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DAYS = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}

#: (field name, lowest, highest, names) for each of the five cron fields, in order.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


def check_schedule(value: str) -> str:
    """Return ``value`` when it is a preset or a valid five-field cron expression.

    Raises:
        ValueError: naming the part of the expression that is wrong.
    """
    text = value.strip()
    if text.startswith("@"):
        if text not in PRESETS:
            raise ValueError(f"unknown preset {text!r}; use one of {', '.join(sorted(PRESETS))}")
        return text
    parts = text.split()
    if len(parts) != len(_FIELDS):
        raise ValueError(
            f"cron expression {text!r} has {len(parts)} fields; expected 5 "
            "(minute hour day-of-month month day-of-week) or a preset such as @daily"
        )
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            _check_item(item, name, low, high, names)
    return " ".join(parts)


def _check_item(item: str, name: str, low: int, high: int, names: dict[str, int]) -> None:
    """Check one comma-separated item: ``*``, ``n``, ``a-b``, each optionally ``/step``."""
    base, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        raise ValueError(f"invalid step {step!r} in the {name} field")
    if base == "*":
        return
    bounds = [_value(bound, name, low, high, names) for bound in base.split("-", 1)]
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise ValueError(f"range {base!r} in the {name} field runs backwards")


def _value(token: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    """One number (or month/day name) of a cron field, checked against the field's range."""
    if token.lower() in names:
        return names[token.lower()]
    if not token.isdigit():
        raise ValueError(f"invalid value {token!r} in the {name} field")
    number = int(token)
    if not low <= number <= high:
        raise ValueError(f"{number} is out of range {low}-{high} in the {name} field")
    return number
