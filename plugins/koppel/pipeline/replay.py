"""Replay one inbound message now: every check again against today's master data, then deliver.

The inbox's "fix and import again" (``koppel replay ID``). It is the flow's
own process step narrowed to the one message (``process_pending(...,
message_ids=[id])``), then, for a file flow, the acknowledge step narrowed
the same way, so a replayed message goes exactly the way the next scheduled
run would take it, only now, with the user watching:

- a rejected or skipped message is put back to be processed first
  (:meth:`MessageStore.requeue`); a held or failed one is processed as it
  is, as every run retries those; a delivered one is left as it is (there
  is nothing left to deliver, and its recorded decisions stay);
- a message is decided once: one that already made outbound documents
  delivers those still pending, failed or refused by the target and sends
  none twice (each is stored once under its delivery key: the target file
  name, the order reference); only a rejection is decided again, its earlier
  answers to the sender (an order response with the reasons) staying as sent;
- a file that passes now while it lies in the error folder goes to the
  archive; one rejected again keeps its place there, with its report
  rewritten to today's problems.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from koppel.config import ConnectionConfig, Endpoint, FileEndpoint, FlowConfig
from koppel.errors import ConfigError, TransportError
from koppel.files import FileSession
from koppel.formats import FormatRegistry
from koppel.pipeline.acknowledge import acknowledge_batch, rewrite_report
from koppel.pipeline.catalogue import streams_catalogue
from koppel.pipeline.destinations import Destination
from koppel.pipeline.process import process_pending
from koppel.store import (
    TERMINAL,
    DeliveryAttempt,
    Direction,
    MasterDataStore,
    Message,
    MessageStatus,
    MessageStore,
    MessageSummary,
)
from koppel.store.schema import utc_now

OpenSession = Callable[[FileEndpoint], AbstractContextManager[FileSession]]


@dataclass(frozen=True)
class Replayed:
    """What a replay did: the message before and after, its outbound copies and what went out."""

    before: MessageSummary
    after: MessageSummary
    outbound: list[Message]
    sent: list[DeliveryAttempt] = field(default_factory=list)
    """The delivery attempts this replay made (none: nothing was sent now)."""
    taken: bool = False
    """Another run of the flow was processing the message, so this replay left it alone."""
    failure: str | None = None
    """Why delivery failed (the target could not be reached); the next run retries it."""
    unfiled: str | None = None
    """Why the inbound file could not be moved (its server is down); the next run moves it."""


def replay_now(
    store: MessageStore,
    master: MasterDataStore,
    formats: FormatRegistry,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    message_id: int,
    destination: Callable[[Endpoint], Destination],
    open_session: OpenSession,
    lookups: Mapping[str, Callable[..., Any]] | None = None,
) -> Replayed:
    """Process the inbound message ``message_id`` of ``flow`` now and acknowledge its file.

    Raises:
        ConfigError: the message is outbound, or the flow streams catalogues
            (their run takes every waiting catalogue at once; queue it instead).
    """
    before = store.get_summary(message_id)
    if before.direction is not Direction.IN:
        raise ConfigError(
            f"message {message_id} is outbound; replay its inbound message {before.parent_id}"
        )
    if streams_catalogue(flow):
        raise ConfigError(
            f"flow {flow.name} streams catalogues, which its runs take together: "
            f"queue message {message_id} with --queue"
        )
    if before.status is MessageStatus.DELIVERED:
        # Decided and delivered: processing it again would deliver nothing (each copy is
        # stored once under its delivery key) and only drop the decisions noted on it.
        return Replayed(before, before, _outbound(store, before))
    started = utc_now()
    run_id = f"replay__{message_id}__{started:%Y%m%dT%H%M%S.%f}"
    if before.status in TERMINAL:
        store.requeue(message_id)
    failure: str | None = None
    try:
        outcome = process_pending(
            store,
            master,
            formats,
            connection,
            flow,
            run_id=run_id,
            destination=destination,
            lookups=lookups,
            message_ids=[message_id],
        )
    except TransportError as exc:  # stored failed first: the next run retries the delivery
        failure = str(exc)
    else:
        if outcome.taken_by_others:
            current = store.get_summary(message_id)
            return Replayed(before, current, _outbound(store, current), taken=True)
    unfiled: str | None = None
    if isinstance(flow.source, FileEndpoint):
        try:
            opened = open_session(flow.source)
            _acknowledge(store, connection, flow, before, session_cm=opened, run_id=run_id)
        except TransportError as exc:  # the outcome is stored; the next run moves the file
            unfiled = str(exc)
    after = store.get_summary(message_id)
    outbound = _outbound(store, after)
    sent = [a for out in outbound for a in store.attempts(out.id) if a.started_at >= started]
    return Replayed(before, after, outbound, sent=sent, failure=failure, unfiled=unfiled)


def _acknowledge(
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    before: MessageSummary,
    *,
    session_cm: AbstractContextManager[FileSession],
    run_id: str,
) -> None:
    """The acknowledge step for the one message; a report in error/ rewritten if rejected again."""
    with session_cm as session:
        acknowledge_batch(session, store, connection, flow, run_id=run_id, message_ids=[before.id])
        after = store.get_summary(before.id)
        if after.status is MessageStatus.REJECTED and before.disposition == after.disposition:
            rewrite_report(session, after)


def _outbound(store: MessageStore, message: MessageSummary) -> list[Message]:
    """The outbound copies the message made, oldest first."""
    found = store.outputs_of(
        connection_id=message.connection_id, flow=message.flow, parent_ids=[message.id]
    )
    return list(found.get(message.id, []))
