"""Step 2: parse, validate, apply rules, map, validate the output, and deliver each stored message.

A message is decided once: its outbound documents are stored before the first
one is delivered, so a rerun after a crash delivers what was decided instead
of deciding again (stock may have changed in between).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from koppel.config import ApiEndpoint, ConnectionConfig, Endpoint, FileEndpoint, FlowConfig
from koppel.documents import CanonicalModel, Problem, Severity, has_errors
from koppel.documents.keys import document_key
from koppel.errors import FatalSyncError, TransportError
from koppel.formats import DocumentWriteError, FormatRegistry
from koppel.pipeline.changes import unchanged_note, unchanged_targets
from koppel.pipeline.context import delivery_context, target_filename
from koppel.pipeline.destinations import Destination
from koppel.pipeline.outcome import ProcessOutcome
from koppel.pipeline.rules import RuleContext, apply_rules
from koppel.store import Direction, MasterDataStore, Message, MessageStatus, MessageStore

log = logging.getLogger(__name__)

#: Inbound messages still to be (re)tried: new ones, those whose delivery failed, and
#: those held until master data is fixed.
_TO_PROCESS = (MessageStatus.RECEIVED, MessageStatus.FAILED, MessageStatus.HELD)
#: The note a failed delivery leaves on its message until a retry succeeds.
_DELIVERY_FAILED = "delivery.failed"
#: Outbound messages still to be delivered.
_TO_DELIVER = (MessageStatus.PENDING, MessageStatus.FAILED)


@dataclass(frozen=True)
class _Run:
    """What every step of one process run works with."""

    store: MessageStore
    master: MasterDataStore
    formats: FormatRegistry
    connection: ConnectionConfig
    flow: FlowConfig
    run_id: str
    destination: Callable[[Endpoint], Destination]
    resend: bool = False
    """Send records even when unchanged since the last sync (a backfill resends its range)."""
    lookups: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    def endpoint(self, role: str) -> Endpoint:
        """The flow's ``target`` or ``reply`` endpoint."""
        endpoint = self.flow.reply if role == "reply" else self.flow.target
        if endpoint is None:
            raise FatalSyncError(
                f"flow {self.flow.name} of {self.connection.id} has no {role} endpoint"
            )
        return endpoint


