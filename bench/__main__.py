"""``make bench``: run the benchmarks P1 to P6, each in its own process, and write results.json.

``python -m bench`` runs all six; ``python -m bench P1 P3`` runs some and
updates only their entries. ``BENCH_FULL=1`` runs the issue's full sizes
(minutes to an hour on 2 cores); the default sizes finish in a few minutes.
Every figure is a ratio to a floor measured in the same run: the same work
done with bare libraries (see each module's docstring for what the floor is).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULT_PREFIX, full_size

RESULTS = Path(__file__).resolve().parent / "results.json"
BENCHES = {
    "P1": "bench.p1_engine",
    "P2": "bench.p2_flow",
    "P3": "bench.p3_catalogue",
    "P4": "bench.p4_dag_parse",
    "P5": "bench.p5_small_files",
    "P6": "bench.p6_message_paging",
}


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def run_one(key: str) -> dict[str, object]:
    """Run one bench module in a fresh interpreter; return its result row (or its failure)."""
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", BENCHES[key]],
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        check=False,
    )
    row: dict[str, object] | None = None
    for line in process.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            row = json.loads(line[len(RESULT_PREFIX) :])
        else:
            print(f"  {line}", flush=True)
    if process.returncode != 0 or row is None:
        return {"error": f"{BENCHES[key]} exited with {process.returncode}", "met": False}
    row["wall_seconds"] = round(time.monotonic() - started, 1)
    return row


def main(argv: list[str]) -> int:
    keys = [key.upper() for key in argv] or list(BENCHES)
    unknown = [key for key in keys if key not in BENCHES]
    if unknown:
        print(f"unknown bench(es) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
        return 2
    results: dict[str, object] = {}
    if argv and RESULTS.exists():
        results = json.loads(RESULTS.read_text())
    for key in keys:
        print(f"== {key} ({BENCHES[key]}, {'full' if full_size() else 'quick'} size)", flush=True)
        results[key] = run_one(key)
    results["machine"] = machine()
    results["full"] = full_size()
    results["date"] = time.strftime("%Y-%m-%d")
    ordered = {k: results[k] for k in ("machine", "full", "date", *BENCHES) if k in results}
    RESULTS.write_text(json.dumps(ordered, indent=2) + "\n")
    print(f"written to {RESULTS}")
    failed = [key for key in keys if "error" in results[key]]  # type: ignore[operator]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
