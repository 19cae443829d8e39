"""Step 2: parse, validate, apply rules, map, validate the output, and deliver each stored message.

A message is decided once: its outbound documents are stored before the first
one is delivered, so a rerun after a crash delivers what was decided instead
of deciding again (stock may have changed in between).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from koppel.config import (
    ApiEndpoint,
    ConnectionConfig,
    Endpoint,
    FileEndpoint,
    FlowConfig,
    SqlEndpoint,
)
from koppel.documents import CanonicalModel, Problem, Severity, has_errors
from koppel.documents.keys import document_key
from koppel.errors import FatalSyncError
from koppel.faults import failpoint
from koppel.formats import DocumentWriteError, FormatRegistry
from koppel.pipeline.catalogue import process_catalogues, streams_catalogue
from koppel.pipeline.context import delivery_context, target_filename
from koppel.pipeline.delivery import (
    DELIVERY_FAILED,
    Decision,
    deliver_many,
    drop_unchanged,
    is_rejection_reply,
    store_decision,
)
from koppel.pipeline.destinations import Destination
from koppel.pipeline.outcome import ProcessOutcome
from koppel.pipeline.rule_types import RuleContext
from koppel.pipeline.rules import apply_rules
from koppel.pipeline.run import FlowRun, Outbound
from koppel.store import (
    TO_PROCESS,
    Direction,
    MasterDataStore,
    Message,
    MessageStatus,
    MessageStore,
)
from koppel.store.repository import MasterDataChange

log = logging.getLogger(__name__)

#: Decisions on a delivered message a user asks about ("why was this line not shipped?").
_DECISIONS_WORTH_NAMING = frozenset(
    {
        "backorder.line_removed",
        "backorder.line_without_sku",
        "backorder.order_cancelled",
        "stock.unknown_passed",
        "delivery.already_exported",
    }
)


def process_pending(
    store: MessageStore,
    master: MasterDataStore,
    formats: FormatRegistry,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    run_id: str,
    destination: Callable[[Endpoint], Destination],
    resend: bool = False,
    lookups: Mapping[str, Callable[..., Any]] | None = None,
    message_ids: Sequence[int] | None = None,
) -> ProcessOutcome:
    """Process every inbound message of the flow that has not reached a final state.

    ``message_ids`` narrows the run to those messages (a replay of one message
    now); the others wait for the flow's next run.

    One message's problems never stop the others. A transport failure while
    delivering stops the batch (the target is likely down for all of them):
    the message is marked failed and the error is raised after its state is
    stored, so the task retries and the next run resumes.

    Each message is claimed before it is touched and released after, so runs
    of one flow working at once (a backfill beside the schedule) share the
    work instead of doing it twice; the outcome counts only what this run did.
    """
    if streams_catalogue(flow):  # records streamed, the changed ones sent in batch files
        return process_catalogues(
            store,
            master,
            formats,
            connection,
            flow,
            run_id=run_id,
            destination=destination,
            resend=resend,
            lookups=lookups,
        )
    outcome = ProcessOutcome()
    run = FlowRun(
        store, master, formats, connection, flow, run_id, destination, resend, lookups or {}
    )
    candidates = store.candidate_ids(
        connection_id=connection.id, flow=flow.name, direction=Direction.IN, statuses=TO_PROCESS
    )
    if message_ids is not None:
        wanted = set(message_ids)
        candidates = [c for c in candidates if c in wanted]
    for start in range(0, len(candidates), CHUNK_MESSAGES):
        chunk = candidates[start : start + CHUNK_MESSAGES]
        claimed = store.claim_many(
            chunk, run_id=run_id, statuses=TO_PROCESS, lease_seconds=flow.claim_seconds
        )
        outcome.taken_by_others += len(chunk) - len(claimed)
        if not claimed:
            continue
        try:
            finished = _process_chunk(run, claimed)
        finally:
            store.release_many(claimed, run_id=run_id)
        for message, status, problems in finished:
            outcome.count(status, message.id)
            _log_decision(message, status, problems)
    return outcome


#: Messages claimed, read, delivered and finished together. A chunk costs a handful
#: of transactions and two pipelined file batches, and bounds what is held in memory.
CHUNK_MESSAGES = 100


def _process_chunk(
    run: FlowRun, message_ids: list[int]
) -> list[tuple[Message, MessageStatus, list[Problem]]]:
    """Decide each claimed message in turn, then deliver what the chunk decided together.

    Deciding stays one message at a time, each stored in its own transactions:
    a rule's master-data changes (stock reserved by one order) must be in
    place before the next message is decided.
    """
    messages = run.store.get_many(message_ids)
    earlier = run.store.outputs_of(
        connection_id=run.connection.id, flow=run.flow.name, parent_ids=message_ids
    )
    finished: list[tuple[Message, MessageStatus, list[Problem]]] = []
    decisions: list[Decision] = []
    for message in messages:
        made = earlier.get(message.id, [])
        decided = _interrupted_decision(message, made)
        if decided:  # decided by an interrupted run: deliver that, do not decide again
            notes = [p for p in message.problems if p.code != DELIVERY_FAILED]
            decisions.append(Decision(message, decided, notes))
            continue
        result = _decide(run, message, rejections=sum(map(is_rejection_reply, made)))
        if isinstance(result, Decision):
            decisions.append(result)
        else:
            finished.append(result)
    return finished + deliver_many(run, decisions)


def _interrupted_decision(message: Message, made: list[Message]) -> list[Message]:
    """The outbound copies an interrupted run decided for the message, to deliver as they are.

    A message is decided once, except a rejection: the answer a rejection sent
    (an order response saying why) is no decision about the order. A replay
    clears the message's problems and puts it back, and then it is checked
    again against today's master data; while its problems still hold the
    errors, the run that rejected it was cut short and its answer is delivered.
    """
    if made and all(is_rejection_reply(out) for out in made) and not has_errors(message.problems):
        return []
    return made


def _log_decision(message: Message, status: MessageStatus, problems: list[Problem]) -> None:
    """Name in the task log each document held, rejected or cut back, and why."""
    if status not in {MessageStatus.HELD, MessageStatus.REJECTED, MessageStatus.DELIVERED}:
        return
    what = f"message {message.id} ({message.document_key or message.source_name})"
    if status is MessageStatus.DELIVERED:
        for note in problems:
            if note.code in _DECISIONS_WORTH_NAMING:
                log.info("%s: %s", what, note.message)
        return
    reasons = [p for p in problems if p.severity is not Severity.INFO] or problems
    reason = reasons[0].message if reasons else "no reason recorded"
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    log.warning("%s %s: %s%s", what, status.value, reason, more)


def _decide(
    run: FlowRun, message: Message, *, rejections: int = 0
) -> Decision | tuple[Message, MessageStatus, list[Problem]]:
    """Read, check and map one message; store the outcome, or what is to be delivered.

    Returns the final status of a message held or rejected, or the stored
    outbound copies to deliver (every one stored before the first is delivered).
    A rejection whose rules answer the sender (an SCSN order response with the
    reasons) is stored with that answer and delivered like any decision; the
    message still ends rejected. ``rejections`` counts the answers earlier
    rejections of this message sent, so a new answer gets a new id.
    """
    documents, problems = _read(run.formats, run.flow, message)
    outbound: list[Outbound] = []
    commits: list[MasterDataChange] = []
    answers: list[CanonicalModel] = []
    keys = _message_key(documents)
    if not has_errors(problems):
        ctx = RuleContext(
            run.connection, run.flow, message, run.master, run.lookups, rejections=rejections
        )
        result = apply_rules(run.flow.rules, documents, ctx)
        if result.hold:
            problems += result.notes
            run.store.update(
                message.id,
                status=MessageStatus.HELD,
                problems=problems,
                document=[d.model_dump(mode="json") for d in documents],
                document_key=keys,
                run_id=run.run_id,
            )
            run.store.release(message.id, run_id=run.run_id)  # done with it for this run
            return _named(message, keys), MessageStatus.HELD, problems
        problems += result.notes
        commits = result.commits
        answers = result.rejection_reply
        for role, docs in (("target", result.target), ("reply", result.reply)):
            mapped, map_problems = _map(run, role, docs, message)
            outbound += mapped
            problems += map_problems
    dumped = [d.model_dump(mode="json") for d in documents] or None
    if has_errors(problems) and answers:
        mapped, map_problems = _map(run, "reply", answers, message)
        problems += map_problems
        if mapped:
            return _reject_with_answer(
                run, message, mapped, problems=problems, document=dumped, keys=keys
            )
    if has_errors(problems):
        run.store.update(
            message.id,
            status=MessageStatus.REJECTED,
            problems=problems,
            document=dumped,
            document_key=keys,
            run_id=run.run_id,
        )
        run.store.release(message.id, run_id=run.run_id)  # the acknowledge step takes it up
        return _named(message, keys), MessageStatus.REJECTED, problems
    outbound, unchanged = drop_unchanged(run, outbound)
    problems += unchanged
    stored, duplicates = store_decision(
        run,
        message,
        outbound,
        problems=problems,
        document=dumped,
        document_key=keys,
        changes=commits,
    )
    failpoint("process.decided")
    return Decision(_named(message, keys), stored, problems + duplicates)


def _reject_with_answer(
    run: FlowRun,
    message: Message,
    answers: list[Outbound],
    *,
    problems: list[Problem],
    document: Any,
    keys: str | None,
) -> Decision:
    """Store a rejection with its answers to the sender, delivered before the message ends rejected.

    The answers are stored as rejection replies (their delivery key says so),
    and no master-data change is made: nothing was accepted.
    """
    stored, duplicates = store_decision(
        run,
        message,
        answers,
        problems=problems,
        document=document,
        document_key=keys,
        rejection=True,
    )
    failpoint("process.decided")
    return Decision(_named(message, keys), stored, problems + duplicates)


def _named(message: Message, keys: str | None) -> Message:
    """The message as the log names it: by its documents' keys once they are known."""
    return replace(message, document_key=keys) if keys else message


