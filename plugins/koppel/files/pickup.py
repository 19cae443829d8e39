"""Which inbound files are complete: the read-lock of Apache Camel's file component.

A partner's upload over FTP looks like a growing file; reading it too early
delivers half an order. Partners signal completeness one of two ways, and
Koppel supports both: a done-marker file written after the data file, or a
size and mtime that stop changing ("changed" read-lock).

The stable-size check costs a wait of ``stable_seconds`` only when some file
was modified that recently: a file whose mtime is older was not written to
during that interval, which is what the second listing would prove. So a
batch that arrived since the last scheduled run is taken at once, and a run
waits at most once, whatever the number of files.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from koppel.files.base import is_temp_name
from koppel.files.session import FileSession, RemoteFile

#: Servers report mtimes in whole seconds (SFTP, FTP's MLSD): a file stamped
#: ``t`` may have been written until just before ``t + 1``.
MTIME_RESOLUTION_SECONDS = 1.0


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
    clock: Callable[[], float] = time.time,
) -> list[RemoteFile]:
    """Return the files in ``folder`` matching ``pattern`` that are safe to read.

    Args:
        session: An open file session.
        folder: The folder to look in.
        pattern: An ``fnmatch`` pattern (case-sensitive), e.g. ``"*.xml"``.
        done_suffix: With a suffix such as ``".done"``, a file is complete only
            when ``<name><done_suffix>`` exists; the markers never match.
        stable_seconds: Without a done suffix, a file is complete once it was
            not modified for this long: its mtime is older, or, when some file
            is younger (or has no mtime), a second listing this far apart shows
            the same size and mtime.
        sleep: Waits between the two listings (injectable for tests).
        clock: The current time, seconds since the epoch (injectable for tests).
            Comparing it with the server's mtimes assumes clocks that agree
            within ``stable_seconds``, as Camel's ``readLockMinAge`` does; a
            file dated in the future counts as young.

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
    settled_before = clock() - stable_seconds - MTIME_RESOLUTION_SECONDS
    if all(remote.mtime is not None and remote.mtime <= settled_before for remote in candidates):
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
