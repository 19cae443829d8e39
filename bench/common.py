"""What every ``make bench`` benchmark shares: sizes, timing, peak memory and the result row.

Each benchmark ``bench/pN_*.py`` is a module run in its own process by
``bench/__main__.py`` (so one bench's memory and imports never colour
another's); it measures Koppel and the floor — the same work done with bare
libraries — back to back, and ends by printing one result line.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

#: Printed before the JSON of a bench's result, so the runner finds it among log lines.
RESULT_PREFIX = "BENCH-RESULT "
#: Repeats per figure; the median is reported (the issue's "medians of 3").
REPEATS = 3


def full_size() -> bool:
    """True under ``BENCH_FULL=1``: run at the issue's full sizes, not the quick defaults."""
    return os.environ.get("BENCH_FULL") == "1"


def median_seconds(work: Callable[[], object], repeats: int = REPEATS) -> float:
    """The median wall-clock seconds of ``repeats`` calls of ``work``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """The largest peak RSS of any waited-for child process, in MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


@dataclass
class BenchResult:
    """One row of ``bench/results.json``.

    ``ratio`` is Koppel over the floor. With ``higher_is_better`` (throughput,
    e.g. files/s) the goal is a lower bound on the ratio; otherwise (seconds,
    MiB) an upper bound.
    """

    name: str
    koppel: float
    floor: float
    unit: str
    goal: float
    size: str
    higher_is_better: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.koppel / self.floor

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal if self.higher_is_better else self.ratio <= self.goal

    def as_dict(self) -> dict[str, object]:
        row = asdict(self)
        row["ratio"] = round(self.ratio, 3)
        row["goal"] = f"{'>=' if self.higher_is_better else '<='} {self.goal}"
        row["met"] = self.met
        return row


def emit(result: BenchResult) -> None:
    """Print the human line and the machine line the runner collects."""
    sign = ">=" if result.higher_is_better else "<="
    print(
        f"{result.name}: koppel {result.koppel:.4g} {result.unit}, floor {result.floor:.4g} "
        f"{result.unit}, ratio {result.ratio:.2f} (goal {sign} {result.goal}: "
        f"{'met' if result.met else 'MISSED'}) [{result.size}]",
        flush=True,
    )
    print(RESULT_PREFIX + json.dumps(result.as_dict()), flush=True)
