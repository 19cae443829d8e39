"""A burst of 10,000 files is one run with the shipped settings, not twenty.

Cheap checks of the defaults only: the 10,000-file run itself is ``bench/p2_flow.py``
(``BENCH_FULL=1``), and the chunks a run works through are exercised by the crash
tests (``tests/integration/test_crash_recovery.py``).
"""

from __future__ import annotations

from pathlib import Path

from koppel.config import load_connection
from koppel.config.flows import DEFAULT_BATCH_SIZE
from koppel.pipeline import acknowledge, process, receive

CONNECTIONS = Path(__file__).resolve().parents[3] / "include" / "connections"
BURST = 10_000


def test_every_shipped_file_flow_takes_a_burst_of_10000_files_in_one_run() -> None:
    assert DEFAULT_BATCH_SIZE >= BURST
    for name in ("itsperfect_acme.yaml", "itsperfect_bellamoda.yaml"):
        connection = load_connection(CONNECTIONS / name)
        for flow in connection.flows.values():
            assert flow.batch_size >= BURST, f"{connection.id} {flow.name}"


def test_a_burst_is_worked_through_in_many_bounded_chunks() -> None:
    """Memory stays flat: no step holds more than a chunk of a 10,000-file batch at once."""
    for chunk in (receive.CHUNK_FILES, process.CHUNK_MESSAGES, acknowledge.CHUNK_MESSAGES):
        assert 50 <= chunk <= 500
        assert BURST // chunk >= 20
    assert receive.CHUNK_BYTES <= 64 * 1024 * 1024
