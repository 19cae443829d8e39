"""The switches a flow may set under ``options:``, each declared once with the values it takes.

A flow's options are read by the rule steps as plain values
(``flow.options.get("backorder_handling")``), so a value of the wrong kind
would not fail: the string ``"false"`` is true in Python, and a typo such as
``backorder_handlng`` would silently leave the option off. Every option is
therefore declared here, and a connection file naming another option, or a
value the option does not take, is refused with the file and the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from koppel.config.connection import ConnectionConfig
from koppel.config.document_types import DOCUMENT_TYPES, LEDGER_LEVELS
from koppel.config.problems import ConfigProblem
from koppel.rules.waybills import ORDERED_WAS

#: Says why a value is wrong for an option, or None when it is right.
Check = Callable[[object], str | None]


def _boolean(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    return f"must be true or false (a YAML boolean, unquoted), not {value!r}"


def _one_of(*choices: str) -> Check:
    def check(value: object) -> str | None:
        if value in choices:
            return None
        return f"must be one of {', '.join(choices)}, not {value!r}"

    return check


def _timezone(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be a time zone name such as Europe/Amsterdam, not {value!r}"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        return f"{value!r} is not an IANA time zone such as Europe/Amsterdam"
    return None


#: Every option a flow may set, with its check. An option a rule step reads is declared here.
FLOW_OPTIONS: dict[str, Check] = {
    # Remove out-of-stock order lines at import (SPEC.md section 4).
    "backorder_handling": _boolean,
    # With backorder handling, before the first full stock update: hold the
    # orders until it arrives, or pass them to the warehouse unchecked.
    "unknown_stock": _one_of("hold", "pass"),
    # The time zone of partner timestamps that carry no offset.
    "timezone": _timezone,
    # SCSN order import (seed 002, check 5): the ERP manages article revision
    # indexes, so the messages' revisions are checked.
    "revision_management": _boolean,
    # Store ERP despatches (seed 003, sales side): "include line price
    # information in the waybill" (the sales price as the buyer's purchase price).
    "include_line_prices": _boolean,
    # Store ERP waybills (seed 003, purchase side): "update purchase price and
    # quantity from the message", and "do not receive the order" beside it.
    "update_price_and_quantity": _boolean,
    "do_not_receive": _boolean,
    # The store's language, for the note on a changed quantity ("Ordered was 2").
    "language": _one_of(*ORDERED_WAS),
    # Seed 001: the phase in which the order is handed to the target, which
    # decides what the target creates (koppel.config.document_types).
    "document_type": _one_of(*DOCUMENT_TYPES),
    # Seed 001: how detailed a financial mutation is; recommended when not set.
    "ledger_level": _one_of(*LEDGER_LEVELS),
}


def option_problems(config: ConnectionConfig) -> list[ConfigProblem]:
    """Every unknown option and every value an option does not take, by flow."""
    problems: list[ConfigProblem] = []
    for flow_name, flow in config.flows.items():
        for name, value in flow.options.items():
            field = f"flows.{flow_name}.options.{name}"
            reason = _reason(name, value)
            if reason is not None:
                problems.append(ConfigProblem(str(config.path), field, reason))
    return problems


def _reason(name: str, value: object) -> str | None:
    check = FLOW_OPTIONS.get(name)
    if check is not None:
        return check(value)
    close = difflib.get_close_matches(name, FLOW_OPTIONS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown option {name!r}; {hint}known options: {', '.join(sorted(FLOW_OPTIONS))}"
