"""SFTP primitives over one open paramiko ``SFTPClient``.

The client is opened (and its host key checked) by whoever owns the
connection — the Airflow hook in production — so this module only speaks
SFTP and never sees credentials. The batch methods keep many requests in
flight on that same channel (see :mod:`koppel.files.sftp_pipeline`).
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Iterator, Sequence
from contextlib import closing
from typing import Any

import paramiko

from koppel.files.base import BaseFileSession, candidate_paths, temp_name
from koppel.files.session import MAX_IN_FLIGHT, FileTooLargeError, RemoteFile
from koppel.files.sftp_pipeline import (
    DoneOp,
    MoveOp,
    Op,
    Pipeline,
    ReadOp,
    RenameOp,
    StageOp,
    run_ops,
    waves,
)

#: Bytes per READ request when streaming: paramiko's own request size.
READ_SIZE = 32_768
#: READ requests in flight per window when streaming (128 doubled 32's throughput).
READS_PER_WINDOW = 128
#: READ replies joined into one yielded piece (about a megabyte).
READS_PER_CHUNK = 32


class SFTPFileSession(BaseFileSession):
    """A file session over an already connected paramiko ``SFTPClient``."""

    transport_errors = (OSError, EOFError, paramiko.SSHException, paramiko.sftp.SFTPError)

    def __init__(
        self, client: paramiko.SFTPClient, label: str, max_in_flight: int = MAX_IN_FLIGHT
    ) -> None:
        """Wrap ``client``; the caller keeps ownership and closes it.

        Args:
            client: An open SFTP client.
            label: How errors name this connection (no secrets).
            max_in_flight: Batch items whose requests may be in flight at once.
        """
        super().__init__(label)
        self._client = client
        self.max_in_flight = max_in_flight

    # -- batches ------------------------------------------------------------

    def read_many(
        self, files: Sequence[RemoteFile], max_bytes: int | None = None
    ) -> Iterator[tuple[RemoteFile, bytes | FileTooLargeError]]:
        """Download ``files`` with up to :attr:`max_in_flight` of them in flight; yield in order.

        A file listed above ``max_bytes`` is refused without a request; one
        that grew past it since is cut off after ``max_bytes + 1`` bytes and
        refused, so memory stays bounded either way.
        """
        pipe = Pipeline(self._client, self.label)

        def ops() -> Iterator[Op]:
            for remote in files:
                if max_bytes is not None and remote.size > max_bytes:
                    refused = self._too_large(remote.path, remote.size, max_bytes)
                    yield DoneOp(pipe, remote.path, refused)
                else:
                    limit = None if max_bytes is None else max_bytes + 1
                    yield ReadOp(pipe, remote.path, remote.size, limit)

        # Closing the batch drives the items already started to their end
        # however this generator is left (exhausted, an error, the caller's break).
        with closing(run_ops(pipe, ops(), self.max_in_flight)) as batch:
            for op, remote in zip(batch, files, strict=True):
                if op.error is not None:
                    raise op.error
                result: bytes | FileTooLargeError = op.result
                if max_bytes is not None and isinstance(result, bytes) and len(result) > max_bytes:
                    result = self._too_large(remote.path, len(result), max_bytes, at_least=True)
                yield remote, result

    def stage_many(self, folder: str, items: Sequence[tuple[str, bytes]]) -> list[bool]:
        """:meth:`stage` every item, pipelined: stat, then upload or compare, per item."""
        for name, _ in items:
            _check_plain_name(name)
        if not items:
            return []
        self.makedirs(folder)
        pipe = Pipeline(self._client, self.label)
        ops = [
            StageOp(
                pipe, posixpath.join(folder, name), posixpath.join(folder, temp_name(name)), data
            )
            for name, data in items
        ]
        return [bool(result) for result in self._run(pipe, ops, [name for name, _ in items])]

    def publish_many(self, folder: str, names: Sequence[str]) -> list[str]:
        """:meth:`publish` every name, pipelined: one rename request each."""
        pipe = Pipeline(self._client, self.label)
        ops = [
            RenameOp(pipe, posixpath.join(folder, temp_name(name)), posixpath.join(folder, name))
            for name in names
        ]
        return [str(result) for result in self._run(pipe, ops, list(names))]

    def move_many(self, paths: Sequence[str], folder: str) -> list[str]:
        """:meth:`move` every file into ``folder``, pipelined: stat free names, then rename."""
        if not paths:
            return []
        self.makedirs(folder)
        pipe = Pipeline(self._client, self.label)
        names = [posixpath.basename(path) for path in paths]
        ops = [
            MoveOp(pipe, path, candidate_paths(folder, name))
            for path, name in zip(paths, names, strict=True)
        ]
        return [str(result) for result in self._run(pipe, ops, names)]

    def _run(self, pipe: Pipeline, ops: Sequence[Op], keys: list[str]) -> list[object]:
        """Run ``ops`` in waves of distinct ``keys``; raise the first error in input order."""
        results: list[object] = [None] * len(ops)
        for wave in waves(keys):
            with closing(run_ops(pipe, (ops[i] for i in wave), self.max_in_flight)) as batch:
                for index, op in zip(wave, batch, strict=True):
                    if op.error is not None:
                        raise op.error
                    results[index] = op.result
        return results

    # -- primitives ---------------------------------------------------------

    def _list(self, folder: str) -> list[RemoteFile] | None:
        try:
            entries = self._client.listdir_attr(folder)
        except FileNotFoundError:
            return None
        return [
            _remote_file(posixpath.join(folder, entry.filename), entry)
            for entry in entries
            if entry.st_mode is not None and stat.S_ISREG(entry.st_mode)
        ]

    def _stat(self, path: str) -> RemoteFile | None:
        try:
            attributes = self._client.stat(path)
        except FileNotFoundError:
            return None
        if attributes.st_mode is None or not stat.S_ISREG(attributes.st_mode):
            return None
        return _remote_file(path, attributes)

    def _is_dir(self, path: str) -> bool:
        try:
            attributes = self._client.stat(path)
        except FileNotFoundError:
            return False
        return attributes.st_mode is not None and stat.S_ISDIR(attributes.st_mode)

    def _mkdir(self, path: str) -> None:
        self._client.mkdir(path)

    def _download(self, path: str) -> bytes:
        with self._client.open(path, "rb") as handle:
            handle.prefetch()
            data: bytes = handle.read()
        return data

    def _download_chunks(self, path: str) -> Iterator[bytes]:
        """Windows of pipelined reads (paramiko's ``readv``), yielded about a megabyte at a time.

        Memory stays one window, and all of a window's requests are in flight
        at once: a catalogue of hundreds of megabytes streams at the link's
        speed instead of one round trip per 32 KiB.
        """
        with self._client.open(path, "rb") as handle:
            size = int(handle.stat().st_size or 0)
            window = READ_SIZE * READS_PER_WINDOW
            for start in range(0, size, window):
                end = min(start + window, size)
                requests = [(o, min(READ_SIZE, end - o)) for o in range(start, end, READ_SIZE)]
                pieces: list[bytes] = []
                for piece in handle.readv(requests):
                    pieces.append(piece)
                    if len(pieces) == READS_PER_CHUNK:
                        yield b"".join(pieces)
                        pieces = []
                if pieces:
                    yield b"".join(pieces)
            # A file appended to after the stat is read on, so the size check sees it.
            handle.seek(size)
            while tail := handle.read(window):
                yield tail

    def _upload(self, path: str, data: bytes) -> None:
        with self._client.open(path, "wb") as handle:
            handle.set_pipelined(True)
            handle.write(data)

    def _rename(self, source: str, target: str) -> None:
        self._client.rename(source, target)

    def _remove(self, path: str) -> None:
        self._client.remove(path)


def _check_plain_name(name: str) -> None:
    if not name or "/" in name:
        raise ValueError(f"file name {name!r} must be a plain name without '/'")


def _remote_file(path: str, attributes: Any) -> RemoteFile:
    """Build a RemoteFile from paramiko ``SFTPAttributes`` (untyped upstream)."""
    mtime = attributes.st_mtime
    return RemoteFile(
        name=posixpath.basename(path),
        path=path,
        size=int(attributes.st_size or 0),
        mtime=None if mtime is None else float(mtime),
    )
