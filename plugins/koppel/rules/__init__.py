"""Business rules: pure functions from documents and master data to documents and problems.

A rule never raises for a business reason and does no I/O: it returns what it
decided together with a :class:`~koppel.documents.Problem` for every decision,
so a user can always answer "why was this line not shipped?" and the engine
decides what the problems mean for the message.
"""

from __future__ import annotations

from koppel.rules.backorders import BackorderDecision, apply_backorder_handling
from koppel.rules.status_reporting import (
    OrderLineRef,
    StatusDecision,
    report_status,
    split_base,
)

__all__ = [
    "BackorderDecision",
    "OrderLineRef",
    "StatusDecision",
    "apply_backorder_handling",
    "report_status",
    "split_base",
]