def _message_key(documents: list[CanonicalModel], shown: int = 5) -> str | None:
    """What a user searches the message by: its documents' keys, a few of them for a big batch."""
    keys = [k for k in (document_key(d) for d in documents) if k]
    if len(keys) > shown:
        return ",".join(keys[:shown]) + f" (+{len(keys) - shown} more)"
    return ",".join(keys) or None


def _read(
    formats: FormatRegistry, flow: FlowConfig, message: Message
) -> tuple[list[CanonicalModel], list[Problem]]:
    """Parse and validate the raw payload with the source format; keep any earlier problems.

    Earlier errors are kept (a file refused on receipt stays refused), except on
    a held message: they are the last check's reasons to wait (a product the
    target did not know yet), and it is checked again against today's data.
    """
    if has_errors(message.problems) and message.status is not MessageStatus.HELD:
        return [], list(message.problems)
    result = formats.get(flow.source.format).read(
        message.payload,
        source=posixpath.basename(message.source_name),
        max_bytes=flow.max_file_bytes,
    )
    if not result.documents and not has_errors(result.problems):
        if isinstance(flow.source, ApiEndpoint):
            return [], list(result.problems)  # an API page with nothing new is an answer too
        empty = Problem(code="document.empty", message="the file holds no documents")
        return [], [*result.problems, empty]
    return list(result.documents), list(result.problems)


