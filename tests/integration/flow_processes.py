"""Flow runs in processes of their own, and a partner that collects what they deliver.

Shared by the crash tests (a run that kills itself must be its own process)
and the concurrency tests (runs that overlap must be separate processes, as
separate workers are).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from koppel.faults import ENV_VAR


def run_flow(
    connection_file: Path, flow: str, *run_ids: str, failpoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the flow in a process of its own, as a worker would; armed, it dies at ``failpoint``."""
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if failpoint is not None:
        env[ENV_VAR] = failpoint
    command = [sys.executable, "-m", "koppel.sandbox.flow_runner", str(connection_file), flow]
    return subprocess.run(
        [*command, *run_ids], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def states(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr[-3000:]
    runs = [line.split()[1:3] for line in result.stdout.splitlines() if line.startswith("RUN ")]
    return dict(runs)


class Partner:
    """Monta collecting what Koppel delivered: every file it takes is counted by name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.collected: Counter[str] = Counter()

    def collect(self) -> None:
        if not self.folder.exists():
            return
        for path in self.folder.iterdir():
            if path.is_file() and not path.name.startswith("."):
                self.collected[path.name] += 1
                path.unlink()


def start_flow(connection_file: Path, flow: str, run_id: str) -> subprocess.Popen[str]:
    """Start one flow run in the background; :func:`finished` collects its outcome."""
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    command = [sys.executable, "-m", "koppel.sandbox.flow_runner", str(connection_file), flow]
    return subprocess.Popen(
        [*command, run_id], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(process: subprocess.Popen[str]) -> tuple[str, dict[str, Any]]:
    """Wait for a run started with :func:`start_flow`; its state and its tasks' results."""
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    (line,) = [line for line in stdout.splitlines() if line.startswith("RUN ")]
    _, _, state, xcoms = line.split(" ", 3)
    return state, json.loads(xcoms)
