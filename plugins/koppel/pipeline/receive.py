"""Step 1: store every complete inbound file before anything else looks at it."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from fnmatch import fnmatch

from koppel.config import ConnectionConfig, FlowConfig, file_endpoint
from koppel.documents import Problem, Severity
from koppel.errors import TransportError
from koppel.faults import failpoint
from koppel.files import FileSession, FileTooLargeError, RemoteFile, done_marker_path, find_complete
from koppel.pipeline.catalogue import receive_catalogues, streams_catalogue
from koppel.pipeline.outcome import ReceiveOutcome
from koppel.store import MessageStore
from koppel.store.records import Incoming

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
    for chunk in _chunks(session, flow, files[: limit or flow.batch_size]):
        _store_chunk(session, store, connection, flow, chunk, run_id=run_id, outcome=outcome)
    log.info(
        "%s__%s: %d new file(s), %d already received",
        connection.id,
        flow.name,
        outcome.received,
        outcome.duplicates,
    )
    return outcome


#: Files stored per transaction: few enough to keep a chunk's memory small, enough
#: that a batch of 10,000 costs tens of transactions, not thousands.
CHUNK_FILES = 200
#: A chunk also ends once it holds this many bytes, however few files that is.
CHUNK_BYTES = 32 * 1024 * 1024

_Read = tuple[RemoteFile, bytes, Problem | None]


def _chunks(
    session: FileSession, flow: FlowConfig, files: Sequence[RemoteFile]
) -> Iterator[list[_Read]]:
    """Download the files (many requests in flight) and hand them on in bounded chunks.

    An oversized file comes with the problem that rejects it instead of its bytes.
    """
    chunk: list[_Read] = []
    size = 0
    for remote, data in _downloads(session, flow, files):
        if isinstance(data, FileTooLargeError):
            too_large = Problem(
                code="file.too_large",
                message=f"{data}; the file was not downloaded (limit {flow.max_file_bytes} bytes)",
                file=remote.path,
            )
            chunk.append((remote, b"", too_large))
        else:
            chunk.append((remote, data, None))
            size += len(data)
        if len(chunk) >= CHUNK_FILES or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _downloads(
    session: FileSession, flow: FlowConfig, files: Sequence[RemoteFile]
) -> Iterator[tuple[RemoteFile, bytes | FileTooLargeError]]:
    """Each listed file with its bytes; one gone since the listing is left out.

    A file that disappears between listing and reading was taken by another
    run of the flow (it stored, delivered and archived it meanwhile) or
    withdrawn by the partner: neither is this run's to store. Any other
    failure to read stops the step, as before.
    """
    done = 0
    try:
        for item in session.read_many(files, max_bytes=flow.max_file_bytes):
            done += 1
            yield item
        return
    except TransportError:
        pass  # find out file by file which one failed, and whether it is simply gone
    for remote in files[done:]:
        try:
            yield remote, session.read_bytes(remote.path, max_bytes=flow.max_file_bytes)
        except FileTooLargeError as exc:
            yield remote, exc
        except TransportError:
            if session.exists(remote.path):
                raise
            log.info("%s was taken away since it was listed; not this run's", remote.path)


def _store_chunk(
    session: FileSession,
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    chunk: list[_Read],
    *,
    run_id: str,
    outcome: ReceiveOutcome,
) -> None:
    """Store a chunk of files in one transaction; an oversized file is stored empty, rejected.

    The failpoint ``receive.stored`` follows each file of the chunk once the
    chunk is committed, so a kill can land after any file, in any chunk.
    """
    receipts = store.receive_many(
        connection_id=connection.id,
        flow=flow.name,
        files=[
            Incoming(remote.path, payload, None if problem is None else [problem])
            for remote, payload, problem in chunk
        ],
        run_id=run_id,
    )
    again: list[tuple[RemoteFile, int]] = []
    for (remote, _, too_large), receipt in zip(chunk, receipts, strict=True):
        failpoint("receive.stored")
        if not receipt.created:
            again.append((remote, receipt.message_id))
            continue
        outcome.received += 1
        outcome.message_ids.append(receipt.message_id)
        if too_large is not None:
            outcome.rejected += 1
            outcome.rejected_ids.append(receipt.message_id)
            log.warning("message %d (%s) rejected: %s", receipt.message_id, remote.path, too_large)
    if not again:
        return
    disposed = {m.id for m in store.get_summaries(i for _, i in again) if m.disposition}
    for remote, message_id in again:
        # Not yet disposed: stored by an interrupted run, whose next steps finish it.
        if message_id in disposed and _archive_duplicate(session, store, flow, remote, message_id):
            outcome.duplicates += 1


def _archive_duplicate(
    session: FileSession, store: MessageStore, flow: FlowConfig, remote: RemoteFile, message_id: int
) -> bool:
    """Move a re-sent, identical file to the archive and note it on the original message.

    Returns False, doing nothing, when the file is gone by the time it is
    moved: it was no re-send but the very file another run of the flow stored
    and has just archived (this run listed it before that run moved it).
    """
    source = file_endpoint(flow.source, "source")
    try:
        new_path = session.move(remote.path, source.archive_folder)
    except TransportError:
        if session.exists(remote.path):
            raise
        log.info(
            "%s was archived by the run that received it (message %d)", remote.path, message_id
        )
        return False
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
    return True
