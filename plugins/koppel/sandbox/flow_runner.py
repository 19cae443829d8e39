"""Run a flow's tasks in this process, in order, the way a worker runs them, without a scheduler.

For fault injection (the crash tests and ``make chaos``): a run that kills
itself at a failpoint has to be a process of its own, and a scheduler and
worker per run would cost seconds each over hundreds of runs. The DAG and its
operators are the generated ones; this module only stands in for Airflow's
calling convention: a context with the run id, the Params' defaults and the
XCom of the earlier tasks, and the DAG's failure callbacks (the alert) when a
task fails.

Usage: ``python -m koppel.sandbox.flow_runner CONNECTION_FILE FLOW RUN_ID [RUN_ID ...]``
runs one flow run per run id, one after the other, and prints ``RUN RUN_ID STATE
XCOMS`` (the tasks' results as JSON) for each; task logs may come in between.
Connections come from ``AIRFLOW_CONN_*`` variables as usual.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from koppel.config import load_connection

log = logging.getLogger(__name__)


@dataclass
class _TaskInstance:
    """The part of Airflow's task instance our operators and the alert read."""

    dag_id: str
    task_id: str
    xcoms: dict[str, Any] = field(default_factory=dict)
    try_number: int = 1

    def xcom_pull(self, task_ids: str) -> Any:
        return self.xcoms.get(task_ids)


@dataclass(frozen=True)
class _DagRun:
    run_id: str
    run_type: str = "manual"


def run_flow(connection_file: Path, flow_name: str, run_id: str) -> tuple[str, dict[str, Any]]:
    """Run every task of the flow's DAG once; return ``success`` or ``failed`` and the XComs.

    A failing task runs the DAG's failure callbacks (the alert) with the
    exception, as Airflow does, and stops the run.
    """
    from koppel.dag_factory import build_flow_dag

    connection = load_connection(connection_file)
    dag = build_flow_dag(connection, connection.flows[flow_name])
    params = {name: dag.params[name] for name in dag.params}
    xcoms: dict[str, Any] = {}
    for task in dag.topological_sort():  # type: ignore[no-untyped-call]
        ti = _TaskInstance(dag.dag_id, task.task_id, xcoms)
        context: dict[str, Any] = {
            "run_id": run_id,
            "params": params,
            "ti": ti,
            "dag_run": _DagRun(run_id),
            "data_interval_start": None,
            "data_interval_end": None,
        }
        try:
            xcoms[task.task_id] = task.execute(context)
        except Exception as exc:
            log.warning("%s %s failed: %s", run_id, task.task_id, exc)
            for callback in task.on_failure_callback or []:
                callback.notify({**context, "exception": exc})
            return "failed", xcoms
    return "success", xcoms


def main(argv: list[str]) -> int:
    """Run the flow once per run id given; exit 0 whatever the runs' states."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    connection_file, flow_name, *run_ids = argv
    for run_id in run_ids:
        state, xcoms = run_flow(Path(connection_file), flow_name, run_id)
        print("RUN", run_id, state, json.dumps(xcoms, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
