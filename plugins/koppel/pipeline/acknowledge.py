"""Step 3: move each finished inbound file out of the inbound folder.

Delivered files go to the archive folder; rejected ones to the error folder
with a ``.problems.txt`` report beside them, so a partner looking at the
server sees why. A file is moved only after its outcome is stored, and the
move is recorded, so a crash between the two leaves at worst a file that the
next run moves.
"""

from __future__ import annotations

import logging
import posixpath

from koppel.config import ConnectionConfig, FlowConfig, file_endpoint
from koppel.files import FileSession, RemoteFile, done_marker_path
from koppel.pipeline.outcome import AcknowledgeOutcome
from koppel.store import Direction, Message, MessageStatus, MessageStore

log = logging.getLogger(__name__)

_FINISHED = (MessageStatus.DELIVERED, MessageStatus.SKIPPED, MessageStatus.REJECTED)


def acknowledge_batch(
    session: FileSession, store: MessageStore, connection: ConnectionConfig, flow: FlowConfig
) -> AcknowledgeOutcome:
    """Archive or error-folder every finished inbound file that is still in the inbound folder."""
    outcome = AcknowledgeOutcome()
    finished = store.find(
        connection_id=connection.id,
        flow=flow.name,
        direction=Direction.IN,
        statuses=_FINISHED,
        disposed=False,
    )
    for message in finished:
        if message.status is MessageStatus.REJECTED:
            store.set_disposition(message.id, _dispose(session, flow, message, "error"))
            outcome.errored += 1
        else:
            store.set_disposition(message.id, _dispose(session, flow, message, "archive"))
            outcome.archived += 1
    return outcome


def _dispose(session: FileSession, flow: FlowConfig, message: Message, kind: str) -> str:
    """Move the message's source file (and done marker) and return where it went."""
    source = file_endpoint(flow.source, "source")
    folder = source.error_folder if kind == "error" else source.archive_folder
    if not session.exists(message.source_name):
        log.warning(
            "message %d: %s is no longer in the inbound folder", message.id, message.source_name
        )
        return f"{kind}:missing"
    new_path = session.move(message.source_name, folder)
    if source.done_suffix:
        name = posixpath.basename(message.source_name)
        remote = RemoteFile(name=name, path=message.source_name, size=0, mtime=None)
        marker = done_marker_path(remote, source.done_suffix)
        if session.exists(marker):
            session.move(marker, folder)
    if kind == "error":
        report = "\n".join(str(p) for p in message.problems) + "\n"
        session.write_atomic(
            folder, posixpath.basename(new_path) + ".problems.txt", report.encode()
        )
    return f"{kind}:{new_path}"
