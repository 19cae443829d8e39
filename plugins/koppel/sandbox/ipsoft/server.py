"""The running IPSoft endpoint: a threaded WSGI server with its test knobs.

:class:`IPSoftServer` is what tests and the demo hold: it owns the state, the
credentials, the call log and the one-shot knobs (a fault or a late answer),
routes the WSDL, XSD and SOAP paths, and starts and stops its thread around
a ``with`` block like every other sandbox server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

from koppel.formats.schema import load_schema
from koppel.sandbox.ipsoft.service import IPSoftService
from koppel.sandbox.ipsoft.soap import SCHEMA_DIR, FaultError, check, fault_envelope
from koppel.sandbox.ipsoft.state import IPSoftState
from koppel.sandbox.ipsoft.wsgi import (
    QuietHandler,
    ThreadingWSGIServer,
    answer,
    authorized,
    read_request,
    request_args,
    wsdl_document,
)
from koppel.sandbox.lifecycle import LocalServer

#: How often the serving loop checks for shutdown: stop() waits at most this long.
_POLL_SECONDS = 0.05
_WSDL_PATHS = frozenset({"/ipsoft", "/ipsoft/"})
_XSD_PATHS = frozenset({"/ipsoft.xsd", "/ipsoft/ipsoft.xsd"})


@dataclass
class _Knobs:
    """Pending test knobs; each applies once."""

    fault: FaultError | None = None
    delays: dict[str, float] = field(default_factory=dict)


class IPSoftServer(LocalServer):
    """The emulated IPSoft SOAP endpoint; use as a context manager.

    Attributes:
        state: The company's records; tests add and modify them directly.
        username: The only HTTP Basic user accepted.
        password: That user's password.
        conn_id: The Airflow connection id this server is meant to back.
        calls: Every SOAP call received with valid credentials, valid or not against the
            XSD, as (operation, leaf values).
    """

    def __init__(
        self,
        state: IPSoftState | None = None,
        *,
        username: str = "koppel",
        password: str = "ipsoft-sandbox",
        conn_id: str = "ipsoft_default",
        host: str = "127.0.0.1",
        port: int = 0,
        bind: str | None = None,
    ) -> None:
        """Prepare (but do not start) a server over ``state`` (empty when not given).

        ``host`` is the address clients are told to use; the server listens on
        ``bind`` (default: ``host``) and ``port`` (default: a free one).
        """
        self.state = state or IPSoftState()
        self.username = username
        self.password = password
        self.conn_id = conn_id
        self.host = host
        self.port = port
        self._bind = bind or host
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._service = IPSoftService(self.state)
        self._schema = load_schema(SCHEMA_DIR / "ipsoft.xsd")
        self._knobs = _Knobs()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The SOAP endpoint."""
        return f"http://{self.host}:{self.port}/ipsoft"

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL is served (its service address rewritten to :attr:`url`)."""
        return f"{self.url}?wsdl"

    def airflow_connection(self, *, timeout: float = 5, retries: int = 2) -> str:
        """The connection as JSON for ``AIRFLOW_CONN_<ID>``: an HTTP connection to the endpoint."""
        connection = {
            "conn_type": "http",
            "host": self.url,
            "login": self.username,
            "password": self.password,
            "extra": {"timeout": timeout, "retries": retries, "retry_backoff": 0.05},
        }
        return json.dumps(connection)

    def fail_next(self, code: str, message: str, *, server: bool = True) -> None:
        """Answer the next SOAP call with this fault, without processing it."""
        with self._lock:
            self._knobs.fault = FaultError(code, message, server=server)

    def delay_next(self, seconds: float, operation: str) -> None:
        """Process the next ``operation`` call, then wait ``seconds`` before answering it."""
        with self._lock:
            self._knobs.delays[operation] = seconds

    def start(self) -> IPSoftServer:
        """Listen on a free port in a daemon thread; return self once clients can connect."""
        if self._thread is not None:
            raise RuntimeError("the IPSoft server is already running")
        self._stopping.clear()
        server = make_server(
            self._bind,
            self.port,
            self._app,
            server_class=ThreadingWSGIServer,
            handler_class=QuietHandler,
        )
        self._server, self.port = server, server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="koppel-ipsoft-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed answers and release the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        self._server = self._thread = None

    # -- WSGI

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if (method == "GET" and path in _WSDL_PATHS and "wsdl" in query) or (
            method == "GET" and path == "/ipsoft/ipsoft.wsdl"
        ):
            status, body = "200 OK", wsdl_document(self.url)
            content_type = "text/xml; charset=utf-8"
        elif method == "GET" and path in _XSD_PATHS:
            status, body = "200 OK", (SCHEMA_DIR / "ipsoft.xsd").read_bytes()
            content_type = "text/xml; charset=utf-8"
        elif method == "POST" and path in _WSDL_PATHS:
            status, body = self._soap(environ)
            content_type = "text/xml; charset=utf-8"
        else:
            status, body, content_type = "404 Not Found", b"not found", "text/plain"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    def _soap(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        """Answer one SOAP POST: a response envelope (200) or a fault (500, as SOAP 1.1 says)."""
        try:
            header = environ.get("HTTP_AUTHORIZATION", "")
            if not authorized(header, self.username, self.password):
                raise FaultError("AUTHENTICATION_FAILED", "user name or password is wrong")
            operation, request = read_request(environ)
            self.calls.append((operation, request_args(request)))
            problems = check(request, self._schema, operation)
            if problems:
                raise FaultError("INVALID_REQUEST", "; ".join(problems))
            with self._lock:
                fault, self._knobs.fault = self._knobs.fault, None
                delay = self._knobs.delays.pop(operation, 0.0)
            if fault is not None:
                raise fault
            body = answer(self._service, self._schema, operation, request)
        except FaultError as fault:
            return "500 Internal Server Error", fault_envelope(fault)
        if delay:
            self._stopping.wait(delay)
        return "200 OK", body
