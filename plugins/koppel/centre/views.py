"""What the pages and the JSON API show and do, as plain data: one message, edit, replay, overview.

The pages render these records with autoescaped templates and the API dumps
them as JSON; neither adds logic. Every change is :mod:`koppel.inbox`'s
(``edit``, ``replay``, ``describe``), the same functions the CLI runs.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from koppel.centre.airflow_state import DagState
from koppel.centre.queries import MessageQuery, runs_of, status_counts_of
from koppel.config import DAG_ID_SEPARATOR, ConnectionConfig, LoadResult
from koppel.documents import Problem, Severity
from koppel.store import DeliveryAttempt, Direction, Message, MessageStatus, MessageStore
from koppel.store.records import MessageEdit

#: The most messages one bulk replay takes.
BULK_REPLAY_CAP = 200


def dag_id_of(connection_id: str, flow: str) -> str:
    """The DAG id of a connection's flow, as the DAG factory names it."""
    return f"{connection_id}{DAG_ID_SEPARATOR}{flow}"


def flow_of_dag_id(dag_id: str) -> tuple[str, str] | None:
    """The ``(connection, flow)`` a DAG id names, None for a DAG that is not a Koppel flow.

    Flow names never hold the separator, so the last one splits the id.
    """
    connection_id, separator, flow = dag_id.rpartition(DAG_ID_SEPARATOR)
    return (connection_id, flow) if separator and connection_id and flow else None


@dataclass(frozen=True)
class Payload:
    """A payload as shown: its title, text (pretty when the hardened parser read it) and kind."""

    title: str
    text: str
    kind: str
    size: int


@dataclass(frozen=True)
class Output:
    """An outbound copy or reply the message made, with its delivery attempts."""

    message: Message
    role: str
    attempts: list[DeliveryAttempt]


@dataclass(frozen=True)
class MessageView:
    """Everything the message page shows of one message."""

    message: Message
    dag_id: str
    problems: list[Problem]
    decisions: list[Problem]
    payloads: list[Payload]
    document: str | None
    edits: list[MessageEdit]
    outputs: list[Output]
    attempts: list[DeliveryAttempt]
    run_ids: list[str]


def message_view(store: MessageStore, message_id: int) -> MessageView:
    """Gather one message, its payload(s), problems, edits, outputs and the runs that touched it.

    Raises:
        StoreError: no message has this id.
    """
    message = store.get(message_id)
    outputs: list[Output] = []
    edits: list[MessageEdit] = []
    attempts: list[DeliveryAttempt] = []
    if message.direction is Direction.IN:
        edits = store.edits(message_id)
        made = store.outputs_of(
            connection_id=message.connection_id, flow=message.flow, parent_ids=[message.id]
        ).get(message.id, [])
        outputs = [Output(out, role_of(out), store.attempts(out.id)) for out in made]
    else:
        attempts = store.attempts(message_id)
    payloads = []
    if message.edit_id is not None:
        payloads.append(
            _payload("payload as received", store.received_payload(message_id), message)
        )
        payloads.append(
            _payload(f"payload of edit {message.edit_id} (processed)", message.payload, message)
        )
    else:
        payloads.append(_payload("payload", message.payload, message))
    return MessageView(
        message=message,
        dag_id=dag_id_of(message.connection_id, message.flow),
        problems=[p for p in message.problems if p.severity is not Severity.INFO],
        decisions=[p for p in message.problems if p.severity is Severity.INFO],
        payloads=payloads,
        document=None
        if message.document is None
        else json.dumps(message.document, indent=2, ensure_ascii=False),
        edits=edits,
        outputs=outputs,
        attempts=attempts,
        run_ids=runs_of(store, message_id),
    )


#: How ``koppel.pipeline.replay.replay_now`` names the run of a replay: not an Airflow run.
REPLAY_RUN_PREFIX = "replay__"


def is_airflow_run(run_id: str) -> bool:
    """Whether a run id names a DAG run in Airflow (else a replay, from here or the CLI)."""
    return not run_id.startswith(REPLAY_RUN_PREFIX)


