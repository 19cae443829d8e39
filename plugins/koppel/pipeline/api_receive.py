"""Step 1 of an API flow: store every page (or record) an API returned before anything reads it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from koppel.config import ConnectionConfig, FlowConfig
from koppel.faults import failpoint
from koppel.pipeline.outcome import ReceiveOutcome
from koppel.store import MessageStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """One answer of an API: what to call it in the store, and its bytes exactly as received."""

    name: str
    payload: bytes


def page_name(operation: str, since: datetime, until: datetime, number: int) -> str:
    """A page's name says which question it answered, so the same answer is stored once."""
    return f"{operation}?since={since.isoformat()}&until={until.isoformat()}&page={number}"


def receive_answers(
    answers: Iterable[Received],
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    run_id: str,
) -> ReceiveOutcome:
    """Store each answer as a message; an identical answer to the same question is stored once."""
    outcome = ReceiveOutcome()
    for answer in answers:
        receipt = store.receive(
            connection_id=connection.id,
            flow=flow.name,
            source_name=answer.name,
            payload=answer.payload,
            run_id=run_id,
        )
        failpoint("receive.stored")
        if receipt.created:
            outcome.received += 1
            outcome.message_ids.append(receipt.message_id)
        else:
            outcome.duplicates += 1
    log.info(
        "%s__%s: %d new answer(s), %d already stored",
        connection.id,
        flow.name,
        outcome.received,
        outcome.duplicates,
    )
    return outcome
