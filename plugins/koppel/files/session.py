"""What a file channel offers, independent of the protocol behind it.

Flows, pickup and delivery talk to a :class:`FileSession` only, so the same
code serves SFTP and FTP partners, and the pickup algorithm can be tested
against a few lines of in-memory storage.
"""

from __future__ import annotations

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
    """

    def list_files(self, folder: str) -> list[RemoteFile]:
        """Return the regular files in ``folder`` (not recursive), sorted by name."""
        ...

    def read_bytes(self, path: str, max_bytes: int | None = None) -> bytes:
        """Download a file; raise :class:`FileTooLargeError` above ``max_bytes``."""
        ...

    def write_atomic(self, folder: str, name: str, data: bytes) -> str:
        """Write ``data`` under a temporary name, then rename it; return the final path."""
        ...

    def stage(self, folder: str, name: str, data: bytes) -> bool:
        """Upload ``data`` under the temporary name; False if ``name`` already has these bytes."""
        ...

    def publish(self, folder: str, name: str) -> str:
        """Rename the staged upload to ``folder/name``; return the final path."""
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

    def move_to(self, path: str, target: str) -> str:
        """Move a file to exactly ``target``; return it."""
        ...

    def free_path(self, folder: str, name: str) -> str:
        """A path in ``folder`` for ``name`` that no file has yet."""
        ...
