"""The centre's HTML pages: overview, message list, one message, edit and replay.

Server-rendered with Jinja2 and autoescaping on; nothing a partner wrote is
ever marked safe. Every route needs an Airflow login; the POSTs pass the
CSRF and origin checks (:func:`koppel.centre.auth.require_csrf`) and need
permission to trigger the message's DAG.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from koppel.centre.airflow_state import dag_states
from koppel.centre.auth import (
    CSRF_FIELD,
    ChangeUserDep,
    ReadableDep,
    UserDep,
    can_change,
    can_read,
    csrf_token,
    require_change,
    require_read,
)
from koppel.centre.queries import MessageQuery, page_of, query_from
from koppel.centre.rendering import render
from koppel.centre.stores import StoreDep, flows_dir
from koppel.centre.views import (
    BULK_REPLAY_CAP,
    MessageView,
    editable_text,
    flow_ids,
    message_view,
    overview,
)
from koppel.store import MessageStatus, MessageStore

#: Messages per page of the list.
PAGE_SIZE = 50

router = APIRouter()


def _common(request: Request, user: BaseUser) -> dict[str, Any]:
    """What every page's template needs: the user, their CSRF token, Airflow's UI base."""
    from koppel.operators.base import PROCESS_TASK

    return {
        "process_task": PROCESS_TASK,
        "request": request,
        "user_name": str(user.get_name()),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(user),
        "airflow": airflow_base(request),
        "held": MessageStatus.HELD,
        "rejected": MessageStatus.REJECTED,
        "statuses": [s.value for s in MessageStatus],
    }


def airflow_base(request: Request) -> str:
    """The path Airflow's own UI lives under: the centre's mount point without ``/koppel``."""
    root = str(request.scope.get("root_path", ""))
    return root.removesuffix("/koppel")


def _query(request: Request) -> MessageQuery:
    try:
        return query_from(request.query_params)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad filter: {exc}") from exc


@router.get("/", response_class=HTMLResponse, name="overview_page")
def overview_page(
    request: Request, user: UserDep, store: StoreDep, session: SessionDep
) -> Response:
    """Every connection and flow: its DAG's state, message counts, links to the list and Airflow."""
    from koppel.config import load_all

    loaded = load_all(flows_dir())
    states = dag_states(session, flow_ids(loaded))
    data = overview(store, loaded, states, visible=lambda dag_id: can_read(user, dag_id))
    return render(
        "overview.html",
        {
            **_common(request, user),
            "overview": data,
            "may_trigger": lambda dag_id: can_change(user, dag_id),
        },
    )


@router.get("/messages", response_class=HTMLResponse, name="messages_page")
def messages_page(
    request: Request,
    user: UserDep,
    store: StoreDep,
    readable: ReadableDep,
    before: int | None = None,
) -> Response:
    """A page of 50 messages matching the filters, newest first, with the total and next link.

    Only messages of flows whose DAGs the user may see are listed and counted.
    """
    query = _query(request)
    page = page_of(store, query, limit=PAGE_SIZE, before_id=before, flows=readable)
    return render(
        "messages.html",
        {
            **_common(request, user),
            "query": query,
            "params": query.params(),
            "page": page,
            "bulk_cap": BULK_REPLAY_CAP,
        },
    )


@router.get("/messages/{message_id}", response_class=HTMLResponse, name="message_page")
def message_page(request: Request, message_id: int, user: UserDep, store: StoreDep) -> Response:
    """One message: header, problems and decisions, edits, outputs, payload, document, runs."""
    view = _view(store, message_id)
    require_read(user, view.dag_id)
    return render(
        "message.html",
        {**_common(request, user), "view": view, "may_change": can_change(user, view.dag_id)},
    )


def _view(store: MessageStore, message_id: int) -> MessageView:
    from koppel.errors import StoreError

    try:
        return message_view(store, message_id)
    except StoreError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {message_id}") from exc


@router.get("/messages/{message_id}/edit", response_class=HTMLResponse, name="edit_page")
def edit_page(request: Request, message_id: int, user: UserDep, store: StoreDep) -> Response:
    """The edit form: a copy of the payload processing reads, to correct and store."""
    view = _view(store, message_id)
    require_change(user, view.dag_id)
    return render(
        "edit.html",
        {**_common(request, user), "view": view, "text": editable_text(view.message)},
    )


@router.post("/messages/{message_id}/edit", name="edit_action")
async def edit_action(
    request: Request, message_id: int, user: ChangeUserDep, store: StoreDep
) -> Response:
    """Store the corrected copy (the original kept, who/when/diff recorded), back to the message."""
    from koppel.centre.actions import store_edit

    form = await request.form()
    payload = form.get("payload")
    if not isinstance(payload, str):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "no payload in the form")
    store_edit(store, message_id, payload.encode("utf-8"), user=user)
    target = request.url_for("message_page", message_id=message_id).path
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/messages/{message_id}/replay", response_class=HTMLResponse, name="replay_action")
def replay_action(
    request: Request, message_id: int, user: ChangeUserDep, store: StoreDep
) -> Response:
    """Replay the message now and show what happened."""
    from koppel.centre.actions import replay_checked

    outcome = replay_checked(store, message_id, user=user)
    return render(
        "replayed.html", {**_common(request, user), "outcomes": [outcome], "capped": False}
    )


@router.post("/messages/replay", response_class=HTMLResponse, name="bulk_replay_action")
async def bulk_replay_action(
    request: Request, user: ChangeUserDep, store: StoreDep, readable: ReadableDep
) -> Response:
    """Replay every inbound message the posted filters keep (at most the cap), each reported."""
    form = await request.form()
    try:
        query = query_from({k: v for k, v in form.items() if isinstance(v, str)})
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad filter: {exc}") from exc
    from koppel.centre.actions import bulk_replay

    outcomes, capped = bulk_replay(store, query, user=user, flows=readable)
    return render(
        "replayed.html", {**_common(request, user), "outcomes": outcomes, "capped": capped}
    )
