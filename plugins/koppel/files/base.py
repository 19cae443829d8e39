"""The exchange semantics shared by every protocol: atomic writes, safe moves.

Protocols differ in how they list, stat and rename, not in what a safe
delivery is. Keeping write-then-rename, the no-overwrite rule and collision
renaming here means SFTP and FTP cannot drift apart, and each protocol
adapter only implements a handful of primitive operations.
"""

from __future__ import annotations

import itertools
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from koppel.errors import KoppelError, TransportError
from koppel.files.session import (
    FileTooLargeError,
    FolderNotFoundError,
    RemoteFile,
    TargetExistsError,
)

#: Prefix and suffix of our own in-flight uploads; pickup never matches them.
TEMP_PREFIX = "."
TEMP_SUFFIX = ".part"


def temp_name(name: str) -> str:
    """Return the temporary name a file is uploaded under before its rename."""
    return f"{TEMP_PREFIX}{name}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Tell whether ``name`` is one of our own unfinished uploads."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def candidate_paths(folder: str, name: str) -> Iterator[str]:
    """Where :meth:`BaseFileSession.move` tries to put ``name``, in order, without end.

    First the name itself; then a UTC timestamp before the extension
    (``order.20240101T120000123456Z.xml``), taken when the name is found
    taken; then that name with a counter.
    """
    yield posixpath.join(folder, name)
    stem, extension = posixpath.splitext(name)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    yield posixpath.join(folder, f"{stem}.{stamp}{extension}")
    for counter in itertools.count(1):
        yield posixpath.join(folder, f"{stem}.{stamp}-{counter}{extension}")


