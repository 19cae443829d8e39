"""Step 3: move each finished inbound file out of the inbound folder.

Delivered files go to the archive folder; rejected ones to the error folder
with a ``.problems.txt`` report beside them, so a partner looking at the
server sees why. A file is moved only after its outcome is stored; where it
goes is recorded before the move and confirmed after, so a crash between any
two steps leaves a record that the next run completes.

A rejected message replayed after a fix (``koppel replay``) may pass while
its file lies in the error folder: that file goes on to the archive and its
report is removed, so the error folder holds only what is still wrong.
"""

from __future__ import annotations

import logging
import posixpath
from collections import Counter
from collections.abc import Sequence

from koppel.config import ConnectionConfig, FlowConfig, file_endpoint
from koppel.errors import TransportError
from koppel.faults import failpoint
from koppel.files import FileSession, RemoteFile, done_marker_path
from koppel.pipeline.outcome import AcknowledgeOutcome
from koppel.store import Direction, MessageStatus, MessageStore, MessageSummary

log = logging.getLogger(__name__)

_FINISHED = (MessageStatus.DELIVERED, MessageStatus.SKIPPED, MessageStatus.REJECTED)


def acknowledge_batch(
    session: FileSession,
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    run_id: str,
    message_ids: Sequence[int] | None = None,
) -> AcknowledgeOutcome:
    """Archive or error-folder every finished inbound file that is still in the inbound folder.

    Then archive the files of replayed messages that now passed but lie in
    the error folder. ``message_ids`` narrows both to those messages (a
    replay of one message now). Each message is claimed first, so two runs
    never move the same file.
    """
    outcome = AcknowledgeOutcome()
    candidates = _only(
        store.candidate_ids(
            connection_id=connection.id,
            flow=flow.name,
            direction=Direction.IN,
            statuses=_FINISHED,
            undisposed=True,
        ),
        message_ids,
    )
    for start in range(0, len(candidates), CHUNK_MESSAGES):
        claimed = store.claim_many(
            candidates[start : start + CHUNK_MESSAGES],
            run_id=run_id,
            statuses=_FINISHED,
            lease_seconds=flow.claim_seconds,
            undisposed=True,
        )
        if not claimed:
            continue
        try:
            chunk = store.get_summaries(claimed)
            archived = _archive_together(session, store, flow, chunk, run_id=run_id)
            # The rest read again: a batch that failed half-way recorded where its files go.
            for message in store.get_summaries(set(claimed) - archived):
                kind = "error" if message.status is MessageStatus.REJECTED else "archive"
                store.set_disposition(message.id, _dispose(session, store, flow, message, kind))
                store.release(message.id, run_id=run_id)
        finally:
            store.release_many(claimed, run_id=run_id)
        for message in chunk:
            if message.status is MessageStatus.REJECTED:
                outcome.errored += 1
            else:
                outcome.archived += 1
    misfiled = _only(store.misfiled_ids(connection_id=connection.id, flow=flow.name), message_ids)
    outcome.archived += _refile(session, store, flow, misfiled, run_id=run_id)
    return outcome


def _only(candidates: list[int], message_ids: Sequence[int] | None) -> list[int]:
    """The candidates among ``message_ids``; all of them when no ids are given."""
    if message_ids is None:
        return candidates
    wanted = set(message_ids)
    return [c for c in candidates if c in wanted]


def _refile(
    session: FileSession,
    store: MessageStore,
    flow: FlowConfig,
    message_ids: list[int],
    *,
    run_id: str,
) -> int:
    """Move the error-folder files of messages that passed on a replay to the archive.

    The file's place in the error folder stays recorded (``disposition``)
    until the move is confirmed, and its place in the archive is recorded
    (``disposal``) before the move: a crash at any point leaves both ends
    known, and the next run finishes the move. The stale report goes once
    the file is in the archive. Returns how many files were archived.
    """
    if not message_ids:
        return 0
    claimed = store.claim_many(
        message_ids,
        run_id=run_id,
        statuses=(MessageStatus.DELIVERED, MessageStatus.SKIPPED),
        lease_seconds=flow.claim_seconds,
    )
    try:
        for message in store.get_summaries(claimed):
            store.set_disposition(message.id, _archive_from_error(session, store, flow, message))
            store.release(message.id, run_id=run_id)
    finally:
        store.release_many(claimed, run_id=run_id)
    return len(claimed)


