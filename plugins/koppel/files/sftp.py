"""SFTP primitives over one open paramiko ``SFTPClient``.

The client is opened (and its host key checked) by whoever owns the
connection — the Airflow hook in production — so this module only speaks
SFTP and never sees credentials.
"""

from __future__ import annotations

import posixpath
import stat
from typing import Any

import paramiko

from koppel.files.base import BaseFileSession
from koppel.files.session import RemoteFile


class SFTPFileSession(BaseFileSession):
    """A file session over an already connected paramiko ``SFTPClient``."""

    transport_errors = (OSError, EOFError, paramiko.SSHException, paramiko.sftp.SFTPError)

    def __init__(self, client: paramiko.SFTPClient, label: str) -> None:
        """Wrap ``client``; the caller keeps ownership and closes it.

        Args:
            client: An open SFTP client.
            label: How errors name this connection (no secrets).
        """
        super().__init__(label)
        self._client = client

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

    def _upload(self, path: str, data: bytes) -> None:
        with self._client.open(path, "wb") as handle:
            handle.set_pipelined(True)
            handle.write(data)

    def _rename(self, source: str, target: str) -> None:
        self._client.rename(source, target)

    def _remove(self, path: str) -> None:
        self._client.remove(path)


def _remote_file(path: str, attributes: Any) -> RemoteFile:
    """Build a RemoteFile from paramiko ``SFTPAttributes`` (untyped upstream)."""
    mtime = attributes.st_mtime
    return RemoteFile(
        name=posixpath.basename(path),
        path=path,
        size=int(attributes.st_size or 0),
        mtime=None if mtime is None else float(mtime),
    )