class BaseFileSession(ABC):
    """A :class:`~koppel.files.session.FileSession` built on protocol primitives.

    Subclasses implement the ``_``-prefixed primitives and may raise the raw
    client errors listed in :attr:`transport_errors`; the public methods turn
    those into :class:`~koppel.errors.TransportError` naming the connection and
    the path, so every caller gets the same retriable error whatever the protocol.
    """

    #: Client exceptions that mean "the server refused or the link broke".
    transport_errors: tuple[type[BaseException], ...] = (OSError, EOFError)

    def __init__(self, label: str) -> None:
        """Remember how to name this connection in error messages.

        Args:
            label: e.g. ``"sftp connection 'acme_sftp'"``; never a password.
        """
        self.label = label

    # -- primitives -------------------------------------------------------

    @abstractmethod
    def _list(self, folder: str) -> list[RemoteFile] | None:
        """Return the regular files of ``folder``, or None when it does not exist."""

    @abstractmethod
    def _stat(self, path: str) -> RemoteFile | None:
        """Return the regular file at ``path``, or None when there is none."""

    @abstractmethod
    def _is_dir(self, path: str) -> bool:
        """Tell whether ``path`` is an existing directory."""

    @abstractmethod
    def _mkdir(self, path: str) -> None:
        """Create one directory whose parent exists."""

    @abstractmethod
    def _download(self, path: str) -> bytes:
        """Return the whole content of a file."""

    def _download_chunks(self, path: str) -> Iterator[bytes]:
        """Yield a file's content in pieces; protocols that can stream override this."""
        yield self._download(path)

    @abstractmethod
    def _upload(self, path: str, data: bytes) -> None:
        """Create or truncate ``path`` and write ``data`` to it."""

    @abstractmethod
    def _rename(self, source: str, target: str) -> None:
        """Rename ``source`` to ``target`` (which is known not to exist)."""

    @abstractmethod
    def _remove(self, path: str) -> None:
        """Delete one file."""

    # -- the FileSession protocol -----------------------------------------

    def list_files(self, folder: str) -> list[RemoteFile]:
        """Return the regular files in ``folder``, sorted by name.

        Raises:
            FolderNotFoundError: ``folder`` does not exist.
        """
        with self._guard("list", folder):
            files = self._list(folder)
        if files is None:
            raise FolderNotFoundError(f"{self.label}: folder {folder!r} does not exist")
        return sorted(files, key=lambda remote: remote.name)

    def stat(self, path: str) -> RemoteFile | None:
        """Return the regular file at ``path``, or None when there is none."""
        with self._guard("stat", path):
            return self._stat(path)

    def exists(self, path: str) -> bool:
        """Tell whether a regular file exists at ``path``."""
        return self.stat(path) is not None

    def read_bytes(self, path: str, max_bytes: int | None = None) -> bytes:
        """Download a file, refusing it from its size before any byte moves.

        The size is checked again after the download, because a partner may
        still be appending to a file picked up without a read-lock.

        Raises:
            FileTooLargeError: the file is larger than ``max_bytes``.
            TransportError: the file does not exist or cannot be read.
        """
        if max_bytes is not None:
            self._check_listed_size(path, max_bytes)
        with self._guard("read", path):
            data = self._download(path)
        if max_bytes is not None:
            self._check_size(path, len(data), max_bytes)
        return data

    def read_chunks(self, path: str, max_bytes: int | None = None) -> Iterator[bytes]:
        """Stream a file in pieces, refusing it by its size first and again as it grows.

        Raises:
            FileTooLargeError: the file is, or grows, larger than ``max_bytes``.
            TransportError: the file does not exist or cannot be read.
        """
        if max_bytes is not None:
            self._check_listed_size(path, max_bytes)
        size = 0
        with self._guard("read", path):
            for chunk in self._download_chunks(path):
                size += len(chunk)
                if max_bytes is not None:
                    self._check_size(path, size, max_bytes)
                yield chunk

    def read_many(
        self, files: Sequence[RemoteFile], max_bytes: int | None = None
    ) -> Iterator[tuple[RemoteFile, bytes | FileTooLargeError]]:
        """Download ``files`` one after the other, in order (see the protocol).

        Protocols that can keep several requests in flight override this.
        """
        for remote in files:
            try:
                yield remote, self.read_bytes(remote.path, max_bytes)
            except FileTooLargeError as too_large:
                yield remote, too_large

    def makedirs(self, folder: str) -> None:
        """Create ``folder`` and its missing parents; an existing folder is fine."""
        with self._guard("create folder", folder):
            if self._is_dir(folder):
                return
            current = "/" if folder.startswith("/") else ""
            for part in filter(None, folder.split("/")):
                current = posixpath.join(current, part)
                if not self._is_dir(current):
                    self._mkdir(current)

    def remove(self, path: str) -> None:
        """Delete the file at ``path``."""
        with self._guard("remove", path):
            self._remove(path)

    def write_atomic(self, folder: str, name: str, data: bytes) -> str:
        """Deliver ``data`` as ``folder/name`` so the partner never sees half a file.

        The bytes go to ``.{name}.part`` first (a leftover from a crashed run is
        simply overwritten) and are renamed when complete. Re-delivering the
        same bytes is a no-op, so a retried task does not fail.

        Returns:
            The final path.

        Raises:
            TargetExistsError: ``name`` exists with different content.
        """
        if self.stage(folder, name, data):
            self.publish(folder, name)
        return posixpath.join(folder, name)

    def stage(self, folder: str, name: str, data: bytes) -> bool:
        """Upload ``data`` completely under the temporary name of ``folder/name``.

        The first half of :meth:`write_atomic`, for callers that record in
        between that the upload is complete (see :meth:`settle`).

        Returns:
            False when ``name`` already holds exactly these bytes: nothing to publish.

        Raises:
            TargetExistsError: ``name`` exists with different content.
        """
        if not name or "/" in name:
            raise ValueError(f"file name {name!r} must be a plain name without '/'")
        self.makedirs(folder)
        existing = self.stat(posixpath.join(folder, name))
        if existing is not None:
            self._confirm_identical(existing, data)
            return False
        temp = posixpath.join(folder, temp_name(name))
        with self._guard("write", temp):
            self._upload(temp, data)
        return True

    def stage_many(self, folder: str, items: Sequence[tuple[str, bytes]]) -> list[bool]:
        """:meth:`stage` each ``(name, data)`` in order; protocols may pipeline this."""
        return [self.stage(folder, name, data) for name, data in items]

    def publish_many(self, folder: str, names: Sequence[str]) -> list[str]:
        """:meth:`publish` each name in order; protocols may pipeline this."""
        return [self.publish(folder, name) for name in names]

    def publish(self, folder: str, name: str) -> str:
        """Rename the staged upload of ``folder/name`` to its final name; return that path."""
        target = posixpath.join(folder, name)
        temp = posixpath.join(folder, temp_name(name))
        with self._guard("rename", temp):
            self._rename(temp, target)
        return target

    def settle(self, folder: str, name: str, data: bytes) -> bool:
        """After a crash between a complete :meth:`stage` and its record: finish, never repeat.

        The temporary file still there means the rename did not happen: it is
        done now. The final file there with these bytes means it did. Neither
        means it did and the partner has already collected the file: sending
        it again would deliver it twice.

        Returns:
            True when this call published the file, False when it was already published.

        Raises:
            TargetExistsError: ``name`` holds different content (someone else's file).
        """
        existing = self.stat(posixpath.join(folder, name))
        if existing is not None:
            self._confirm_identical(existing, data)
            return False
        if self.exists(posixpath.join(folder, temp_name(name))):
            self.publish(folder, name)
            return True
        return False

    def move(self, path: str, folder: str) -> str:
        """Move a file into ``folder`` (created if missing) without overwriting.

        When the name is taken, a UTC timestamp goes before the extension
        (``order.xml`` becomes ``order.20240101T120000123456Z.xml``), so an
        archive keeps every version of a re-sent file.

        Returns:
            The new path.
        """
        return self.move_to(path, self.free_path(folder, posixpath.basename(path)))

    def move_many(self, paths: Sequence[str], folder: str) -> list[str]:
        """:meth:`move` each file into ``folder`` in order; protocols may pipeline this."""
        return [self.move(path, folder) for path in paths]

    def move_to(self, path: str, target: str) -> str:
        """Move a file to ``target`` exactly (its folder is created if missing); return it."""
        self.makedirs(posixpath.dirname(target))
        with self._guard("move", path):
            self._rename(path, target)
        return target

    def free_path(self, folder: str, name: str) -> str:
        """A path in ``folder`` for ``name`` that no file has yet (see :meth:`move`)."""
        for target in candidate_paths(folder, name):
            if not self.exists(target):
                return target
        raise AssertionError("candidate_paths never ends")

    # -- helpers ----------------------------------------------------------

    @contextmanager
    def _guard(self, action: str, path: str) -> Iterator[None]:
        """Turn a raw client error into a TransportError naming connection and path."""
        try:
            yield
        except KoppelError:
            raise
        except self.transport_errors as exc:
            raise TransportError(f"{self.label}: cannot {action} {path!r}: {exc}") from exc

    def _check_listed_size(self, path: str, max_bytes: int) -> None:
        """Refuse a file from its size on the server, before any byte of it moves."""
        remote = self.stat(path)
        if remote is None:
            raise TransportError(f"{self.label}: file {path!r} does not exist")
        self._check_size(path, remote.size, max_bytes)

    def _check_size(self, path: str, size: int, max_bytes: int) -> None:
        if size > max_bytes:
            raise self._too_large(path, size, max_bytes)

    def _too_large(
        self, path: str, size: int, max_bytes: int, *, at_least: bool = False
    ) -> FileTooLargeError:
        """The error for a file of ``size`` bytes (``at_least`` when it was cut off there)."""
        has = f"at least {size}" if at_least else f"{size}"
        return FileTooLargeError(
            f"{self.label}: file {path!r} has {has} bytes, more than the {max_bytes} allowed"
        )

    def _confirm_identical(self, existing: RemoteFile, data: bytes) -> str:
        same = existing.size == len(data) and self.read_bytes(existing.path) == data
        if not same:
            raise TargetExistsError(
                f"{self.label}: {existing.path!r} already exists with different content"
            )
        return existing.path
