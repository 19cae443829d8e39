"""Storing and delivering what was decided for a message: once, and never twice.

Every outbound payload is stored before the first is delivered, under an
idempotency key; delivery hands each stored payload to its destination and
records the attempt, so a retry sends exactly what was decided.
"""

from __future__ import annotations

from koppel.config import ApiEndpoint, Endpoint
from koppel.documents import Problem, Severity, has_errors
from koppel.documents.keys import document_key
from koppel.errors import FatalSyncError, TransportError
from koppel.faults import failpoint
from koppel.pipeline.changes import unchanged_note, unchanged_targets
from koppel.pipeline.destinations import FileDestination
from koppel.pipeline.run import FlowRun, Outbound
from koppel.store import AttemptOutcome, Message, MessageStatus

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
    if _is_upsert(endpoint):
        return f"{role}:{target}@{message.id}"
    return f"{role}:{target}"


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


def store_outbound(
    run: FlowRun, message: Message, outbound: list[Outbound]
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
