"""A real SFTP server on 127.0.0.1 for tests and ``make demo``.

It runs asyncssh on its own event loop in a background thread, chrooted to a
local folder, with password login and a freshly generated host key. The
Airflow connection it hands out pins that host key, so every test goes
through the same host-key check a production connection does.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
from pathlib import Path
from urllib.parse import quote, urlencode

import asyncssh

from koppel.sandbox.lifecycle import LocalServer

_START_TIMEOUT = 10.0


class _PasswordServer(asyncssh.SSHServer):
    """Accepts one user/password pair and reports logins and connections to its owner."""

    def __init__(self, owner: SFTPServer) -> None:
        self._owner = owner
        self._connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connection = conn
        self._owner._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._owner._connections.discard(self._connection)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        accepted = hmac.compare_digest(username, self._owner.username) and hmac.compare_digest(
            password.encode(), self._owner.password.encode()
        )
        if accepted:
            self._owner.login_count += 1
        return accepted


class SFTPServer(LocalServer):
    """An SFTP server in a background thread; use as a context manager.

    Attributes:
        root: The local folder clients see as ``/``.
        username: The only user that can log in.
        password: That user's password.
        conn_id: The Airflow connection id this server is meant to back.
        login_count: Successful logins so far (to prove session reuse).
    """

    def __init__(
        self,
        root: Path,
        username: str = "koppel",
        password: str = "koppel-sandbox",
        conn_id: str = "koppel_sandbox_sftp",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bind: str | None = None,
    ) -> None:
        """Prepare (but do not start) a server serving ``root``.

        ``host`` is the address clients are told to use; the server listens on
        ``bind`` (default: ``host``) and ``port`` (default: a free one).
        """
        self.root = Path(root)
        self.username = username
        self.password = password
        self.conn_id = conn_id
        self.host = host
        self.port = port
        self._bind = bind or host
        self.login_count = 0
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None

    @property
    def host_key_public(self) -> str:
        """The host key as an OpenSSH public key line (type and data, no comment)."""
        line = self._host_key.export_public_key("openssh").decode()
        return " ".join(line.split()[:2])

    def airflow_connection_uri(self) -> str:
        """Return an ``AIRFLOW_CONN_<ID>`` value that logs in and pins the host key."""
        extras = urlencode({"host_key": self.host_key_public}, quote_via=quote)
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        return f"sftp://{credentials}@{self.host}:{self.port}/?{extras}"

    def start(self) -> SFTPServer:
        """Start listening on a free port; return self once clients can connect."""
        if self._thread is not None:
            raise RuntimeError("the SFTP server is already running")
        self.root.mkdir(parents=True, exist_ok=True)
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="koppel-sftp-server", daemon=True
        )
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), loop)
        try:
            self.port = future.result(timeout=_START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    async def _listen(self) -> int:
        self._acceptor = await asyncssh.listen(
            self._bind,
            self.port,
            server_factory=lambda: _PasswordServer(self),
            server_host_keys=[self._host_key],
            sftp_factory=lambda channel: asyncssh.SFTPServer(
                channel, chroot=str(self.root.resolve()).encode()
            ),
            allow_scp=False,
        )
        return self._acceptor.get_port()

    def stop(self) -> None:
        """Close every client connection, stop the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=_START_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_START_TIMEOUT)
        loop.close()
        self._loop = self._thread = self._acceptor = None

    async def _close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        connections = list(self._connections)
        for conn in connections:
            conn.close()
        await asyncio.gather(*(conn.wait_closed() for conn in connections))
        self._connections.clear()