@dataclass(frozen=True)
class _Outbound:
    """A mapped document (or batch), ready to be stored and delivered."""

    role: str
    target_name: str
    payload: bytes
    documents: tuple[CanonicalModel, ...]


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
    """
    outcome = ProcessOutcome()
    pending = store.find(
        connection_id=connection.id, flow=flow.name, direction=Direction.IN, statuses=_TO_PROCESS
    )
    run = _Run(store, master, formats, connection, flow, run_id, destination, resend, lookups or {})
    for message in pending:
        status = _process_one(run, message)
        if status is MessageStatus.DELIVERED:
            outcome.delivered += 1
        elif status is MessageStatus.SKIPPED:
            outcome.skipped += 1
        elif status is MessageStatus.HELD:
            outcome.held += 1
        elif status is MessageStatus.REJECTED:
            outcome.rejected += 1
            outcome.rejected_ids.append(message.id)
    return outcome


def _process_one(run: _Run, message: Message) -> MessageStatus:
    """Take one inbound message as far as it can go and store where it got."""
    decided = run.store.find(
        connection_id=run.connection.id,
        flow=run.flow.name,
        direction=Direction.OUT,
        parent_id=message.id,
    )
    if decided:
        earlier = [p for p in message.problems if p.code != _DELIVERY_FAILED]
        return _deliver_decided(run, message, decided, earlier)
    documents, problems = _read(run.formats, run.flow, message)
    outbound: list[_Outbound] = []
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
        log.warning("message %d (%s) rejected: %s", message.id, message.source_name, problems[0])
        return MessageStatus.REJECTED
    run.store.update(
        message.id, problems=problems, document=dumped, document_key=keys, run_id=run.run_id
    )
    for commit in commits:
        commit()
    outbound, unchanged = _drop_unchanged(run, outbound)
    problems += unchanged
    stored, duplicates = _store_outbound(run, message, outbound)
    return _deliver_decided(run, message, stored, problems + duplicates)


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
    run: _Run, role: str, documents: list[CanonicalModel], message: Message
) -> tuple[list[_Outbound], list[Problem]]:
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
    outbound: list[_Outbound] = []
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
        outbound.append(_Outbound(role, target, payload, docs))
    return outbound, problems


def _target_name(
    run: _Run, endpoint: Endpoint, docs: tuple[CanonicalModel, ...], message: Message
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


def _delivery_key(role: str, endpoint: Endpoint, target: str, message: Message) -> str:
    """The idempotency key of an outbound payload.

    Files and created orders go out once per target: a second document for
    the same file name or order reference is a duplicate, never an overwrite
    or a second order. An HTTP upsert may be sent again when the record
    changes; only a retry of the same message must not send it twice.
    """
    if _is_upsert(endpoint):
        return f"{role}:{target}@{message.id}"
    return f"{role}:{target}"


def _drop_unchanged(run: _Run, outbound: list[_Outbound]) -> tuple[list[_Outbound], list[Problem]]:
    """Leave out HTTP upserts whose payload the target already holds, unless resending."""
    upserts = [item for item in outbound if _is_upsert(run.endpoint(item.role))]
    if run.resend or not upserts:
        return outbound, []
    same = unchanged_targets(run.store, run.connection.id, run.flow.name, upserts)
    kept = [
        item
        for item in outbound
        if not (_is_upsert(run.endpoint(item.role)) and item.target_name in same)
    ]
    dropped = len(outbound) - len(kept)
    return kept, [unchanged_note(dropped)] if dropped else []


def _is_upsert(endpoint: Endpoint) -> bool:
    """An HTTP PUT replaces the record: resending is harmless, resending it unchanged is waste."""
    return isinstance(endpoint, ApiEndpoint) and endpoint.transport == "http"


def _store_outbound(
    run: _Run, message: Message, outbound: list[_Outbound]
) -> tuple[list[Message], list[Problem]]:
    """Store every outbound file before delivering any.

    The delivery key is the role and target path: a second file carrying a
    document that already went out is refused instead of overwriting (or
    re-sending) it.
    """
    stored: list[Message] = []
    problems: list[Problem] = []
    for item in outbound:
        endpoint = run.endpoint(item.role)
        document = [d.model_dump(mode="json") for d in item.documents]
        receipt = run.store.create_outbound(
            parent_id=message.id,
            connection_id=run.connection.id,
            flow=run.flow.name,
            delivery_key=_delivery_key(item.role, endpoint, item.target_name, message),
            target_name=item.target_name,
            payload=item.payload,
            document=document[0] if len(document) == 1 else document,
            document_key=document_key(item.documents[0]) if len(item.documents) == 1 else None,
            run_id=run.run_id,
        )
        out = run.store.get(receipt.message_id)
        if out.parent_id == message.id:
            stored.append(out)
        else:
            problems.append(_duplicate_problem(endpoint, item, out))
    return stored, problems


def _deliver_decided(
    run: _Run, message: Message, outbound: list[Message], problems: list[Problem]
) -> MessageStatus:
    """Deliver what was decided for the message and store its final status."""
    try:
        for out in outbound:
            if out.status in _TO_DELIVER:
                problems += _deliver(run, out)
    except TransportError as exc:
        failed = Problem(
            code=_DELIVERY_FAILED,
            severity=Severity.WARNING,
            message=f"delivery failed and is retried on the next run: {exc}",
        )
        run.store.update(
            message.id, status=MessageStatus.FAILED, problems=[*problems, failed], run_id=run.run_id
        )
        raise TransportError(f"delivery of message {message.id} failed: {exc}") from exc
    if has_errors(problems):
        status = MessageStatus.REJECTED
    else:
        status = MessageStatus.DELIVERED if outbound else MessageStatus.SKIPPED
    run.store.update(message.id, status=status, problems=problems, run_id=run.run_id)
    return status


def _deliver(run: _Run, out: Message) -> list[Problem]:
    """Hand one stored outbound payload to its destination and record the attempt."""
    role = out.source_name.split(":", 1)[0]
    endpoint = run.endpoint(role)
    where = f"{endpoint.transport}:{out.target_name}"
    try:
        receipt = run.destination(endpoint).deliver(out.target_name or "", out.payload)
    except TransportError as exc:
        run.store.record_attempt(out.id, target=where, outcome="failed", error=str(exc))
        run.store.update(out.id, status=MessageStatus.FAILED)
        raise
    except FatalSyncError as exc:
        run.store.record_attempt(out.id, target=where, outcome="failed", error=str(exc))
        problem = Problem(code="delivery.refused", message=str(exc), file=out.target_name)
        run.store.update(out.id, status=MessageStatus.REJECTED, problems=[problem])
        return [problem]
    run.store.record_attempt(out.id, target=where, outcome="delivered")
    run.store.update(out.id, status=MessageStatus.DELIVERED)
    if receipt is not None:
        # Where the document ended up: the target's own id for it (an ERP order number).
        run.store.set_disposition(out.id, f"{endpoint.transport}:{receipt}")
    return []


def _duplicate_problem(endpoint: Endpoint, item: _Outbound, existing: Message) -> Problem:
    """The document already went out from another message: say which, do not send it twice.

    A file that would overwrite another is an error. An order already created
    in an ERP is not exported again (seed 004: later changes are made in the
    ERP); the portal sending it again unchanged is only noted, a real change
    is a warning so someone makes it in the ERP.
    """
    target = item.target_name
    if isinstance(endpoint, ApiEndpoint):
        sent = [d.model_dump(mode="json") for d in item.documents]
        unchanged = existing.document in (sent, sent[0] if len(sent) == 1 else None)
        key = existing.document_key or target
        return Problem(
            code="delivery.already_exported",
            severity=Severity.INFO if unchanged else Severity.WARNING,
            message=(
                f"{key} was already exported by message {existing.parent_id}; unchanged since"
                if unchanged
                else f"{key} was already exported by message {existing.parent_id}; this later "
                "change is not exported again: make it in the target system"
            ),
            field="document_key",
        )
    return Problem(
        code="delivery.duplicate",
        message=(
            f"{existing.document_key or target} was already delivered as {target} from message "
            f"{existing.parent_id}; it is not sent twice"
        ),
        field="document_key",
    )
