"""Step 1: store every complete inbound file before anything else looks at it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from fnmatch import fnmatch

from koppel.config import ConnectionConfig, FlowConfig, file_endpoint
from koppel.documents import Problem, Severity
from koppel.faults import failpoint
from koppel.files import FileSession, FileTooLargeError, RemoteFile, done_marker_path, find_complete
from koppel.pipeline.catalogue import receive_catalogues, streams_catalogue
from koppel.pipeline.outcome import ReceiveOutcome
from koppel.store import MessageStore

log = logging.getLogger(__name__)


def receive_batch(
    session: FileSession,
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    run_id: str,
    only: Sequence[str] = (),
    limit: int | None = None,
) -> ReceiveOutcome:
    """Store each complete file of the inbound folder as a message.

    Args:
        session: an open session on the flow's source server.
        store: the message store.
        connection: the connection the flow belongs to.
        flow: the flow whose ``source`` endpoint is read.
        run_id: the Airflow run, recorded on every new message.
        only: file-name patterns a manual run restricts itself to; empty means all.
        limit: at most this many files (defaults to the flow's ``batch_size``).

    Files are only read, never moved, here: they leave the inbound folder in
    the acknowledge step, after their outcome is stored. A file already stored
    (same path and content) is not stored again.
    """
    source = file_endpoint(flow.source, "source")
    files = find_complete(
        session,
        source.folder,
        source.pattern,
        done_suffix=source.done_suffix,
        stable_seconds=source.stable_seconds,
    )
    if only:
        files = [f for f in files if any(fnmatch(f.name, pattern) for pattern in only)]
    if streams_catalogue(flow):  # streamed into the store, never whole in memory
        batch = files[: limit or flow.batch_size]
        return receive_catalogues(session, store, connection, flow, batch, run_id=run_id)
    outcome = ReceiveOutcome()
    for remote in files[: limit or flow.batch_size]:
        _receive_one(session, store, connection, flow, remote, run_id=run_id, outcome=outcome)
    log.info(
        "%s__%s: %d new file(s), %d already received",
        connection.id,
        flow.name,
        outcome.received,
        outcome.duplicates,
    )
    return outcome


def _receive_one(
    session: FileSession,
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    remote: RemoteFile,
    *,
    run_id: str,
    outcome: ReceiveOutcome,
) -> None:
    """Store one file; an oversized file is stored empty, with the problem that rejects it."""
    too_large: Problem | None = None
    try:
        payload = session.read_bytes(remote.path, max_bytes=flow.max_file_bytes)
    except FileTooLargeError as exc:
        payload = b""
        too_large = Problem(
            code="file.too_large",
            message=f"{exc}; the file was not downloaded (limit {flow.max_file_bytes} bytes)",
            file=remote.path,
        )
    receipt = store.receive(
        connection_id=connection.id,
        flow=flow.name,
        source_name=remote.path,
        payload=payload,
        run_id=run_id,
        rejected=None if too_large is None else [too_large],
    )
    failpoint("receive.stored")
    if receipt.created:
        outcome.received += 1
        outcome.message_ids.append(receipt.message_id)
        if too_large is not None:
            outcome.rejected += 1
            outcome.rejected_ids.append(receipt.message_id)
            log.warning("message %d (%s) rejected: %s", receipt.message_id, remote.path, too_large)
        return
    existing = store.get(receipt.message_id)
    if existing.disposition is None:
        return  # stored by an interrupted run; the next steps finish it
    outcome.duplicates += 1
    _archive_duplicate(session, store, flow, remote, receipt.message_id)


def _archive_duplicate(
    session: FileSession, store: MessageStore, flow: FlowConfig, remote: RemoteFile, message_id: int
) -> None:
    """Move a re-sent, identical file to the archive and note it on the original message."""
    source = file_endpoint(flow.source, "source")
    new_path = session.move(remote.path, source.archive_folder)
    if source.done_suffix:
        marker = done_marker_path(remote, source.done_suffix)
        if session.exists(marker):
            session.move(marker, source.archive_folder)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    store.add_problems(
        message_id,
        [
            Problem(
                code="file.duplicate",
                severity=Severity.WARNING,
                message=(
                    f"the same file was received again at {when}; it was archived as "
                    f"{new_path} without being processed a second time"
                ),
                file=remote.path,
            )
        ],
    )
    log.warning(
        "%s was already received as message %d; archived as %s", remote.path, message_id, new_path
    )
