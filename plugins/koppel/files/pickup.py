"""Which inbound files are complete: the read-lock of Apache Camel's file component.

A partner's upload over FTP looks like a growing file; reading it too early
delivers half an order. Partners signal completeness one of two ways, and
Koppel supports both: a done-marker file written after the data file, or a
size and mtime that stop changing ("changed" read-lock).
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from koppel.files.base import is_temp_name
from koppel.files.session import FileSession, RemoteFile


def done_marker_path(file: RemoteFile, done_suffix: str) -> str:
    """Return the path of the marker that says ``file`` is complete.

    Callers move or remove the marker together with the file, so the next
    run does not see a marker without its data file.
    """
    return posixpath.join(posixpath.dirname(file.path), file.name + done_suffix)


def find_complete(
    session: FileSession,
    folder: str,
    pattern: str,
    *,
    done_suffix: str | None,
    stable_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> list[RemoteFile]:
    """Return the files in ``folder`` matching ``pattern`` that are safe to read.

    Args:
        session: An open file session.
        folder: The folder to look in.
        pattern: An ``fnmatch`` pattern (case-sensitive), e.g. ``"*.xml"``.
        done_suffix: With a suffix such as ``".done"``, a file is complete only
            when ``<name><done_suffix>`` exists; the markers never match.
        stable_seconds: Without a done suffix, list twice this far apart and
            keep the files whose size and mtime did not change.
        sleep: Waits between the two listings (injectable for tests).

    Returns:
        The complete files, sorted by name. Our own ``.*.part`` uploads never match.
    """
    listing = session.list_files(folder)
    candidates = _matching(listing, pattern, done_suffix)
    if done_suffix is not None:
        names = {remote.name for remote in listing}
        return [remote for remote in candidates if remote.name + done_suffix in names]
    if stable_seconds <= 0 or not candidates:
        return candidates
    sleep(stable_seconds)
    again = {remote.name: remote for remote in session.list_files(folder)}
    return [remote for remote in candidates if _unchanged(remote, again.get(remote.name))]


def _matching(
    files: Iterable[RemoteFile], pattern: str, done_suffix: str | None
) -> list[RemoteFile]:
    return sorted(
        (
            remote
            for remote in files
            if fnmatchcase(remote.name, pattern)
            and not is_temp_name(remote.name)
            and not (done_suffix and remote.name.endswith(done_suffix))
        ),
        key=lambda remote: remote.name,
    )


def _unchanged(before: RemoteFile, after: RemoteFile | None) -> bool:
    return after is not None and (after.size, after.mtime) == (before.size, before.mtime)
