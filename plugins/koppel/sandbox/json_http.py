"""An emulated HTTP/JSON API on 127.0.0.1: the socket, the serving thread, the handler.

Le New Black's, the webshop's and the CRM's emulators differ in what they
answer, not in how they are served: each is an API object whose ``handle``
turns a request into a status and a JSON body, and this module puts it on a
port of 127.0.0.1 with the Airflow connection that reaches it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar

from koppel.sandbox.lifecycle import LocalServer

#: How often the serving thread looks for ``stop()``: short, so a test's teardown is quick.
_POLL_SECONDS = 0.05


#: An answer: the HTTP status and the JSON body.
Answer = tuple[int, Any]


class ApiError(Exception):
    """An error answer: the status and the body ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class JsonApi(Protocol):
    """An emulated API: it checks the bearer token and answers every request itself."""

    token: str

    def handle(self, method: str, target: str, authorization: str | None, raw: bytes) -> Answer:
        """The status and JSON body to answer one request with."""
        ...


ApiT = TypeVar("ApiT", bound=JsonApi)


class JsonHttpServer(LocalServer, Generic[ApiT]):
    """``api`` over HTTP on a port of 127.0.0.1; started and stopped as a context manager.

    Args:
        api: What answers the requests.
        host: The address clients are told to use.
        port: The port to listen on; 0 picks a free one.
        bind: The address to listen on; ``host`` by default.
        name: The serving thread's name, for a stack dump.
    """

    def __init__(self, api: ApiT, *, host: str, port: int, bind: str | None, name: str) -> None:
        self.api = api
        self.host = host
        self._http = _JsonHTTPServer((bind or host, port), api)
        self.port = int(self._http.server_address[1])
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=name,
            daemon=True,
        )

    @property
    def token(self) -> str:
        """The bearer token the server accepts."""
        return self.api.token

    @property
    def base_url(self) -> str:
        """The server root; the API lives under ``/api/v1``."""
        return f"http://{self.host}:{self.port}"

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


class _JsonHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: JsonApi) -> None:
        super().__init__(address, _JsonHandler)
        self.api = api


class _JsonHandler(BaseHTTPRequestHandler):
    """Bytes in, the API's answer out as JSON; every decision is the API object's."""

    server: _JsonHTTPServer
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
