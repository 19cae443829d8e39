"""A flow's DAG as Airflow serialized it, and a manual run of it, through Airflow's own code.

The params come from the DAG the api-server would trigger (``DBDagBag``'s
latest serialized version, what the public ``POST /dags/{dag_id}/dagRuns``
reads), not from parsing the connection files again: the form then shows
exactly what Airflow will validate. The run is made by
``airflow.api.common.trigger_dag.trigger_dag``, the function behind
``airflow dags trigger``, in the request's own session, so it is committed
with the request like any api-server route's write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from koppel.centre.trigger import ParamSpec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class TriggerError(Exception):
    """Why a run cannot be made: ``status`` is the HTTP status that says so (400, 404, 409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TriggerTarget:
    """A DAG as the trigger form needs it: its params, whether paused, what stops a run."""

    dag_id: str
    specs: dict[str, ParamSpec]
    paused: bool
    #: Why Airflow would refuse a manual run (import errors, no manual runs), else None.
    refusal: str | None
    #: Airflow's own ``SerializedParamsDict`` of the DAG, which validates a run's conf.
    params: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class TriggeredRun:
    """A DAG run as the result page and the API show it."""

    dag_id: str
    run_id: str
    state: str
    conf: dict[str, Any]
    triggered_by_user: str | None


def trigger_target(session: Session, dag_id: str) -> TriggerTarget:
    """The DAG's serialized params, its paused flag and whether it may be triggered by hand.

    Raises:
        TriggerError: 404 when Airflow has not parsed (or no longer has) the DAG.
    """
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag
    from airflow.serialization.definitions.notset import is_arg_set
    from airflow.utils.types import DagRunType

    model = session.scalar(
        select(DagModel).where(DagModel.dag_id == dag_id, ~DagModel.is_stale).limit(1)
    )
    dag = None if model is None else DBDagBag().get_latest_version_of_dag(dag_id, session=session)
    if model is None or dag is None:
        raise TriggerError(
            404, f"Airflow does not know DAG {dag_id}: its file has not been parsed (yet)"
        )
    refusal = None
    if model.has_import_errors:
        refusal = f"DAG {dag_id} has import errors; fix them before triggering it"
    elif model.allowed_run_types is not None and DagRunType.MANUAL not in model.allowed_run_types:
        refusal = f"DAG {dag_id} does not allow manual runs"
    params = dag.params
    specs = {
        name: ParamSpec(
            default=param.value if is_arg_set(param.value) else None,
            description=param.description,
            schema=dict(param.schema),
        )
        for name, param in ((name, params.get_param(name)) for name in params)
    }
    return TriggerTarget(dag_id, specs, bool(model.is_paused), refusal, params=dag.params)


def validate_conf(target: TriggerTarget, conf: dict[str, Any]) -> None:
    """Check ``conf`` as Airflow will: each value against its param's schema.

    A key that is no param of the DAG is refused too: Airflow would pass it on
    unchecked, and a misspelt param would then silently run with its default.

    Raises:
        TriggerError: 400 naming the param (unknown, or its value invalid).
    """
    from airflow.exceptions import ParamValidationError

    unknown = sorted(set(conf) - set(target.specs))
    if unknown:
        raise TriggerError(400, f"DAG {target.dag_id} has no param {', '.join(unknown)}")
    try:
        target.params.deep_merge(conf).validate()
    except ParamValidationError as exc:
        raise TriggerError(400, str(exc)) from exc


def trigger_run(
    session: Session,
    target: TriggerTarget,
    conf: dict[str, Any],
    *,
    user_name: str,
    from_ui: bool,
) -> TriggeredRun:
    """Validate ``conf`` and queue a manual run of the DAG with a run id Airflow makes.

    A paused DAG's run is queued all the same and waits until the DAG is
    switched on: the DAG is never unpaused here.

    Raises:
        TriggerError: 400 for a bad value or a DAG Airflow would not run by
            hand, 404 for an unknown DAG, 409 when the run id exists already.
    """
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.exceptions import DagNotFound, DagRunAlreadyExists, ParamValidationError
    from airflow.utils.types import DagRunTriggeredByType

    if target.refusal is not None:
        raise TriggerError(400, target.refusal)
    validate_conf(target, conf)
    try:
        run = trigger_dag(
            target.dag_id,
            triggered_by=DagRunTriggeredByType.UI if from_ui else DagRunTriggeredByType.REST_API,
            triggering_user_name=user_name,
            conf=conf,
            session=session,
        )
    except DagNotFound as exc:
        raise TriggerError(404, str(exc)) from exc
    except DagRunAlreadyExists as exc:
        raise TriggerError(409, str(exc)) from exc
    except (ParamValidationError, ValueError) as exc:
        raise TriggerError(400, str(exc)) from exc
    if run is None:
        raise TriggerError(404, f"Airflow made no run of DAG {target.dag_id}")
    session.flush()
    return _triggered(run)


def triggered_run(session: Session, dag_id: str, run_id: str) -> TriggeredRun:
    """A run of the DAG as it is now.

    Raises:
        TriggerError: 404 when there is no such run.
    """
    from airflow.models.dagrun import DagRun

    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise TriggerError(404, f"DAG {dag_id} has no run {run_id}")
    return _triggered(run)


def _triggered(run: Any) -> TriggeredRun:
    return TriggeredRun(
        dag_id=str(run.dag_id),
        run_id=str(run.run_id),
        state=str(run.state.value if hasattr(run.state, "value") else run.state),
        conf=dict(run.conf or {}),
        triggered_by_user=run.triggering_user_name,
    )
