"""A throwaway PostgreSQL server on 127.0.0.1 for tests and ``make demo``.

The Debian binaries refuse to run as root, and this machine runs everything as
root, so when we are root the server runs as the ``postgres`` user through
``runuser``, in a directory that user owns. Trust authentication is fine
because the server only listens on the loopback interface and lives as long as
the test session.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from koppel.errors import StoreError
from koppel.sandbox.lifecycle import LocalServer

#: The operating-system account that owns the server's files when we run as root.
SYSTEM_USER = "postgres"
#: The database superuser created by initdb; trust authentication needs no password.
SUPERUSER = "postgres"
_START_ATTEMPTS = 3


class PostgresServerError(StoreError):
    """The sandbox PostgreSQL server could not be found, initialised, started or stopped."""


def find_bin_dir() -> Path:
    """Locate the PostgreSQL server binaries: ``pg_config --bindir``, else the Debian layout."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise PostgresServerError("PostgreSQL server binaries (initdb, pg_ctl) not found")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer(LocalServer):
    """One private PostgreSQL cluster: ``initdb`` + ``pg_ctl start``, removed again on stop.

    Use it as a context manager, or call :meth:`start` and :meth:`stop` yourself.
    """

    def __init__(self, *, bin_dir: Path | None = None) -> None:
        """Prepare a server; ``bin_dir`` overrides where the binaries are looked up."""
        self._bin_dir = bin_dir
        self._base: Path | None = None
        self.port: int | None = None

    @property
    def running(self) -> bool:
        """True between a successful :meth:`start` and :meth:`stop`."""
        return self.port is not None

    def start(self) -> PostgresServer:
        """Create a fresh cluster in a temporary directory and start it on a free port.

        The port is chosen just before starting, so another process may take it
        meanwhile: a failed start is retried on a new port a few times.
        """
        if self._base is not None:
            raise PostgresServerError("the PostgreSQL sandbox server is already started")
        bin_dir = self._bin_dir or find_bin_dir()
        self._base = self._make_base_dir()
        try:
            self._run(
                bin_dir / "initdb",
                "-D",
                str(self._data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            )
            self.port = self._start_on_free_port(bin_dir)
        except PostgresServerError:
            self._remove_base_dir()
            raise
        return self

    def _start_on_free_port(self, bin_dir: Path) -> int:
        failure = ""
        for _ in range(_START_ATTEMPTS):
            port = _free_port()
            result = self._pg_ctl_start(bin_dir, port)
            if result.returncode == 0:
                return port
            failure = result.stderr + result.stdout + self._read_log()
        raise PostgresServerError(f"PostgreSQL did not start: {failure.strip()}")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its data directory."""
        if self._base is None:
            return
        try:
            if self.port is not None:
                bin_dir = self._bin_dir or find_bin_dir()
                self._run(bin_dir / "pg_ctl", "stop", "-D", str(self._data_dir), "-m", "fast", "-w")
        finally:
            self.port = None
            self._remove_base_dir()

    # -- addresses ---------------------------------------------------------------------------

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URI for ``database`` on this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self._port()}/{quote(database)}"

    def sqlalchemy_url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL (psycopg 3 driver) for ``database`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self._port()}/{quote(database)}"

    def airflow_connection_uri(self, database: str = "postgres") -> str:
        """The value for an ``AIRFLOW_CONN_<ID>`` variable pointing at ``database``."""
        return f"postgres://{SUPERUSER}@127.0.0.1:{self._port()}/{quote(database)}"

    def create_database(self, name: str) -> None:
        """Create an empty database ``name``: one per measurement or test, nothing shared."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def _data_dir(self) -> Path:
        if self._base is None:
            raise PostgresServerError("the PostgreSQL sandbox server has no data directory")
        return self._base / "data"

    def _port(self) -> int:
        if self.port is None:
            raise PostgresServerError("the PostgreSQL sandbox server is not running")
        return self.port

    def _make_base_dir(self) -> Path:
        base = Path(tempfile.mkdtemp(prefix="koppel-pg-"))  # mode 0700
        (base / "socket").mkdir(mode=0o700)
        if _as_root():
            for path in (base, base / "socket"):
                shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
        return base

    def _remove_base_dir(self) -> None:
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def _pg_ctl_start(self, bin_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
        base = self._data_dir.parent
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {base / 'socket'} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        command = [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(self._data_dir),
            "-w",
            "-l",
            str(base / "server.log"),
            "-o",
            options,
        ]
        return self._execute(command)

    def _run(self, *command: str | Path) -> None:
        result = self._execute([str(part) for part in command])
        if result.returncode != 0:
            output = (result.stderr + result.stdout).strip()
            raise PostgresServerError(f"{Path(command[0]).name} failed: {output}")

    def _execute(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SYSTEM_USER, "--"] if _as_root() else []
        return subprocess.run(
            prefix + command, capture_output=True, text=True, check=False, cwd=self._base
        )

    def _read_log(self) -> str:
        log = self._base / "server.log" if self._base else None
        return log.read_text(errors="replace") if log and log.exists() else ""


def _as_root() -> bool:
    return os.geteuid() == 0