def _map(
    run: FlowRun, role: str, documents: list[CanonicalModel], message: Message
) -> tuple[list[Outbound], list[Problem]]:
    """Write documents in the endpoint's format and check them against its schema.

    A batch format (a full stock update) gets one file holding every document,
    named after the inbound file; any other format one file per document.
    Output that fails the schema is a mapping fault, caught before anything leaves.
    """
    if not documents:
        return [], []
    endpoint = run.endpoint(role)
    fmt = run.formats.get(endpoint.format)
    groups: list[tuple[CanonicalModel, ...]]
    groups = [tuple(documents)] if fmt.writes_batches else [(d,) for d in documents]
    outbound: list[Outbound] = []
    problems: list[Problem] = []
    for docs in groups:
        context, context_problems = delivery_context(run.connection, run.flow, docs[0])
        problems += context_problems
        if context_problems:
            continue
        try:
            target = _target_name(run, endpoint, docs, message)
        except FatalSyncError as exc:
            problems.append(Problem(code="delivery.target", message=str(exc)))
            continue
        try:
            payload = (
                fmt.write_many(docs, context=context)
                if fmt.writes_batches
                else fmt.write(docs[0], context=context)
            )
        except DocumentWriteError as exc:
            problems += exc.problems
            continue
        problems += [
            p.model_copy(
                update={"code": f"output.{p.code}", "message": f"output invalid: {p.message}"}
            )
            for p in fmt.validate(payload, source=posixpath.basename(target))
        ]
        outbound.append(Outbound(role, target, payload, docs))
    return outbound, problems


def _target_name(
    run: FlowRun, endpoint: Endpoint, docs: tuple[CanonicalModel, ...], message: Message
) -> str:
    """Where a payload goes: a file path, an HTTP resource, a SOAP operation or a table, and key.

    A batch (a full stock update in one file) is named after the inbound file.
    """
    if isinstance(endpoint, FileEndpoint):
        key = PurePosixPath(message.source_name).stem if len(docs) > 1 else document_key(docs[0])
        return posixpath.join(endpoint.folder, target_filename(endpoint, key, message.id, run.flow))
    if isinstance(endpoint, SqlEndpoint):
        return f"{endpoint.table}/{document_key(docs[0]) or message.id}"
    if endpoint.transport == "http":
        return endpoint.render_resource(docs[0].model_dump(mode="json"))
    return f"{endpoint.operation}/{document_key(docs[0]) or message.id}"
