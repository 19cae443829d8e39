"""Storing and delivering what was decided for a message: once, and never twice.

Every outbound payload is stored before the first is delivered, under an
idempotency key; delivery hands each stored payload to its destination and
records the attempt, so a retry sends exactly what was decided.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from koppel.config import ApiEndpoint, Endpoint, SqlEndpoint
from koppel.documents import Problem, Severity, has_errors
from koppel.documents.keys import document_key as document_key_of
from koppel.errors import FatalSyncError, TransportError
from koppel.faults import failpoint
from koppel.pipeline.changes import unchanged_note, unchanged_targets
from koppel.pipeline.destinations import FileDestination
from koppel.pipeline.run import FlowRun, Outbound
from koppel.store import AttemptOutcome, Message, MessageStatus
from koppel.store.records import OutboundCopy
from koppel.store.repository import MasterDataChange

#: The note a failed delivery leaves on its message until a retry succeeds.
DELIVERY_FAILED = "delivery.failed"
#: Outbound messages still to be delivered.
_TO_DELIVER = (MessageStatus.PENDING, MessageStatus.FAILED)


def _delivery_key(role: str, endpoint: Endpoint, target: str, message: Message) -> str:
    """The idempotency key of an outbound payload.

    Files and created orders go out once per target: a second document for
    the same file name or order reference is a duplicate, never an overwrite
    or a second order. An HTTP upsert may be sent again when the record
    changes; only a retry of the same message must not send it twice.
    """
    if _is_upsert(endpoint) or (isinstance(endpoint, SqlEndpoint) and endpoint.update_if):
        # A table row that a later document may update (an unconfirmed order): the
        # destination itself refuses a second row under the key; here only a retry
        # of the same message must not write it twice.
        return f"{role}:{target}@{message.id}"
    return f"{role}:{target}"


#: Ends the delivery key of an answer sent with a rejection (an order response saying why).
REJECTION_REPLY = "#rejection"


def is_rejection_reply(out: Message) -> bool:
    """Whether an outbound copy answered a rejection, rather than carrying an accepted document."""
    return out.source_name.endswith(REJECTION_REPLY)


def drop_unchanged(run: FlowRun, outbound: list[Outbound]) -> tuple[list[Outbound], list[Problem]]:
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


def store_decision(
    run: FlowRun,
    message: Message,
    outbound: list[Outbound],
    *,
    problems: list[Problem],
    document: Any,
    document_key: str | None,
    changes: Sequence[MasterDataChange] = (),
    rejection: bool = False,
) -> tuple[list[Message], list[Problem]]:
    """Store the message's parsed document and notes and every outbound file before delivering any.

    One transaction, which also makes the rules' master-data ``changes``
    (stock reserved), so a crash keeps all of it or none. The delivery key is
    the role and target path: a second file carrying a document that already
    went out is refused instead of overwriting (or re-sending) it. The answers
    to a ``rejection`` are marked as such in their key (:func:`is_rejection_reply`).
    """
    copies = []
    for item in outbound:
        endpoint = run.endpoint(item.role)
        dumped = [d.model_dump(mode="json") for d in item.documents]
        copies.append(
            OutboundCopy(
                delivery_key=_delivery_key(item.role, endpoint, item.target_name, message)
                + (REJECTION_REPLY if rejection else ""),
                target_name=item.target_name,
                payload=item.payload,
                document=dumped[0] if len(dumped) == 1 else dumped,
                document_key=document_key_of(item.documents[0])
                if len(item.documents) == 1
                else None,
            )
        )
    found = run.store.record_decision(
        message.id,
        connection_id=run.connection.id,
        flow=run.flow.name,
        problems=problems,
        document=document,
        document_key=document_key,
        run_id=run.run_id,
        outbound=copies,
        changes=changes,
    )
    stored: list[Message] = []
    duplicates: list[Problem] = []
    for item, out in zip(outbound, found, strict=True):
        if out.parent_id == message.id:
            stored.append(out)
        else:
            duplicates.append(_duplicate_problem(run.endpoint(item.role), item, out))
    return stored, duplicates


@dataclass(frozen=True)
class Decision:
    """What was decided for one inbound message: its stored outbound copies and notes so far."""

    message: Message
    outbound: list[Message]
    problems: list[Problem]


def deliver_many(
    run: FlowRun, decisions: list[Decision]
) -> list[tuple[Message, MessageStatus, list[Problem]]]:
    """Deliver what was decided for a chunk of messages; store their statuses in one transaction.

    Files for one folder go out together, many requests in flight (see
    :func:`_send_files`); anything else is delivered one by one. A transport
    failure stops the chunk as it stops a single message: every message not
    yet fully delivered is stored failed, with the note, and the error raised.
    """
    sent: dict[int, list[Problem]] = {}
    try:
        for group in _delivery_groups(run, decisions):
            if isinstance(group, list):
                sent.update(_send_files(run, group))
            else:
                sent[group.id] = _deliver(run, group)
    except TransportError as exc:
        failed = Problem(
            code=DELIVERY_FAILED,
            severity=Severity.WARNING,
            message=f"delivery failed and is retried on the next run: {exc}",
        )
        stopped = [d for d in decisions if not _settled(d, sent)]
        done = {d.message.id: _final(d, sent) for d in decisions if _settled(d, sent)}
        done |= {d.message.id: (MessageStatus.FAILED, [*d.problems, failed]) for d in stopped}
        run.store.finish_many(done, run_id=run.run_id)
        ids = ", ".join(str(d.message.id) for d in stopped)
        raise TransportError(f"delivery of message(s) {ids} failed: {exc}") from exc
    for _ in decisions:
        failpoint("process.delivered")
    finals = {d.message.id: _final(d, sent) for d in decisions}
    run.store.finish_many(finals, run_id=run.run_id)
    return [(d.message, *finals[d.message.id]) for d in decisions]


def _delivery_groups(run: FlowRun, decisions: list[Decision]) -> list[list[Message] | Message]:
    """The chunk's outbound copies still to deliver: one list per file folder, the rest one by one.

    A folder whose files get a done marker each goes one by one too: the
    marker is written after its file is published.
    """
    folders: dict[tuple[str, str], list[Message]] = {}
    groups: list[list[Message] | Message] = []
    for decision in decisions:
        for out in decision.outbound:
            if out.status not in _TO_DELIVER:
                continue
            endpoint = run.endpoint(_role(out))
            if isinstance(endpoint, ApiEndpoint | SqlEndpoint) or endpoint.done_suffix:
                groups.append(out)
                continue
            key = (_role(out), endpoint.folder)
            if key not in folders:
                folders[key] = []
                groups.append(folders[key])
            folders[key].append(out)
    return groups


def _settled(decision: Decision, sent: dict[int, list[Problem]]) -> bool:
    return all(out.status not in _TO_DELIVER or out.id in sent for out in decision.outbound)


def _final(
    decision: Decision, sent: dict[int, list[Problem]]
) -> tuple[MessageStatus, list[Problem]]:
    """The message's status once each of its copies was delivered, refused or found refused."""
    problems = list(decision.problems)
    for out in decision.outbound:
        if out.id in sent:
            problems += sent[out.id]
        elif out.status is MessageStatus.REJECTED:  # refused before: still refused
            problems += [p for p in out.problems if p not in problems]
    if has_errors(problems):
        return MessageStatus.REJECTED, problems
    return (MessageStatus.DELIVERED if decision.outbound else MessageStatus.SKIPPED), problems


