"""The emulated API served over HTTP on 127.0.0.1, and the handler that pipes requests to it.

The one object tests and the demo start and stop: it owns the socket and the
serving thread, exposes what the API holds, and carries the portal helpers so a
test can arrange data and inspect the outcome on the same object.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from koppel.sandbox.lenewblack import seed
from koppel.sandbox.lenewblack.api import LeNewBlackApi
from koppel.sandbox.lenewblack.portal import LeNewBlackPortal
from koppel.sandbox.lenewblack.state import LeNewBlackState, RecordedRequest
from koppel.sandbox.lifecycle import LocalServer

#: How often the serving thread looks for ``stop()``: short, so a test's teardown is quick.
_POLL_SECONDS = 0.05


class LeNewBlackServer(LeNewBlackPortal, LocalServer):
    """The emulated API over HTTP on a free port of 127.0.0.1, with test and demo helpers.

    Args:
        conn_id: The Airflow connection id tests and the demo register it under.
        token: The bearer token it accepts; a random one by default.
        host: The address clients are told to use.
        port: The port to listen on; a free one by default.
        bind: The address to listen on; ``host`` by default.
    """

    def __init__(
        self,
        *,
        conn_id: str = "lenewblack_default",
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        bind: str | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.api = LeNewBlackApi(token or secrets.token_urlsafe(24))
        self._http = _HTTPServer((bind or host, port), _Handler, self.api)
        self.host = host
        self.port = int(self._http.server_address[1])
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="lenewblack-emulator",
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

    @property
    def state(self) -> LeNewBlackState:
        """Everything the server holds now."""
        return self.api.state

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        return list(self.api.requests)

    def start(self) -> LeNewBlackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def airflow_connection(self) -> str:
        """The connection as JSON for ``AIRFLOW_CONN_<ID>``; the token is the password."""
        connection = {
            "conn_type": "http",
            "host": self.host,
            "port": self.port,
            "schema": "http",
            "password": self.token,
        }
        return json.dumps(connection)

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status``, whatever they ask."""
        self.api.fail_next(status, times)

    def order_json(self, reference: str) -> dict[str, Any]:
        """The order as ``GET /api/v1/orders/{reference}`` would answer now."""
        return self.api.render_order(self.state.orders[reference])

    def seed_demo(self) -> None:
        """Fill the portal as a Dutch fashion wholesaler's looks on a Monday morning."""
        seed.seed_demo(self)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: LeNewBlackApi
    ) -> None:
        super().__init__(address, handler)
        self.api = api


class _Handler(BaseHTTPRequestHandler):
    """HTTP in and out; every decision is the API object's."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, payload = self.server.api.handle(
            self.command, self.path, self.headers.get("Authorization"), raw
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _serve  # noqa: N815 (http.server's names)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and demo output quiet."""
