"""What a file channel offers, independent of the protocol behind it.

Flows, pickup and delivery talk to a :class:`FileSession` only, so the same
code serves SFTP and FTP partners, and the pickup algorithm can be tested
against a few lines of in-memory storage.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from koppel.errors import FatalSyncError, TransportError


@dataclass(frozen=True)
class RemoteFile:
    """A regular file on a partner's server, as seen in one listing.

    Attributes:
        name: The base name, e.g. ``order-1.xml``.
        path: The full POSIX path, e.g. ``/acme/in/order-1.xml``.
        size: Size in bytes at listing time.
        mtime: Modification time (seconds since the epoch, UTC) when the
            server reports one; the stable-size check compares it.
    """

    name: str
    path: str
    size: int
    mtime: float | None


#: Requests a batch method keeps in flight at once by default: enough to hide the
#: round trip to a partner's server, few enough not to trip its session limits.
MAX_IN_FLIGHT = 16


class FileTooLargeError(FatalSyncError):
    """A file exceeds the size a flow accepts; retrying will not shrink it."""


class TargetExistsError(FatalSyncError):
    """A delivery would overwrite a different file of the same name.

    Outbound files are never overwritten silently: the partner may already
    have read the first one, so a human must decide.
    """


class FolderNotFoundError(TransportError):
    """A folder to list does not exist (yet) on the server.

    Retriable: partners create folders late, and a missing mount comes back.
    """


class FileSession(Protocol):
    """One open connection to a file server, with Camel-like exchange semantics.

    All paths are POSIX strings. Implementations raise
    :class:`~koppel.errors.TransportError` for anything the server refuses.

    The ``*_many`` methods do what their single-item namesakes do for each
    item, with several requests in flight at once, because a flow of
    thousands of small files is bound by round trips, not bytes. When an item
    fails, the batch raises the error of the first failing item in input
    order once the requests already sent have finished; items after it may
    have been done as well (each single-item operation is safe to repeat or
    to settle, so the caller's retry finds them done).
    """

    def list_files(self, folder: str) -> list[RemoteFile]:
        """Return the regular files in ``folder`` (not recursive), sorted by name."""
        ...

    def read_bytes(self, path: str, max_bytes: int | None = None) -> bytes:
        """Download a file; raise :class:`FileTooLargeError` above ``max_bytes``."""
        ...

    def read_many(
        self, files: Sequence[RemoteFile], max_bytes: int | None = None
    ) -> Iterator[tuple[RemoteFile, bytes | FileTooLargeError]]:
        """Download ``files``, yielding each with its bytes in input order.

        A file above ``max_bytes`` yields its :class:`FileTooLargeError`
        instead of bytes (the caller rejects that one file and goes on);
        anything else the server refuses raises
        :class:`~koppel.errors.TransportError` when its turn comes.
        """
        ...

    def read_chunks(self, path: str, max_bytes: int | None = None) -> Iterator[bytes]:
        """Download a file piece by piece (about a megabyte each), never whole in memory.

        For catalogues far larger than any whole-file limit. Raises
        :class:`FileTooLargeError` before the first byte when the file is
        listed above ``max_bytes``, and while reading when it grows past it.
        """
        ...

    def write_atomic(self, folder: str, name: str, data: bytes) -> str:
        """Write ``data`` under a temporary name, then rename it; return the final path."""
        ...

    def stage(self, folder: str, name: str, data: bytes) -> bool:
        """Upload ``data`` under the temporary name; False if ``name`` already has these bytes."""
        ...

    def stage_many(self, folder: str, items: Sequence[tuple[str, bytes]]) -> list[bool]:
        """:meth:`stage` each ``(name, data)`` into ``folder``; one result per item, in order."""
        ...

    def publish(self, folder: str, name: str) -> str:
        """Rename the staged upload to ``folder/name``; return the final path."""
        ...

    def publish_many(self, folder: str, names: Sequence[str]) -> list[str]:
        """:meth:`publish` each staged name in ``folder``; return the final paths in order."""
        ...

    def settle(self, folder: str, name: str, data: bytes) -> bool:
        """Finish a staged upload cut short by a crash; True if this call published it."""
        ...

    def exists(self, path: str) -> bool:
        """Tell whether a regular file exists at ``path``."""
        ...

    def makedirs(self, folder: str) -> None:
        """Create ``folder`` and its missing parents."""
        ...

    def remove(self, path: str) -> None:
        """Delete the file at ``path``."""
        ...

    def move(self, path: str, folder: str) -> str:
        """Move a file into ``folder`` without overwriting; return its new path."""
        ...

    def move_many(self, paths: Sequence[str], folder: str) -> list[str]:
        """:meth:`move` each file into ``folder``, never overwriting; return the new paths."""
        ...

    def move_to(self, path: str, target: str) -> str:
        """Move a file to exactly ``target``; return it."""
        ...

    def free_path(self, folder: str, name: str) -> str:
        """A path in ``folder`` for ``name`` that no file has yet."""
        ...
