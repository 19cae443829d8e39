"""The centre's changes, checked: permission first, then ``koppel.inbox``, errors as HTTP answers.

Shared by the pages and the JSON API so both refuse and report alike:
403 without permission to trigger the message's DAG, 404 for no such
message, 409 when the inbox refuses (an outbound or already decided message,
a copy too large, another edit stored meanwhile).
"""

from __future__ import annotations

from dataclasses import replace

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from fastapi import HTTPException, status

from koppel.centre.auth import can_change, require_change, user_name
from koppel.centre.queries import MessageQuery, page_of
from koppel.centre.stores import flows_dir
from koppel.centre.views import (
    BULK_REPLAY_CAP,
    ReplayOutcome,
    dag_id_of,
    replay_many,
    replay_one,
)
from koppel.store import Direction, MessageStore
from koppel.store.records import MessageEdit


def _dag_id(store: MessageStore, message_id: int) -> str:
    from koppel.errors import StoreError

    try:
        summary = store.get_summary(message_id)
    except StoreError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {message_id}") from exc
    return dag_id_of(summary.connection_id, summary.flow)


def store_edit(
    store: MessageStore, message_id: int, payload: bytes, *, user: BaseUser
) -> MessageEdit | None:
    """Store a corrected copy under the user's name (``koppel.inbox.edit``); None: unchanged.

    Raises:
        HTTPException: 403, 404 or 409 as the module says.
    """
    from koppel.errors import KoppelError
    from koppel.inbox import edit

    require_change(user, _dag_id(store, message_id))
    try:
        return edit(store, message_id, payload, edited_by=user_name(user), flows=flows_dir())
    except KoppelError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def replay_checked(store: MessageStore, message_id: int, *, user: BaseUser) -> ReplayOutcome:
    """Replay a message now, if the user may, and describe the outcome.

    Raises:
        HTTPException: 403, 404 or 409 as the module says.
    """
    from koppel.errors import KoppelError

    require_change(user, _dag_id(store, message_id))
    try:
        return replay_one(store, message_id, flows=flows_dir())
    except KoppelError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def bulk_replay(
    store: MessageStore,
    query: MessageQuery,
    *,
    user: BaseUser,
    flows: frozenset[tuple[str, str]] | None = None,
) -> tuple[list[ReplayOutcome], bool]:
    """Replay the inbound messages ``query`` keeps, oldest first, at most :data:`BULK_REPLAY_CAP`.

    Only messages of ``flows`` (the flows the user may see; None: all) are taken.

    A message whose DAG the user may not trigger is reported as refused, not
    replayed. Returns the outcomes and whether more matched than the cap.
    """
    inbound = replace(query, direction=Direction.IN)
    page = page_of(store, inbound, limit=BULK_REPLAY_CAP, flows=flows)
    allowed: list[int] = []
    refused: list[ReplayOutcome] = []
    for item in reversed(page.items):
        dag_id = dag_id_of(item.connection_id, item.flow)
        if can_change(user, dag_id):
            allowed.append(item.id)
        else:
            refused.append(
                ReplayOutcome(
                    item.id, False, None, [], error=f"not allowed to trigger DAG {dag_id}"
                )
            )
    capped = page.next_before_id is not None
    return replay_many(store, allowed, flows=flows_dir()) + refused, capped