def _archive_from_error(
    session: FileSession, store: MessageStore, flow: FlowConfig, message: MessageSummary
) -> str:
    """Move one misfiled file from the error folder to the archive; return where it went."""
    error_path = (message.disposition or "").split(":", 1)[1]
    source = file_endpoint(flow.source, "source")
    if message.disposal is not None and message.disposal.startswith("archive:"):
        new_path = message.disposal.split(":", 1)[1]  # a crashed run chose it already
    elif session.exists(error_path):
        new_path = session.free_path(source.archive_folder, posixpath.basename(error_path))
        store.set_disposal(message.id, f"archive:{new_path}")
        failpoint("acknowledge.intended")
    else:
        log.warning("message %d: %s is no longer in the error folder", message.id, error_path)
        return "archive:missing"
    if session.exists(error_path):
        session.move_to(error_path, new_path)
        failpoint("acknowledge.moved")
    elif not session.exists(new_path):
        log.warning("message %d: %s is gone from both places", message.id, error_path)
        return "archive:missing"
    report = error_path + ".problems.txt"
    if session.exists(report):
        session.remove(report)
    _move_done_marker(session, source.done_suffix, error_path, source.archive_folder)
    return f"archive:{new_path}"


#: Messages claimed, moved and recorded together.
CHUNK_MESSAGES = 200


def _archive_together(
    session: FileSession,
    store: MessageStore,
    flow: FlowConfig,
    chunk: list[MessageSummary],
    *,
    run_id: str,
) -> set[int]:
    """Archive the chunk's plain cases in one go; return the ids done.

    Plain: a finished, not rejected message whose move was not begun before,
    from a folder without done markers, whose name no earlier file has in the
    archive (the store knows every place it put a file). Each file's place in
    the archive folder is recorded for all of them (one transaction), the
    files are moved (many renames in flight) and their places confirmed (one
    transaction).
    A crash in between leaves each with its recorded place, which
    :func:`_dispose` finishes from. Everything else, and a chunk whose moves
    fail (a file gone from the inbound folder), goes one by one.
    """
    source = file_endpoint(flow.source, "source")
    if source.done_suffix:
        return set()
    folder = source.archive_folder
    places = {m.id: f"archive:{posixpath.join(folder, _name(m))}" for m in chunk}
    # A name an earlier file (or another in this chunk) has in the archive needs a free one.
    taken = store.taken_dispositions(
        connection_id=chunk[0].connection_id, flow=flow.name, dispositions=places.values()
    )
    wanted = Counter(places.values())
    plain = [
        m
        for m in chunk
        if m.status is not MessageStatus.REJECTED
        and m.disposal is None
        and places[m.id] not in taken
        and wanted[places[m.id]] == 1
    ]
    if not plain:
        return set()
    store.set_disposals({m.id: places[m.id] for m in plain})
    for _ in plain:
        failpoint("acknowledge.intended")
    try:
        moved = session.move_many([m.source_name for m in plain], folder)
    except TransportError as exc:
        log.warning("moving %d file(s) together failed (%s); one by one instead", len(plain), exc)
        return set()
    for _ in plain:
        failpoint("acknowledge.moved")
    store.set_dispositions(
        {m.id: f"archive:{path}" for m, path in zip(plain, moved, strict=True)}, run_id=run_id
    )
    return {m.id for m in plain}


def _name(message: MessageSummary) -> str:
    return posixpath.basename(message.source_name)


def _dispose(
    session: FileSession,
    store: MessageStore,
    flow: FlowConfig,
    message: MessageSummary,
    kind: str,
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
        session.write_atomic(
            folder, posixpath.basename(new_path) + ".problems.txt", _report(message)
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


def rewrite_report(session: FileSession, message: MessageSummary) -> None:
    """Write the report beside a rejected file in the error folder again, with today's problems.

    A replay rejected again keeps the file where it is; the partner looking
    at the server should see why it failed now, not why it failed before.
    """
    kind, _, path = (message.disposition or "").partition(":")
    if kind != "error" or path == "missing":
        return
    session.write_atomic(
        posixpath.dirname(path), posixpath.basename(path) + ".problems.txt", _report(message)
    )


def _report(message: MessageSummary) -> bytes:
    """The ``.problems.txt`` beside a rejected file: its problems, one a line."""
    return ("\n".join(str(p) for p in message.problems) + "\n").encode()
