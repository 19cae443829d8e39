"""Where a contract case delivers: nowhere, but through the same delivery code a run uses.

The pipeline delivers a file through a :class:`~koppel.pipeline.destinations.FileDestination`
on a :class:`~koppel.files.FileSession` (stage, rename, done marker), and
anything else through a :class:`~koppel.pipeline.destinations.Destination`.
A case keeps both in memory, so the decision, the outbound copies and their
delivery attempts are stored exactly as a DAG run stores them, with no server.
"""

from __future__ import annotations

import posixpath

from koppel.config import Endpoint, FileEndpoint
from koppel.files import RemoteFile
from koppel.files.base import BaseFileSession
from koppel.pipeline.destinations import Destination, FileDestination


class MemoryFileSession(BaseFileSession):
    """A file server in a dict: every folder exists, nothing leaves the process."""

    def __init__(self) -> None:
        super().__init__("contract case (in memory)")
        self.files: dict[str, bytes] = {}

    def _list(self, folder: str) -> list[RemoteFile] | None:
        return [self._remote(p) for p in self.files if posixpath.dirname(p) == folder]

    def _remote(self, path: str) -> RemoteFile:
        return RemoteFile(posixpath.basename(path), path, len(self.files[path]), 0.0)

    def _stat(self, path: str) -> RemoteFile | None:
        return self._remote(path) if path in self.files else None

    def _is_dir(self, path: str) -> bool:
        return True  # a case never fails on a missing folder: that is the transport's business

    def _mkdir(self, path: str) -> None:
        return None

    def _download(self, path: str) -> bytes:
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]

    def _upload(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def _rename(self, source: str, target: str) -> None:
        self.files[target] = self.files.pop(source)

    def _remove(self, path: str) -> None:
        del self.files[path]


class RecordingDestination:
    """An API or SQL target that accepts every payload and keeps it, in order."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, bytes]] = []

    def deliver(self, target_name: str, payload: bytes) -> str | None:
        self.delivered.append((target_name, payload))
        return None


class RecordingDestinations:
    """The destinations of one case: one in-memory file server, one recorder for the rest."""

    def __init__(self) -> None:
        self.session = MemoryFileSession()
        self.recorder = RecordingDestination()

    def get(self, endpoint: Endpoint) -> Destination:
        """The destination ``process_pending`` asks for, per endpoint."""
        if isinstance(endpoint, FileEndpoint):
            return FileDestination(self.session, endpoint)
        return self.recorder
