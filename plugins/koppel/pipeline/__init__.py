"""The engine of a file flow: receive → process → acknowledge.

Pure Python over a file session and the message store, so it runs the same
under Airflow, in the demo and in tests. Each step picks up where an earlier,
interrupted run stopped: the store's statuses, not the run, say what is left
to do. That is what makes a rerun after a crash neither lose nor duplicate.
"""

from __future__ import annotations

from koppel.pipeline.acknowledge import acknowledge_batch
from koppel.pipeline.outcome import AcknowledgeOutcome, ProcessOutcome, ReceiveOutcome
from koppel.pipeline.process import process_pending
from koppel.pipeline.receive import receive_batch

__all__ = [
    "AcknowledgeOutcome",
    "ProcessOutcome",
    "ReceiveOutcome",
    "acknowledge_batch",
    "process_pending",
    "receive_batch",
]
