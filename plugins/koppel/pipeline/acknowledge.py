"""Step 3: move each finished inbound file out of the inbound folder.

Delivered files go to the archive folder; rejected ones to the error folder
with a ``.problems.txt`` report beside them, so a partner looking at the
server sees why. A file is moved only after its outcome is stored; where it
goes is recorded before the move and confirmed after, so a crash between any
two steps leaves a record that the next run completes.
"""

from __future__ import annotations

import logging
import posixpath

from koppel.config import ConnectionConfig, FlowConfig, file_endpoint
from koppel.faults import failpoint
from koppel.files import FileSession, RemoteFile, done_marker_path
from koppel.pipeline.outcome import AcknowledgeOutcome
from koppel.store import Direction, Message, MessageStatus, MessageStore

log = logging.getLogger(__name__)

_FINISHED = (MessageStatus.DELIVERED, MessageStatus.SKIPPED, MessageStatus.REJECTED)


def acknowledge_batch(
    session: FileSession,
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    run_id: str,
) -> AcknowledgeOutcome:
    """Archive or error-folder every finished inbound file that is still in the inbound folder.

    Each message is claimed first, so two runs never move the same file.
    """
    outcome = AcknowledgeOutcome()
    candidates = store.candidate_ids(
        connection_id=connection.id,
        flow=flow.name,
        direction=Direction.IN,
        statuses=_FINISHED,
        undisposed=True,
    )
    for message_id in candidates:
        if not store.claim(
            message_id,
            run_id=run_id,
            statuses=_FINISHED,
            lease_seconds=flow.claim_seconds,
            undisposed=True,
        ):
            continue
        try:
            message = store.get(message_id)
            kind = "error" if message.status is MessageStatus.REJECTED else "archive"
            store.set_disposition(message.id, _dispose(session, store, flow, message, kind))
        finally:
            store.release(message_id, run_id=run_id)
        if kind == "error":
            outcome.errored += 1
        else:
            outcome.archived += 1
    return outcome


def _dispose(
    session: FileSession, store: MessageStore, flow: FlowConfig, message: Message, kind: str
) -> str:
    """Move the message's source file (and done marker) and return where it went.

    Where it goes is recorded before it moves, and a rejected file's report is
    written before it moves too, so a crash at any point leaves a record
    the next run finishes from: never a file nobody knows the place of, never
    a file in ``error/`` without its report.
    """
    source = file_endpoint(flow.source, "source")
    folder = source.error_folder if kind == "error" else source.archive_folder
    if message.disposal is not None:
        new_path = message.disposal.split(":", 1)[1]  # a crashed run chose it already
    elif session.exists(message.source_name):
        new_path = session.free_path(folder, posixpath.basename(message.source_name))
        store.set_disposal(message.id, f"{kind}:{new_path}")
        failpoint("acknowledge.intended")
    else:
        log.warning(
            "message %d: %s is no longer in the inbound folder", message.id, message.source_name
        )
        return f"{kind}:missing"
    if kind == "error":
        report = "\n".join(str(p) for p in message.problems) + "\n"
        session.write_atomic(
            folder, posixpath.basename(new_path) + ".problems.txt", report.encode()
        )
        failpoint("acknowledge.reported")
    if session.exists(message.source_name):
        session.move_to(message.source_name, new_path)
        failpoint("acknowledge.moved")
    elif not session.exists(new_path):
        log.warning("message %d: %s is gone from both places", message.id, message.source_name)
        return f"{kind}:missing"
    _move_done_marker(session, source.done_suffix, message.source_name, folder)
    return f"{kind}:{new_path}"


def _move_done_marker(
    session: FileSession, done_suffix: str | None, source_name: str, folder: str
) -> None:
    if not done_suffix:
        return
    name = posixpath.basename(source_name)
    remote = RemoteFile(name=name, path=source_name, size=0, mtime=None)
    marker = done_marker_path(remote, done_suffix)
    if session.exists(marker):
        session.move(marker, folder)
