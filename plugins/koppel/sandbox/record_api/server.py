"""A record API served over HTTP on 127.0.0.1: the socket, the thread, the test helpers.

The webshop and CRM servers are this class with their own collections, seed
and builders; everything a test or the demo does with a server (start, stop,
the Airflow connection, failures, the requests received) lives here once.
"""

from __future__ import annotations

import json
import secrets
import threading
from abc import abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

from koppel.sandbox.lifecycle import LocalServer
from koppel.sandbox.record_api.api import Collection, RecordApi
from koppel.sandbox.record_api.contract import contract_validators
from koppel.sandbox.record_api.state import RecordedRequest, RecordState, StoredRecord

#: How often the serving thread looks for ``stop()``: short, so a test's teardown is quick.
_POLL_SECONDS = 0.05

StateT = TypeVar("StateT", bound=RecordState)


class RecordServer(LocalServer, Generic[StateT]):
    """A :class:`RecordApi` over HTTP on a port of 127.0.0.1, empty until seeded.

    A system's server names its ``collections``, its contract's ``schema_dir``
    and its ``default_conn_id``, and makes its state in :meth:`new_state`.

    Args:
        host: The address clients are told to use.
        port: The port to listen on; 0 picks a free one.
        conn_id: The Airflow connection id tests and the demo register it under.
        token: The bearer token it accepts; a random one by default.
        bind: The address to listen on; ``host`` by default.
    """

    collections: ClassVar[tuple[Collection, ...]]
    schema_dir: ClassVar[Path]
    default_conn_id: ClassVar[str]

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        conn_id: str | None = None,
        token: str | None = None,
        bind: str | None = None,
    ) -> None:
        self._state = self.new_state()
        self.api = RecordApi(
            token or secrets.token_urlsafe(24),
            self._state,
            self.collections,
            contract_validators(self.schema_dir),
        )
        self.conn_id = conn_id or self.default_conn_id
        self.host = host
        self._http = _RecordHTTPServer((bind or host, port), self.api)
        self.port = int(self._http.server_address[1])
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"{self.conn_id}-emulator",
            daemon=True,
        )

    @abstractmethod
    def new_state(self) -> StateT:
        """The empty state this API starts with."""

    @property
    def state(self) -> StateT:
        """Everything the emulator holds now; read or change it under ``state.lock``."""
        return self._state

    @property
    def token(self) -> str:
        """The bearer token the server accepts."""
        return self.api.token

    @property
    def base_url(self) -> str:
        """The server root; the API lives under ``/api/v1``."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self.api.state.lock:
            return list(self.api.requests)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def airflow_connection(self) -> str:
        """The connection as JSON for ``AIRFLOW_CONN_<ID>``; the password is the token."""
        return json.dumps(
            {
                "conn_type": "http",
                "host": self.host,
                "port": self.port,
                "schema": "http",
                "password": self.token,
            }
        )

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status``, whatever they ask."""
        self.api.fail_next(count, status)

    def record_json(self, collection: str, reference: str) -> dict[str, Any]:
        """A record as ``GET /api/v1/<collection>/{reference}`` would answer now."""
        with self._state.lock:
            return self._state.collections[collection][reference].render()

    def set_status(self, reference: str, status: str) -> StoredRecord:
        """Change a record's status as a user of the source would; ``updated_at`` moves forward.

        Raises:
            KeyError: When no collection holds ``reference``.
        """
        with self._state.lock:
            for name, records in self._state.collections.items():
                if reference in records:
                    return self._state.set_status(name, reference, status)
        raise KeyError(reference)

    @abstractmethod
    def seed_demo(self) -> None:
        """Fill the emulator with the demo's records."""


class _RecordHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: RecordApi) -> None:
        super().__init__(address, _JsonHandler)
        self.api = api


class _JsonHandler(BaseHTTPRequestHandler):
    """Bytes in, the API's answer out as JSON; every decision is the API object's."""

    server: _RecordHTTPServer
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        status, payload = self.server.api.handle(
            self.command,
            self.path,
            self.headers.get("Authorization"),
            self.rfile.read(size) if size else b"",
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        headers = {"Content-Type": "application/json; charset=utf-8", "Content-Length": len(data)}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _answer  # noqa: N815 (http.server's names)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and demo output quiet."""