def _role(out: Message) -> str:
    return out.source_name.split(":", 1)[0]


def _send_files(run: FlowRun, outs: list[Message]) -> dict[int, list[Problem]]:
    """Deliver files for one folder together, with the same phases as :func:`_deliver`.

    Attempts are started for all (one transaction), the files uploaded under
    their temporary names (pipelined), the uploads recorded as staged (one
    transaction), renamed (pipelined) and the attempts closed with the
    copies' status (one transaction). A crash between any two phases leaves
    attempts that say how far each file got, as for a single file; an upload
    cut short by an earlier crash after staging, or a file the server refuses
    to overwrite, goes the single-file way.
    """
    endpoint = run.endpoint(_role(outs[0]))
    done: dict[int, list[Problem]] = {}
    cut_short = run.store.unfinished_attempts(out.id for out in outs)
    for out in outs:
        if out.id in cut_short and cut_short[out.id].outcome is AttemptOutcome.STAGED:
            done[out.id] = _deliver(run, out)  # settle it from what the server shows
    fresh = [out for out in outs if out.id not in done]
    numbers = {out.id: cut_short[out.id].attempt_no for out in fresh if out.id in cut_short}
    numbers |= run.store.start_attempts(
        {
            out.id: f"{endpoint.transport}:{out.target_name}"
            for out in fresh
            if out.id not in cut_short
        }
    )
    names = [posixpath.basename(out.target_name or "") for out in fresh]
    try:
        destination = run.destination(endpoint)
        if not isinstance(destination, FileDestination):
            raise FatalSyncError(f"{endpoint.transport} endpoint without a file destination")
        folder = destination.endpoint.folder
        staged = destination.session.stage_many(
            folder, [(name, out.payload) for name, out in zip(names, fresh, strict=True)]
        )
    except FatalSyncError:
        # A name is taken by other bytes: find out which, one file at a time
        # (each resumes its started attempt).
        return done | {out.id: _deliver(run, out) for out in fresh}
    except TransportError as exc:
        run.store.finish_attempts(
            {AttemptOutcome.FAILED: [(out.id, numbers[out.id]) for out in fresh]},
            status=MessageStatus.FAILED,
            error=str(exc),
        )
        raise
    uploaded = [(out, name) for out, name, up in zip(fresh, names, staged, strict=True) if up]
    present = [out for out, up in zip(fresh, staged, strict=True) if not up]
    run.store.stage_attempts([(out.id, numbers[out.id]) for out, _ in uploaded])
    for _ in uploaded:
        failpoint("deliver.staged")
    # A transport error now leaves the attempts staged: the next try settles each file
    # from the server (renamed, or still under its temporary name), never sending twice.
    destination.session.publish_many(folder, [name for _, name in uploaded])
    for _ in uploaded:
        failpoint("deliver.published")
    run.store.finish_attempts(
        {
            AttemptOutcome.DELIVERED: [(out.id, numbers[out.id]) for out, _ in uploaded],
            AttemptOutcome.ALREADY_PRESENT: [(out.id, numbers[out.id]) for out in present],
        },
        status=MessageStatus.DELIVERED,
    )
    return done | {out.id: [] for out in fresh}


