"""Trigger a flow's DAG from the centre: its Params as a form, and the JSON API's twin.

``GET /flows/{dag_id}/trigger`` shows the form (:mod:`koppel.centre.trigger`),
``POST`` on it queues the run and redirects (303) to the run's page, which
links into Airflow's grid; ``POST /api/flows/{dag_id}/trigger`` takes
``{"conf": {...}}`` and answers the run. Who may: whoever may trigger the DAG
in Airflow (:func:`koppel.centre.auth.can_change`); every POST passes the same
CSRF and origin checks as the centre's other changes (``ChangeUserDep``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from koppel.centre.auth import (
    CSRF_FIELD,
    ChangeUserDep,
    UserDep,
    can_change,
    csrf_token,
    require_read,
)
from koppel.centre.auth import user_name as name_of
from koppel.centre.pages import airflow_base
from koppel.centre.rendering import render
from koppel.centre.trigger import FormError, conf_from_form, param_fields
from koppel.centre.trigger_runs import (
    TriggeredRun,
    TriggerError,
    TriggerTarget,
    trigger_run,
    trigger_target,
    triggered_run,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter()


class TriggerBody(BaseModel):
    """A manual run's conf: param name to value, checked against the DAG's params."""

    conf: dict[str, Any] = Field(default_factory=dict)


async def _posted_form(request: Request) -> dict[str, str]:
    """The posted form's text fields (read once; Starlette keeps it for the CSRF check)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(_posted_form)]


def _require_trigger(user: BaseUser, dag_id: str) -> None:
    """Refuse (403) a user who may not trigger ``dag_id`` in Airflow.

    Raises:
        HTTPException: 403, naming the DAG.
    """
    if not can_change(user, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to trigger DAG {dag_id}")


def _target(session: Session, dag_id: str) -> TriggerTarget:
    try:
        return trigger_target(session, dag_id)
    except TriggerError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


def _context(request: Request, user: BaseUser, target: TriggerTarget) -> dict[str, Any]:
    return {
        "request": request,
        "user_name": str(user.get_name()),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(user),
        "airflow": airflow_base(request),
        "target": target,
        "run": None,
        "error": None,
        "may_trigger": can_change(user, target.dag_id),
    }


def run_link(airflow: str, run: TriggeredRun) -> str:
    """The run in Airflow's grid: ``{airflow}/dags/<dag_id>/runs/<run_id>``, both quoted."""
    return f"{airflow}/dags/{quote(run.dag_id, safe='')}/runs/{quote(run.run_id, safe='')}"


@router.get("/flows/{dag_id}/trigger", response_class=HTMLResponse, name="trigger_page")
def trigger_page(request: Request, dag_id: str, user: UserDep, session: SessionDep) -> Response:
    """The DAG's Params as a form, filled with their defaults."""
    _require_trigger(user, dag_id)
    target = _target(session, dag_id)
    context = _context(request, user, target)
    return render("trigger.html", {**context, "fields": param_fields(target.specs)})


@router.post("/flows/{dag_id}/trigger", name="trigger_action")
def trigger_action(
    request: Request, dag_id: str, user: ChangeUserDep, form: FormDep, session: SessionDep
) -> Response:
    """Queue a run with the form's values, then show it; a bad value shows the form again (400)."""
    _require_trigger(user, dag_id)
    target = _target(session, dag_id)
    try:
        conf = conf_from_form(target.specs, form)
        run = trigger_run(session, target, conf, user_name=name_of(user), from_ui=True)
    except (FormError, TriggerError) as exc:
        code = exc.status if isinstance(exc, TriggerError) else status.HTTP_400_BAD_REQUEST
        context = _context(request, user, target)
        fields = param_fields(target.specs, submitted=form)
        return render(
            "trigger.html", {**context, "fields": fields, "error": str(exc)}, status_code=code
        )
    quoted = quote(run.run_id, safe="")  # url_for leaves a run id's ":" and "+" as they are
    target_path = request.url_for("triggered_page", dag_id=dag_id, run_id=quoted).path
    return RedirectResponse(target_path, status_code=status.HTTP_303_SEE_OTHER)


@router.get("/flows/{dag_id}/runs/{run_id}", response_class=HTMLResponse, name="triggered_page")
def triggered_page(
    request: Request, dag_id: str, run_id: str, user: UserDep, session: SessionDep
) -> Response:
    """A run queued here: its state and conf, with its link into Airflow's grid.

    Seeing it needs only read access to the DAG, as seeing the run in Airflow does.
    """
    require_read(user, dag_id)
    target = _target(session, dag_id)
    try:
        run = triggered_run(session, dag_id, run_id)
    except TriggerError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    context = _context(request, user, target)
    link = run_link(context["airflow"], run)
    shown = {name: json.dumps(value, ensure_ascii=False) for name, value in run.conf.items()}
    return render(
        "trigger.html",
        {**context, "fields": [], "run": run, "run_link": link, "conf_shown": shown},
    )


@router.post("/api/flows/{dag_id}/trigger")
def trigger_api(
    dag_id: str, body: TriggerBody, user: ChangeUserDep, session: SessionDep
) -> dict[str, Any]:
    """Queue a run with ``conf``; answers ``{"dag_id", "run_id", "state"}``."""
    _require_trigger(user, dag_id)
    target = _target(session, dag_id)
    try:
        run = trigger_run(session, target, body.conf, user_name=name_of(user), from_ui=False)
    except TriggerError as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    return {"dag_id": run.dag_id, "run_id": run.run_id, "state": run.state}
