"""The centre's JSON API under ``/koppel/api``: the pages' data and actions for scripts.

Same login and permissions as the pages. A POST needs the CSRF token of
``GET /api/csrf`` in the ``X-CSRF-Token`` header and a same-site ``Origin``
(or ``Referer``), like the pages' forms: the api-server's ``_token`` cookie
would otherwise let any site a user visits post here in their name.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from koppel.centre.auth import ChangeUserDep, ReadableDep, UserDep, csrf_token, require_read
from koppel.centre.queries import page_of, query_from
from koppel.centre.stores import StoreDep
from koppel.centre.views import BULK_REPLAY_CAP, MessageView, ReplayOutcome, message_view
from koppel.store import Message, MessageSummary
from koppel.store.records import DeliveryAttempt, MessageEdit

router = APIRouter(prefix="/api")

#: The most messages one list request returns.
MAX_LIMIT = 200


class EditBody(BaseModel):
    """A corrected copy of a payload, as text (UTF-8) or base64 for binary payloads."""

    payload: str | None = None
    payload_base64: str | None = None


class BulkReplayBody(BaseModel):
    """The list's filters: every inbound message they keep is replayed (at most the cap)."""

    filters: dict[str, str] = Field(default_factory=dict)


@router.get("/csrf")
def csrf(user: UserDep) -> dict[str, str]:
    """The CSRF token this user's POSTs carry in ``X-CSRF-Token``."""
    return {"csrf_token": csrf_token(user), "header": "X-CSRF-Token"}


@router.get("/messages")
def list_messages(
    request: Request,
    user: UserDep,
    store: StoreDep,
    readable: ReadableDep,
    *,
    before: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """A page of messages matching the query-string filters, newest first, of DAGs one may see."""
    try:
        query = query_from(request.query_params)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad filter: {exc}") from exc
    page = page_of(
        store, query, limit=max(1, min(limit, MAX_LIMIT)), before_id=before, flows=readable
    )
    return {
        "items": [summary_json(m) for m in page.items],
        "next_before_id": page.next_before_id,
        "total": page.total,
        "filters": query.params(),
    }


@router.get("/messages/{message_id}")
def get_message(message_id: int, user: UserDep, store: StoreDep) -> dict[str, Any]:
    """One message with its payloads, problems, decisions, edits, outputs and runs."""
    from koppel.errors import StoreError

    try:
        view = message_view(store, message_id)
    except StoreError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {message_id}") from exc
    require_read(user, view.dag_id)
    return view_json(view)


@router.post("/messages/{message_id}/edit")
def edit_message(
    message_id: int, body: EditBody, user: ChangeUserDep, store: StoreDep
) -> dict[str, Any]:
    """Store a corrected copy; ``edit`` is null when it equals what the message holds."""
    from koppel.centre.actions import store_edit

    if (body.payload is None) == (body.payload_base64 is None):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "give payload or payload_base64")
    payload = (
        body.payload.encode("utf-8")
        if body.payload is not None
        else base64.b64decode(body.payload_base64 or "", validate=True)
    )
    stored = store_edit(store, message_id, payload, user=user)
    return {"message_id": message_id, "edit": None if stored is None else edit_json(stored)}


@router.post("/messages/{message_id}/replay")
def replay_message(message_id: int, user: ChangeUserDep, store: StoreDep) -> dict[str, Any]:
    """Replay the message now; the outcome as ``koppel replay`` prints it."""
    from koppel.centre.actions import replay_checked

    return outcome_json(replay_checked(store, message_id, user=user))


@router.post("/messages/replay")
def bulk_replay_messages(
    body: BulkReplayBody, user: ChangeUserDep, store: StoreDep, readable: ReadableDep
) -> dict[str, Any]:
    """Replay each inbound message the filters keep (oldest first, at most the cap)."""
    from koppel.centre.actions import bulk_replay

    try:
        query = query_from(body.filters)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad filter: {exc}") from exc
    outcomes, capped = bulk_replay(store, query, user=user, flows=readable)
    return {
        "outcomes": [outcome_json(o) for o in outcomes],
        "capped": capped,
        "cap": BULK_REPLAY_CAP,
    }


def summary_json(message: MessageSummary) -> dict[str, Any]:
    """A message's listing fields as JSON."""
    return {
        "id": message.id,
        "connection_id": message.connection_id,
        "flow": message.flow,
        "direction": message.direction.value,
        "status": message.status.value,
        "source_name": message.source_name,
        "target_name": message.target_name,
        "document_key": message.document_key,
        "size_bytes": message.size_bytes,
        "checksum": message.checksum,
        "parent_id": message.parent_id,
        "disposition": message.disposition,
        "run_id": message.run_id,
        "created_at": message.created_at.isoformat(),
        "updated_at": message.updated_at.isoformat(),
        "problems": [p.model_dump(mode="json") for p in message.problems],
    }


def edit_json(edit: MessageEdit) -> dict[str, Any]:
    """An edit: who, when, checksums and the diff (the payload is the message's)."""
    return {
        "id": edit.id,
        "edited_by": edit.edited_by,
        "edited_at": edit.edited_at.isoformat(),
        "original_checksum": edit.original_checksum,
        "checksum": edit.checksum,
        "diff": edit.diff,
    }


def attempt_json(attempt: DeliveryAttempt) -> dict[str, Any]:
    """One delivery attempt."""
    return {
        "attempt_no": attempt.attempt_no,
        "target": attempt.target,
        "outcome": attempt.outcome.value,
        "error": attempt.error,
        "started_at": attempt.started_at.isoformat(),
        "finished_at": attempt.finished_at.isoformat(),
    }


def _message_json(message: Message) -> dict[str, Any]:
    return {**summary_json(message), "edit_id": message.edit_id}


def view_json(view: MessageView) -> dict[str, Any]:
    """Everything the message page shows, as JSON (payloads as their display text)."""
    return {
        "message": _message_json(view.message),
        "dag_id": view.dag_id,
        "problems": [p.model_dump(mode="json") for p in view.problems],
        "decisions": [p.model_dump(mode="json") for p in view.decisions],
        "payloads": [
            {"title": p.title, "kind": p.kind, "size": p.size, "text": p.text}
            for p in view.payloads
        ],
        "document": view.document,
        "edits": [edit_json(e) for e in view.edits],
        "outputs": [
            {
                "message": _message_json(o.message),
                "role": o.role,
                "attempts": [attempt_json(a) for a in o.attempts],
            }
            for o in view.outputs
        ],
        "attempts": [attempt_json(a) for a in view.attempts],
        "run_ids": view.run_ids,
    }


def outcome_json(outcome: ReplayOutcome) -> dict[str, Any]:
    """One replay's outcome."""
    return {
        "message_id": outcome.message_id,
        "passed": outcome.passed,
        "status": outcome.status,
        "lines": outcome.lines,
        "error": outcome.error,
    }
