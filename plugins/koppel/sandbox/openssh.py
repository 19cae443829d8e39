"""A real OpenSSH ``sshd`` on 127.0.0.1, for tests and benchmarks that need its sftp-server.

The asyncssh stand-in (:mod:`koppel.sandbox.sftp_server`) serves every client
from one Python thread, which hides whether a client keeps several requests
in flight; OpenSSH answers from a separate process per session, as partners'
servers do. This one runs ``sshd -D -e -f <own config>`` as a child process
with its own host key, on a free loopback port.

Login is by public key only, as the user running the tests: a non-root
``sshd`` can log in no one else, and password logins would need a system
account with a password. No ``ChrootDirectory``: OpenSSH requires every
component of a chroot path to be root-owned and not group- or
world-writable, which no folder under ``/tmp`` (sticky, world-writable) is.
Instead ``internal-sftp -d`` starts each session in :attr:`OpenSSHServer.root`,
so relative paths resolve inside it, and :meth:`OpenSSHServer.remote_path`
gives the absolute path of a file in it. The server therefore sees the whole
file system with the test user's rights: it only listens on 127.0.0.1 and
lives as long as the test or bench.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import asyncssh

from koppel.errors import TransportError
from koppel.sandbox.lifecycle import LocalServer

#: Where Debian's openssh-server installs the daemon.
SSHD_CANDIDATES = (Path("/usr/sbin/sshd"), Path("/usr/local/sbin/sshd"))
#: sshd refuses to start as root without its privilege-separation directory.
_PRIVSEP_DIR = Path("/run/sshd")
_START_ATTEMPTS = 3
_START_TIMEOUT = 10.0


class OpenSSHServerError(TransportError):
    """The OpenSSH sandbox server could not be found, started or stopped."""


def find_sshd() -> Path:
    """Locate ``sshd``: on PATH, else the usual install locations.

    Raises:
        OpenSSHServerError: openssh-server is not installed.
    """
    found = shutil.which("sshd")
    candidates = ([Path(found)] if found else []) + list(SSHD_CANDIDATES)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise OpenSSHServerError(
        "sshd not found: install Debian's openssh-server (apt-get install openssh-server)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class OpenSSHServer(LocalServer):
    """One private ``sshd`` serving SFTP from ``root``; use as a context manager.

    Attributes:
        root: The folder each SFTP session starts in (created if missing).
        username: The account clients log in as: the one running this process.
        conn_id: The Airflow connection id this server is meant to back.
        host: The loopback address it listens on.
        port: The port, once started.
    """

    def __init__(
        self,
        root: Path,
        conn_id: str = "koppel_sandbox_openssh",
        *,
        sshd: Path | None = None,
        max_sessions: int = 64,
    ) -> None:
        """Prepare (but do not start) a server serving ``root``.

        Args:
            root: The folder SFTP sessions start in.
            conn_id: The connection id :meth:`airflow_connection_uri` is for.
            sshd: The daemon binary; found with :func:`find_sshd` when omitted.
            max_sessions: Channels one connection may open (sshd's default is 10).
        """
        self.root = Path(root).resolve()
        self.conn_id = conn_id
        self.username = getpass.getuser()
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._sshd = sshd
        self._max_sessions = max_sessions
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._client_key = asyncssh.generate_private_key("ssh-ed25519")
        self._base: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses -------------------------------------------------------------------------

    @property
    def host_key_public(self) -> str:
        """The host key as an OpenSSH public key line (type and data, no comment)."""
        line = self._host_key.export_public_key("openssh").decode()
        return " ".join(line.split()[:2])

    @property
    def client_private_key(self) -> str:
        """The private key (OpenSSH format) that logs in as :attr:`username`."""
        key: bytes = self._client_key.export_private_key("openssh")
        return key.decode()

    def remote_path(self, relative: str = "") -> str:
        """The absolute path clients use for ``relative`` (a path inside :attr:`root`)."""
        return str(self.root / relative.lstrip("/")) if relative else str(self.root)

    def airflow_connection_uri(self) -> str:
        """Return an ``AIRFLOW_CONN_<ID>`` value that logs in by key and pins the host key."""
        extras = urlencode(
            {"private_key": self.client_private_key, "host_key": self.host_key_public},
            quote_via=quote,
        )
        return f"sftp://{quote(self.username, safe='')}@{self.host}:{self._port()}/?{extras}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> OpenSSHServer:
        """Write the config and keys, start ``sshd`` on a free port; return once it answers.

        The port is chosen just before starting, so another process may take it
        meanwhile: a failed start is retried on a new port a few times.
        """
        if self._process is not None:
            raise OpenSSHServerError("the OpenSSH sandbox server is already running")
        sshd = self._sshd or find_sshd()
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._base = Path(tempfile.mkdtemp(prefix="koppel-sshd-"))  # mode 0700
        try:
            self._write_keys()
            failure = ""
            for _ in range(_START_ATTEMPTS):
                port = _free_port()
                failure = self._try_start(sshd, port)
                if not failure:
                    self.port = port
                    return self
            raise OpenSSHServerError(f"sshd did not start: {failure.strip()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate ``sshd`` and every session it forked, and remove its files.

        Each session runs in its own process (group) that outlives the
        listener, so they are found by parentage and ended one by one.
        """
        process, self._process = self._process, None
        if process is not None:
            sessions = _descendants(process.pid)
            process.terminate()
            for pid in sessions:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            try:
                process.wait(timeout=_START_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.port = None
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    # -- plumbing --------------------------------------------------------------------------

    def _port(self) -> int:
        if self.port is None:
            raise OpenSSHServerError("the OpenSSH sandbox server is not running")
        return self.port

    def _write_keys(self) -> None:
        base = self._base_dir()
        host_key = base / "host_key"
        host_key.write_bytes(self._host_key.export_private_key("openssh"))
        host_key.chmod(0o600)
        authorized = base / "authorized_keys"
        authorized.write_bytes(self._client_key.export_public_key("openssh"))
        authorized.chmod(0o600)

    def _config(self, port: int) -> str:
        base = self._base_dir()
        return "\n".join(
            [
                f"Port {port}",
                f"ListenAddress {self.host}",
                f"HostKey {base / 'host_key'}",
                f"PidFile {base / 'sshd.pid'}",
                f"AuthorizedKeysFile {base / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                # The keys live in a private temp dir; its parents are /tmp.
                "StrictModes no",
                f"AllowUsers {self.username}",
                f"MaxSessions {self._max_sessions}",
                "MaxStartups 100",
                "LogLevel ERROR",
                f"Subsystem sftp internal-sftp -d {self.root}",
                "",
            ]
        )

    def _try_start(self, sshd: Path, port: int) -> str:
        """Start sshd on ``port``; return "" once it answers, else what went wrong."""
        base = self._base_dir()
        config = base / "sshd_config"
        config.write_text(self._config(port))
        log = base / "sshd.log"
        with log.open("wb") as log_handle:
            process = subprocess.Popen(
                [str(sshd), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return log.read_text(errors="replace") or f"sshd exited with {process.returncode}"
            if _answers_ssh(port):
                self._process = process
                return ""
            time.sleep(0.02)
        process.kill()
        process.wait()
        return f"no SSH banner on port {port} after {_START_TIMEOUT} s"

    def _base_dir(self) -> Path:
        if self._base is None:
            raise OpenSSHServerError("the OpenSSH sandbox server has no working directory")
        return self._base


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, their children, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _answers_ssh(port: int) -> bool:
    """Tell whether an SSH server sends its banner on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as probe:
            return probe.recv(4).startswith(b"SSH-")
    except OSError:
        return False
