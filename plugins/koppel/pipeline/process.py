"""Step 2: parse, validate, apply rules, map, validate the output, and deliver each stored message.

A message is decided once: its outbound documents are stored before the first
one is delivered, so a rerun after a crash delivers what was decided instead
of deciding again (stock may have changed in between).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from koppel.config import ApiEndpoint, ConnectionConfig, Endpoint, FileEndpoint, FlowConfig
from koppel.documents import CanonicalModel, Problem, Severity, has_errors
from koppel.documents.keys import document_key
from koppel.errors import FatalSyncError
from koppel.faults import failpoint
from koppel.formats import DocumentWriteError, FormatRegistry
from koppel.pipeline.catalogue import process_catalogues, streams_catalogue
from koppel.pipeline.context import delivery_context, target_filename
from koppel.pipeline.delivery import (
    DELIVERY_FAILED,
    deliver_decided,
    drop_unchanged,
    store_outbound,
)
from koppel.pipeline.destinations import Destination
from koppel.pipeline.outcome import ProcessOutcome
from koppel.pipeline.rules import RuleContext, apply_rules
from koppel.pipeline.run import FlowRun, Outbound
from koppel.store import Direction, MasterDataStore, Message, MessageStatus, MessageStore

log = logging.getLogger(__name__)

#: Inbound messages still to be (re)tried: new ones, those whose delivery failed, and
#: those held until master data is fixed.
_TO_PROCESS = (MessageStatus.RECEIVED, MessageStatus.FAILED, MessageStatus.HELD)
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
) -> ProcessOutcome:
    """Process every inbound message of the flow that has not reached a final state.

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
        connection_id=connection.id, flow=flow.name, direction=Direction.IN, statuses=_TO_PROCESS
    )
    for message_id in candidates:
        if not store.claim(
            message_id, run_id=run_id, statuses=_TO_PROCESS, lease_seconds=flow.claim_seconds
        ):
            outcome.taken_by_others += 1
            continue
        try:
            message = store.get(message_id)
            status = _process_one(run, message)
        finally:
            store.release(message_id, run_id=run_id)
        outcome.count(status, message.id)
        _log_decision(store, message.id, status)
    return outcome


def _log_decision(store: MessageStore, message_id: int, status: MessageStatus) -> None:
    """Name in the task log each document held, rejected or cut back, and why."""
    if status not in {MessageStatus.HELD, MessageStatus.REJECTED, MessageStatus.DELIVERED}:
        return
    message = store.get_summary(message_id)
    what = f"message {message.id} ({message.document_key or message.source_name})"
    if status is MessageStatus.DELIVERED:
        for note in message.problems:
            if note.code in _DECISIONS_WORTH_NAMING:
                log.info("%s: %s", what, note.message)
        return
    reasons = [p for p in message.problems if p.severity is not Severity.INFO] or message.problems
    reason = reasons[0].message if reasons else "no reason recorded"
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    log.warning("%s %s: %s%s", what, status.value, reason, more)


def _process_one(run: FlowRun, message: Message) -> MessageStatus:
    """Take one inbound message as far as it can go and store where it got."""
    decided = run.store.find(
        connection_id=run.connection.id,
        flow=run.flow.name,
        direction=Direction.OUT,
        parent_id=message.id,
    )
    if decided:
        earlier = [p for p in message.problems if p.code != DELIVERY_FAILED]
        return deliver_decided(run, message, decided, earlier)
    documents, problems = _read(run.formats, run.flow, message)
    outbound: list[Outbound] = []
    commits: list[Callable[[], object]] = []
    if not has_errors(problems):
        ctx = RuleContext(run.connection, run.flow, message, run.master, run.lookups)
        result = apply_rules(run.flow.rules, documents, ctx)
        if result.hold:
            run.store.update(
                message.id,
                status=MessageStatus.HELD,
                problems=problems + result.notes,
                document=[d.model_dump(mode="json") for d in documents],
                document_key=_message_key(documents),
                run_id=run.run_id,
            )
            return MessageStatus.HELD
        problems += result.notes
        commits = result.commits
        for role, docs in (("target", result.target), ("reply", result.reply)):
            mapped, map_problems = _map(run, role, docs, message)
            outbound += mapped
            problems += map_problems
    dumped = [d.model_dump(mode="json") for d in documents] or None
    keys = _message_key(documents)
    if has_errors(problems):
        run.store.update(
            message.id,
            status=MessageStatus.REJECTED,
            problems=problems,
            document=dumped,
            document_key=keys,
            run_id=run.run_id,
        )
        return MessageStatus.REJECTED
    run.store.update(
        message.id, problems=problems, document=dumped, document_key=keys, run_id=run.run_id
    )
    for commit in commits:
        commit()
    outbound, unchanged = drop_unchanged(run, outbound)
    problems += unchanged
    stored, duplicates = store_outbound(run, message, outbound)
    failpoint("process.decided")
    return deliver_decided(run, message, stored, problems + duplicates)


def _message_key(documents: list[CanonicalModel], shown: int = 5) -> str | None:
    """What a user searches the message by: its documents' keys, a few of them for a big batch."""
    keys = [k for k in (document_key(d) for d in documents) if k]
    if len(keys) > shown:
        return ",".join(keys[:shown]) + f" (+{len(keys) - shown} more)"
    return ",".join(keys) or None


def _read(
    formats: FormatRegistry, flow: FlowConfig, message: Message
) -> tuple[list[CanonicalModel], list[Problem]]:
    """Parse and validate the raw payload with the source format; keep any earlier problems."""
    if has_errors(message.problems):
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
    """Where a payload goes: a file path, an HTTP resource, or a SOAP operation and key.

    A batch (a full stock update in one file) is named after the inbound file.
    """
    if isinstance(endpoint, FileEndpoint):
        key = PurePosixPath(message.source_name).stem if len(docs) > 1 else document_key(docs[0])
        return posixpath.join(endpoint.folder, target_filename(endpoint, key, message.id, run.flow))
    if endpoint.transport == "http":
        return endpoint.render_resource(docs[0].model_dump(mode="json"))
    return f"{endpoint.operation}/{document_key(docs[0]) or message.id}"
