"""Step 2: parse, validate, map, validate the output, and deliver each stored message."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass

from koppel.config import ConnectionConfig, FlowConfig
from koppel.documents import CanonicalModel, Problem, has_errors
from koppel.documents.keys import document_key
from koppel.errors import FatalSyncError, TransportError
from koppel.files import FileSession
from koppel.formats import DocumentWriteError, FormatRegistry
from koppel.pipeline.context import delivery_context, target_filename
from koppel.pipeline.outcome import ProcessOutcome
from koppel.store import Direction, Message, MessageStatus, MessageStore

log = logging.getLogger(__name__)

#: Inbound messages still to be (re)tried: new ones and those whose delivery failed.
_TO_PROCESS = (MessageStatus.RECEIVED, MessageStatus.FAILED)
#: Outbound messages still to be delivered.
_TO_DELIVER = (MessageStatus.PENDING, MessageStatus.FAILED)

OpenSession = Callable[[], AbstractContextManager[FileSession]]


@dataclass(frozen=True)
class _Run:
    """What every step of one process run works with."""

    store: MessageStore
    formats: FormatRegistry
    connection: ConnectionConfig
    flow: FlowConfig
    run_id: str
    target: Callable[[], FileSession]
    """Opens the target session on first use: a run with nothing to deliver connects to nothing."""


@dataclass(frozen=True)
class _Outbound:
    """A mapped document, ready to be stored and delivered."""

    filename: str
    payload: bytes
    document: CanonicalModel


def process_pending(
    store: MessageStore,
    formats: FormatRegistry,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    run_id: str,
    open_target: OpenSession,
) -> ProcessOutcome:
    """Process every inbound message of the flow that has not reached a final state.

    One message's problems never stop the others. A transport failure while
    delivering stops the batch (the target is likely down for all of them):
    the message is marked failed and the error is raised after its state is
    stored, so the task retries and the next run resumes.
    """
    outcome = ProcessOutcome()
    pending = store.find(
        connection_id=connection.id, flow=flow.name, direction=Direction.IN, statuses=_TO_PROCESS
    )
    with ExitStack() as stack:
        session: FileSession | None = None

        def target() -> FileSession:
            nonlocal session
            if session is None:
                session = stack.enter_context(open_target())
            return session

        run = _Run(store, formats, connection, flow, run_id, target)
        for message in pending:
            status = _process_one(run, message)
            if status is MessageStatus.DELIVERED:
                outcome.delivered += 1
            elif status is MessageStatus.REJECTED:
                outcome.rejected += 1
                outcome.rejected_ids.append(message.id)
    return outcome


def _process_one(run: _Run, message: Message) -> MessageStatus:
    """Take one inbound message as far as it can go and store where it got."""
    store, run_id = run.store, run.run_id
    documents, problems = _read(run.formats, run.flow, message)
    outbound: list[_Outbound] = []
    if not has_errors(problems):
        outbound, map_problems = _map(run, documents, message.id)
        problems += map_problems
    dumped = [d.model_dump(mode="json") for d in documents] or None
    keys = ",".join(k for k in (document_key(d) for d in documents) if k) or None
    if has_errors(problems):
        store.update(
            message.id,
            status=MessageStatus.REJECTED,
            problems=problems,
            document=dumped,
            document_key=keys,
            run_id=run_id,
        )
        log.warning("message %d (%s) rejected: %s", message.id, message.source_name, problems[0])
        return MessageStatus.REJECTED
    store.update(message.id, problems=problems, document=dumped, document_key=keys, run_id=run_id)
    try:
        problems += _deliver_all(run, message, outbound)
    except TransportError as exc:
        store.update(message.id, status=MessageStatus.FAILED, run_id=run_id)
        raise TransportError(f"delivery of message {message.id} failed: {exc}") from exc
    status = MessageStatus.REJECTED if has_errors(problems) else MessageStatus.DELIVERED
    store.update(message.id, status=status, problems=problems, run_id=run_id)
    return status


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
        empty = Problem(code="document.empty", message="the file holds no documents")
        return [], [*result.problems, empty]
    return list(result.documents), list(result.problems)


def _map(
    run: _Run, documents: list[CanonicalModel], message_id: int
) -> tuple[list[_Outbound], list[Problem]]:
    """Write each document in the target format and check it against the target's schema.

    Output that fails the target schema is a mapping fault; it is caught here,
    before anything leaves, and stored as a problem on the message.
    """
    connection, flow = run.connection, run.flow
    target_format = run.formats.get(flow.target.format)
    outbound: list[_Outbound] = []
    problems: list[Problem] = []
    for document in documents:
        context, context_problems = delivery_context(connection, flow, document)
        problems += context_problems
        if context_problems:
            continue
        filename = target_filename(flow, document, message_id)
        try:
            payload = target_format.write(document, context=context)
        except DocumentWriteError as exc:
            problems += exc.problems
            continue
        output_problems = target_format.validate(payload, source=filename)
        problems += [
            p.model_copy(
                update={"code": f"output.{p.code}", "message": f"output invalid: {p.message}"}
            )
            for p in output_problems
        ]
        outbound.append(_Outbound(filename, payload, document))
    return outbound, problems


def _deliver_all(run: _Run, message: Message, outbound: list[_Outbound]) -> list[Problem]:
    """Store each outbound document, then deliver those not yet delivered.

    The delivery key is the target path: a second file carrying an order that
    already went out is refused instead of overwriting (or re-sending) it.
    """
    store, flow = run.store, run.flow
    problems: list[Problem] = []
    for item in outbound:
        key = posixpath.join(flow.target.folder, item.filename)
        receipt = store.create_outbound(
            parent_id=message.id,
            connection_id=run.connection.id,
            flow=flow.name,
            delivery_key=key,
            target_name=key,
            payload=item.payload,
            document=item.document.model_dump(mode="json"),
            document_key=document_key(item.document),
            run_id=run.run_id,
        )
        out = store.get(receipt.message_id)
        if out.parent_id != message.id:
            problems.append(_duplicate_problem(item, key, out))
            continue
        if out.status in _TO_DELIVER:
            problems += _deliver(run, out, item.filename)
    return problems


def _deliver(run: _Run, out: Message, filename: str) -> list[Problem]:
    """Write one outbound file atomically (then its done marker, if the target wants one).

    The marker is written after the file is complete under its final name, so
    a partner that waits for markers never reads a partial file.
    """
    store, flow, target = run.store, run.flow, run.target
    where = f"{flow.target.transport}:{out.target_name}"
    try:
        target().write_atomic(flow.target.folder, filename, out.payload)
        if flow.target.done_suffix:
            target().write_atomic(flow.target.folder, filename + flow.target.done_suffix, b"")
    except TransportError as exc:
        store.record_attempt(out.id, target=where, outcome="failed", error=str(exc))
        store.update(out.id, status=MessageStatus.FAILED)
        raise
    except FatalSyncError as exc:
        store.record_attempt(out.id, target=where, outcome="failed", error=str(exc))
        problem = Problem(code="delivery.refused", message=str(exc), file=out.target_name)
        store.update(out.id, status=MessageStatus.REJECTED, problems=[problem])
        return [problem]
    store.record_attempt(out.id, target=where, outcome="delivered")
    store.update(out.id, status=MessageStatus.DELIVERED)
    return []


def _duplicate_problem(item: _Outbound, key: str, existing: Message) -> Problem:
    """The document was already delivered from another message: say which, do not send it twice."""
    return Problem(
        code="delivery.duplicate",
        message=(
            f"{document_key(item.document)} was already delivered as {key} from message "
            f"{existing.parent_id}; it is not sent twice"
        ),
        field="document_key",
    )