def deliver_decided(
    run: FlowRun, message: Message, outbound: list[Message], problems: list[Problem]
) -> MessageStatus:
    """Deliver what was decided for the message and store its final status."""
    try:
        for out in outbound:
            if out.status in _TO_DELIVER:
                problems += _deliver(run, out)
            elif out.status is MessageStatus.REJECTED:  # refused before: still refused
                problems += [p for p in out.problems if p not in problems]
    except TransportError as exc:
        failed = Problem(
            code=DELIVERY_FAILED,
            severity=Severity.WARNING,
            message=f"delivery failed and is retried on the next run: {exc}",
        )
        run.store.update(
            message.id, status=MessageStatus.FAILED, problems=[*problems, failed], run_id=run.run_id
        )
        raise TransportError(f"delivery of message {message.id} failed: {exc}") from exc
    failpoint("process.delivered")
    if has_errors(problems):
        status = MessageStatus.REJECTED
    else:
        status = MessageStatus.DELIVERED if outbound else MessageStatus.SKIPPED
    run.store.update(message.id, status=status, problems=problems, run_id=run.run_id)
    return status


def _deliver(run: FlowRun, out: Message) -> list[Problem]:
    """Hand one stored outbound payload to its destination, exactly once, and record it.

    The attempt is recorded before anything is sent and closed, together with
    the message's status and the target's receipt, in one transaction after.
    A try cut short by a crash is taken up again: a staged file is settled
    from what the server shows, and an API call is repeated, which the
    target answers with what the first call made (CreateOrder is idempotent on
    the portal reference; an HTTP PUT is an upsert).
    """
    role = out.source_name.split(":", 1)[0]
    endpoint = run.endpoint(role)
    where = f"{endpoint.transport}:{out.target_name}"
    cut_short = run.store.unfinished_attempt(out.id)
    attempt = cut_short.attempt_no if cut_short else run.store.start_attempt(out.id, target=where)
    receipt: str | None = None
    outcome = AttemptOutcome.DELIVERED
    try:
        destination = run.destination(endpoint)
        if isinstance(destination, FileDestination):
            resumed = cut_short is not None and cut_short.outcome is AttemptOutcome.STAGED
            outcome = _send_file(run, destination, out, attempt, resumed=resumed)
        else:
            receipt = destination.deliver(out.target_name or "", out.payload)
            failpoint("deliver.sent")
    except TransportError as exc:
        run.store.finish_attempt(
            out.id,
            attempt,
            outcome=AttemptOutcome.FAILED,
            status=MessageStatus.FAILED,
            error=str(exc),
        )
        raise
    except FatalSyncError as exc:
        problem = Problem(code="delivery.refused", message=str(exc), file=out.target_name)
        run.store.finish_attempt(
            out.id,
            attempt,
            outcome=AttemptOutcome.FAILED,
            status=MessageStatus.REJECTED,
            error=str(exc),
            problems=[problem],
        )
        return [problem]
    run.store.finish_attempt(
        out.id,
        attempt,
        outcome=outcome,
        status=MessageStatus.DELIVERED,
        # Where the document ended up: the target's own id for it (an ERP order number).
        disposition=None if receipt is None else f"{endpoint.transport}:{receipt}",
    )
    return []


def _send_file(
    run: FlowRun, destination: FileDestination, out: Message, attempt: int, *, resumed: bool
) -> AttemptOutcome:
    """Stage, record the upload as complete, publish; or settle a staged upload after a crash."""
    target = out.target_name or ""
    if resumed:
        destination.settle(target, out.payload)
        return AttemptOutcome.DELIVERED
    if not destination.stage(target, out.payload):
        destination.settle(target, out.payload)
        return AttemptOutcome.ALREADY_PRESENT  # the target had it, byte for byte
    run.store.stage_attempt(out.id, attempt)
    failpoint("deliver.staged")
    destination.publish(target)
    failpoint("deliver.published")
    return AttemptOutcome.DELIVERED


def _duplicate_problem(endpoint: Endpoint, item: Outbound, existing: Message) -> Problem:
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
