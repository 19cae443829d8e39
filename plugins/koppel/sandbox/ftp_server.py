"""A real FTP server on 127.0.0.1 for tests and ``make demo``.

pyftpdlib serves a local folder to one user from a background thread, on its
own IO loop (pyftpdlib's default loop is a process-wide singleton, which
would tie every server's lifetime together).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer as _PyFTPServer

from koppel.sandbox.lifecycle import LocalServer

#: List, read, append, create folders, delete, rename, write, chmod, mtime.
_PERMISSIONS = "elradfmwMT"
_PASSIVE_PORT_COUNT = 8
_POLL_SECONDS = 0.02
_STOP_TIMEOUT = 10.0


def _free_ports(count: int) -> list[int]:
    """Reserve ``count`` ports the kernel says are free right now, then release them."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(probe)
            probe.bind(("127.0.0.1", 0))
        return sorted(probe.getsockname()[1] for probe in sockets)
    finally:
        for probe in sockets:
            probe.close()


class FTPServer(LocalServer):
    """An FTP server in a background thread; use as a context manager.

    Attributes:
        root: The local folder clients see as ``/``.
        username: The only user that can log in.
        password: That user's password.
        conn_id: The Airflow connection id this server is meant to back.
        login_count: Successful logins so far (to prove session reuse).
        passive_ports: The data ports offered for passive transfers.
        mlsd: Whether MLSD/MLST are offered; False emulates the older servers
            some partners still run, which only know NLST, SIZE and MDTM.
    """

    def __init__(
        self,
        root: Path,
        username: str = "koppel",
        password: str = "koppel-sandbox",
        conn_id: str = "koppel_sandbox_ftp",
        *,
        mlsd: bool = True,
    ) -> None:
        """Prepare (but do not start) a server serving ``root``."""
        self.root = Path(root)
        self.username = username
        self.password = password
        self.conn_id = conn_id
        self.host = "127.0.0.1"
        self.port = 0
        self.login_count = 0
        self.passive_ports: list[int] = []
        self.mlsd = mlsd
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def airflow_connection_uri(self) -> str:
        """Return an ``AIRFLOW_CONN_<ID>`` value for this server (passive mode)."""
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        return f"ftp://{credentials}@{self.host}:{self.port}/?passive=true"

    def start(self) -> FTPServer:
        """Start listening on a free port; return self once clients can connect."""
        if self._thread is not None:
            raise RuntimeError("the FTP server is already running")
        self.root.mkdir(parents=True, exist_ok=True)
        self.passive_ports = _free_ports(_PASSIVE_PORT_COUNT)
        self._server = _PyFTPServer((self.host, 0), self._handler_class(), ioloop=IOLoop())
        self.port = self._server.address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="koppel-ftp-server", daemon=True)
        self._thread.start()
        return self

    def _handler_class(self) -> type[Any]:
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.username, self.password, str(self.root), perm=_PERMISSIONS)
        owner = self

        class _CountingHandler(FTPHandler):  # type: ignore[misc]
            def on_login(self, username: str) -> None:
                owner.login_count += 1

        _CountingHandler.authorizer = authorizer
        _CountingHandler.passive_ports = self.passive_ports
        _CountingHandler.auth_failed_timeout = 0
        _CountingHandler.banner = "Koppel sandbox FTP"
        if not self.mlsd:
            _CountingHandler.proto_cmds = {
                command: spec
                for command, spec in FTPHandler.proto_cmds.items()
                if command not in {"MLSD", "MLST"}
            }
        return _CountingHandler

    def _serve(self) -> None:
        """Poll the IO loop until told to stop, then close every socket from this thread."""
        server = self._server
        try:
            while not self._stopping.is_set():
                server.ioloop.loop(timeout=_POLL_SECONDS, blocking=False)
        finally:
            server.close_all()

    def stop(self) -> None:
        """Disconnect every client, close the listener and join the thread."""
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join(timeout=_STOP_TIMEOUT)
        self._thread = None
        self._server = None
