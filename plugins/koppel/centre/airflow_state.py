"""What Airflow knows of each flow's DAG: paused or not, its schedule, its last run.

Read from Airflow's metadata database through the api-server's own session
(``SessionDep``), the way the api-server's routes read it: the plugin runs
inside the api-server, so calling its public REST API over HTTP would only
add a round trip, a token to forward and a base URL to configure. Only
``DagModel`` and ``DagRun`` are read, never written.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DagState:
    """A DAG as the overview shows it; ``known`` False: Airflow has not parsed it (yet)."""

    dag_id: str
    known: bool
    paused: bool | None = None
    schedule: str | None = None
    last_run_id: str | None = None
    last_run_state: str | None = None
    last_run_at: datetime | None = None


def dag_states(session: Session, dag_ids: Collection[str]) -> dict[str, DagState]:
    """Each DAG's paused flag, schedule summary and newest run (by ``run_after``)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun

    ids = sorted(dag_ids)
    if not ids:
        return {}
    dags = {
        row.dag_id: row
        for row in session.execute(
            select(DagModel.dag_id, DagModel.is_paused, DagModel.timetable_summary).where(
                DagModel.dag_id.in_(ids)
            )
        )
    }
    newest = (
        select(DagRun.dag_id, func.max(DagRun.run_after).label("run_after"))
        .where(DagRun.dag_id.in_(ids))
        .group_by(DagRun.dag_id)
        .subquery()
    )
    runs = {
        row.dag_id: row
        for row in session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.run_after, DagRun.end_date)
            .join(
                newest,
                (DagRun.dag_id == newest.c.dag_id) & (DagRun.run_after == newest.c.run_after),
            )
            .order_by(DagRun.id)
        )
    }
    states: dict[str, DagState] = {}
    for dag_id in ids:
        dag = dags.get(dag_id)
        run = runs.get(dag_id)
        states[dag_id] = DagState(
            dag_id=dag_id,
            known=dag is not None,
            paused=None if dag is None else bool(dag.is_paused),
            schedule=None if dag is None else dag.timetable_summary,
            last_run_id=None if run is None else run.run_id,
            last_run_state=None if run is None or run.state is None else str(run.state),
            last_run_at=None if run is None else (run.end_date or run.run_after),
        )
    return states