def role_of(out: Message) -> str:
    """What an outbound copy is: ``target``, ``reply``, or a reply answering a rejection."""
    from koppel.pipeline.delivery import is_rejection_reply

    role = out.source_name.split(":", 1)[0]
    return f"{role} (answer to a rejection)" if is_rejection_reply(out) else role


def _payload(title: str, payload: bytes, message: Message) -> Payload:
    from koppel.inbox import pretty

    if not payload and message.size_bytes:
        text = f"{message.size_bytes:,} bytes streamed in chunks (a catalogue), not shown"
        return Payload(title, text, "not shown", message.size_bytes)
    text, kind = pretty(payload, source=posixpath.basename(message.source_name))
    return Payload(title, text, kind, len(payload))


def editable_text(message: Message) -> str:
    """The payload as the edit form offers it: the bytes processing reads, decoded."""
    return message.payload.decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True)
class ReplayOutcome:
    """What one replay did: the message, whether it passed, and ``koppel replay``'s lines."""

    message_id: int
    passed: bool
    status: str | None
    lines: list[str]
    error: str | None = None


def replay_one(store: MessageStore, message_id: int, *, flows: Path) -> ReplayOutcome:
    """Replay a message now (``koppel.inbox.replay``) and describe the outcome.

    Raises:
        ConfigError: the message cannot be replayed (outbound, its flow gone).
        StoreError: no message has this id.
    """
    from koppel.inbox import describe, passed, replay

    flow, replayed = replay(store, message_id, flows=flows)
    return ReplayOutcome(
        message_id=message_id,
        passed=passed(replayed),
        status=replayed.after.status.value,
        lines=list(describe(flow, replayed)),
    )


def replay_many(store: MessageStore, message_ids: list[int], *, flows: Path) -> list[ReplayOutcome]:
    """Replay each message in turn; one that cannot be replayed is reported, not fatal."""
    from koppel.errors import KoppelError

    outcomes = []
    for message_id in message_ids[:BULK_REPLAY_CAP]:
        try:
            outcomes.append(replay_one(store, message_id, flows=flows))
        except KoppelError as exc:
            outcomes.append(ReplayOutcome(message_id, False, None, [], error=str(exc)))
    return outcomes


@dataclass(frozen=True)
class FlowRow:
    """One flow on the overview: its DAG as Airflow knows it and its messages' counts."""

    connection: ConnectionConfig
    flow: str
    description: str
    dag_id: str
    schedule: str | None
    state: DagState
    day: dict[MessageStatus, int]
    week: dict[MessageStatus, int]
    week_since: datetime

    def link(self, status: MessageStatus) -> dict[str, str]:
        """The list's filters showing this flow's messages of the last week in ``status``."""
        return MessageQuery(
            connection=self.connection.id, flow=self.flow, status=status, since=self.week_since
        ).params()


@dataclass(frozen=True)
class Overview:
    """Every connection's flows, and the connection files that did not load."""

    rows: list[FlowRow]
    errors: list[str] = field(default_factory=list)


def overview(
    store: MessageStore,
    loaded: LoadResult,
    states: dict[str, DagState],
    *,
    visible: Callable[[str], bool],
    now: datetime | None = None,
) -> Overview:
    """The overview's rows for every loaded flow whose DAG ``visible(dag_id)`` allows."""
    moment = now or datetime.now(UTC)
    week_since = moment - timedelta(days=7)
    day = status_counts_of(store, since=moment - timedelta(days=1))
    week = status_counts_of(store, since=week_since)
    rows = []
    for connection in loaded.connections:
        for name, flow in connection.flows.items():
            dag_id = dag_id_of(connection.id, name)
            if not visible(dag_id):
                continue
            rows.append(
                FlowRow(
                    connection=connection,
                    flow=name,
                    description=flow.description,
                    dag_id=dag_id,
                    schedule=flow.schedule,
                    state=states.get(dag_id) or DagState(dag_id=dag_id, known=False),
                    day=day.get((connection.id, name), {}),
                    week=week.get((connection.id, name), {}),
                    week_since=week_since,
                )
            )
    return Overview(rows=rows, errors=[str(e) for e in loaded.errors])


def flow_ids(loaded: LoadResult) -> list[str]:
    """Every DAG id the loaded connection files make."""
    return [dag_id_of(c.id, name) for c in loaded.connections for name in c.flows]
