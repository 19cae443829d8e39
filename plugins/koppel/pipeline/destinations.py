"""Where outbound payloads go: a folder on a file server, or an API (HTTP resource, SOAP operation).

The pipeline asks for a destination per endpoint and hands it payloads; it
never knows whether a delivery is a file rename or an HTTP PUT. Connections
are opened on first use and shared per server, so a run that delivers nothing
connects to nothing and a run that delivers a thousand files logs in once.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from koppel.config import ApiEndpoint, Endpoint, FileEndpoint, SqlEndpoint
from koppel.errors import ConfigError
from koppel.files import FileSession


class Destination(Protocol):
    """Takes one outbound payload to its target."""

    def deliver(self, target_name: str, payload: bytes) -> str | None:
        """Deliver ``payload`` as ``target_name``; return the target's receipt (an id), if any.

        Raises:
            TransportError: the target could not be reached (retriable).
            FatalSyncError: the target refused this payload (it will refuse it again).
        """
        ...


@dataclass(frozen=True)
class FileDestination:
    """A folder on an SFTP/FTP server: write-then-rename, then the done marker if wanted.

    Delivery has a point of no return: the upload goes to a temporary name
    (:meth:`stage`), then is renamed (:meth:`publish`). The pipeline records
    in between that the upload is complete, so after a crash :meth:`settle`
    tells from the server whether the rename happened, and a file the
    partner has already collected is not sent again.
    """

    session: FileSession
    endpoint: FileEndpoint

    def deliver(self, target_name: str, payload: bytes) -> str | None:
        if self.stage(target_name, payload):
            self.publish(target_name)
        else:
            self.settle(target_name, payload)
        return None

    def stage(self, target_name: str, payload: bytes) -> bool:
        """Upload under the temporary name; False if the target already holds these bytes."""
        return self.session.stage(self.endpoint.folder, posixpath.basename(target_name), payload)

    def publish(self, target_name: str) -> None:
        """Make the staged upload visible under its final name, then mark it done."""
        filename = posixpath.basename(target_name)
        self.session.publish(self.endpoint.folder, filename)
        self._mark_done(filename)

    def settle(self, target_name: str, payload: bytes) -> None:
        """Finish a staged delivery a crash cut short, without sending it twice."""
        filename = posixpath.basename(target_name)
        self.session.settle(self.endpoint.folder, filename, payload)
        if self.session.exists(posixpath.join(self.endpoint.folder, filename)):
            self._mark_done(filename)  # the crash may have come between rename and marker

    def _mark_done(self, filename: str) -> None:
        if self.endpoint.done_suffix:
            self.session.write_atomic(
                self.endpoint.folder, filename + self.endpoint.done_suffix, b""
            )


OpenSession = Callable[[FileEndpoint], AbstractContextManager[FileSession]]
OpenApi = Callable[[ApiEndpoint], AbstractContextManager[Destination]]
OpenSql = Callable[[SqlEndpoint], AbstractContextManager[Destination]]


class Destinations:
    """The destinations of one task run, opened lazily and closed together.

    Args:
        open_session: opens a file session on an endpoint's server.
        open_api: opens a destination on an API endpoint; None when the
            caller delivers to files only.
        open_sql: opens a destination on a database's tables; None when the
            caller delivers no SQL endpoints.
    """

    def __init__(
        self,
        open_session: OpenSession,
        open_api: OpenApi | None = None,
        open_sql: OpenSql | None = None,
    ) -> None:
        self._open_session = open_session
        self._open_api = open_api
        self._open_sql = open_sql
        self._stack = ExitStack()
        self._sessions: dict[tuple[str, str], FileSession] = {}
        self._apis: dict[tuple[str, str, str], Destination] = {}

    def get(self, endpoint: Endpoint) -> Destination:
        """The destination of ``endpoint``, sharing one session per file server."""
        if isinstance(endpoint, FileEndpoint):
            key = (endpoint.transport, endpoint.conn_id)
            if key not in self._sessions:
                self._sessions[key] = self._stack.enter_context(self._open_session(endpoint))
            return FileDestination(self._sessions[key], endpoint)
        if isinstance(endpoint, SqlEndpoint):
            if self._open_sql is None:
                raise ConfigError("no way to deliver to sql endpoints here")
            sql_key = ("sql", endpoint.conn_id, endpoint.table)
            if sql_key not in self._apis:
                self._apis[sql_key] = self._stack.enter_context(self._open_sql(endpoint))
            return self._apis[sql_key]
        if self._open_api is None:
            raise ConfigError(f"no way to deliver to {endpoint.transport} endpoints here")
        api_key = (endpoint.transport, endpoint.conn_id, endpoint.operation)
        if api_key not in self._apis:
            self._apis[api_key] = self._stack.enter_context(self._open_api(endpoint))
        return self._apis[api_key]

    def __enter__(self) -> Destinations:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()
