"""A native Airflow Celery cluster on 127.0.0.1, for the cluster test (issue 8).

PostgreSQL (metadata DB, Celery result backend and the Koppel store), Redis
(the Celery broker) and Airflow's api-server, scheduler, dag-processor and a
Celery worker, each a separate process in its own process group, every one of
them logging to a file under the cluster's folder. :class:`Cluster` starts them
in that order and always stops every one, also when starting fails half-way.

Only the standard library and the sandbox PostgreSQL are imported here: the
Airflow processes get their configuration from the environment, none of it
inherited from the test session (whose ``tests.fixtures.airflow_env`` points
Airflow at a SQLite DB).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from koppel.sandbox.postgres import PostgresServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
#: NOTES.md: the api-server alone took up to 90 s under load, the whole cluster ~4 minutes.
READY_TIMEOUT = 420.0
#: SIGTERM, then this long for a process group to exit, then SIGKILL.
STOP_TIMEOUT = 30.0
#: The Celery worker's node name; Airflow records the machine's host name on each task.
WORKER_NAME = "koppel-cluster-worker"


class ClusterError(AssertionError):
    """A component did not start, or the cluster did not become ready in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    """A child process in its own process group, its output in ``log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} ({self.log}) ---\n{self.output()[-chars:]}"

    def stop(self) -> None:
        """SIGTERM to the process (it stops its own children), then to its group, then SIGKILL.

        The leader first, so that the Celery worker and the scheduler shut down their pools
        themselves; whatever of the group is left after ``STOP_TIMEOUT`` is terminated, and
        killed after a few more seconds.
        """
        pgid = self.popen.pid
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            self.popen.wait(timeout=STOP_TIMEOUT)
        if _group_exists(pgid):  # children that outlived their parent
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _group_exists(pgid) and time.monotonic() < deadline:
                time.sleep(0.2)
            _signal_group(pgid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Cluster:
    """The cluster's folder, settings and processes; use as a context manager."""

    base: Path
    dags_folder: Path
    connections_dir: Path
    airflow_connections: dict[str, str]
    processes: dict[str, Process] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    postgres: PostgresServer | None = None
    api_port: int = 0
    redis_port: int = 0
    _token: str | None = None
    _secrets: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.base / "airflow-home"

    @property
    def logs(self) -> Path:
        return self.base / "process-logs"

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Every service, then wait until the API answers, the DAGs are parsed and Celery is up."""
        if importlib.util.find_spec("airflow.providers.celery") is None:
            raise ClusterError("apache-airflow-providers-celery is not installed in this venv")
        self.home.mkdir(parents=True)
        self.logs.mkdir()
        step = time.monotonic()
        self.postgres = PostgresServer().start()
        self._create_databases("airflow", "koppel_store")
        self._start_redis()
        self.timings["databases_and_redis_s"] = time.monotonic() - step

        step = time.monotonic()
        self.run_airflow("db", "migrate")
        self.timings["db_migrate_s"] = time.monotonic() - step

        step = time.monotonic()
        self.api_port = free_port()
        url = f"127.0.0.1:{self.api_port}"
        self.spawn("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.api_port))
        self.spawn("scheduler", "scheduler")
        self.spawn("dag-processor", "dag-processor")
        # -s: no log server (it would listen on every interface); the api-server reads the
        # task logs from the shared AIRFLOW_HOME/logs.
        self.spawn("worker", "celery", "worker", "-s", "-c", "2", "-H", WORKER_NAME)
        self.wait_for("the api-server to answer", lambda: _get(f"http://{url}/api/v2/version"))
        self.timings["api_server_ready_s"] = time.monotonic() - step
        self.wait_for("the Celery worker to be ready", lambda: " ready." in self.worker_log())
        self.wait_for("the scheduler and dag-processor heartbeats", self._healthy)
        self.timings["components_healthy_s"] = time.monotonic() - step

    def stop(self) -> None:
        """Stop the Airflow processes (newest first), Redis and PostgreSQL; never raises."""
        problems: list[str] = []
        for process in reversed(list(self.processes.values())):
            try:
                process.stop()
            except Exception as error:  # pragma: no cover - reported, the rest still stops
                problems.append(f"{process.name}: {error}")
        if self.postgres is not None:
            try:
                self.postgres.stop()
            except Exception as error:  # pragma: no cover
                problems.append(f"postgres: {error}")
            self.postgres = None
        if problems:
            print("cluster: trouble while stopping: " + "; ".join(problems), flush=True)

    # -- services -------------------------------------------------------------------------------

    def _create_databases(self, *names: str) -> None:
        import psycopg

        assert self.postgres is not None
        with psycopg.connect(self.postgres.dsn(), autocommit=True) as conn:
            for name in names:
                conn.execute(f'CREATE DATABASE "{name}"')

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise ClusterError("redis-server is not installed (apt-get install redis-server)")
        self.redis_port = free_port()
        command = [redis, "--bind", "127.0.0.1", "--port", str(self.redis_port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.base)]
        self._popen("redis", command, env=dict(os.environ))
        self.wait_for("redis to answer PING", self._redis_pong, timeout=30)

    def _redis_pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=2) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def sql_url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        assert self.postgres is not None
        return f"{driver}://postgres@127.0.0.1:{self.postgres.port}/{database}"

    def env(self) -> dict[str, str]:
        """The Airflow processes' environment: nothing Airflow- or Koppel-ish is inherited."""
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KOPPEL_"))
        }
        settings = {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__FERNET_KEY": self._secret("fernet"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": (
                f"http://127.0.0.1:{self.api_port}/execution/"
            ),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_url("airflow"),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": self.sql_url("airflow", "db+postgresql+psycopg"),
            # Equal secrets in every process: the api-server signs the tokens the worker uses.
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
            "AIRFLOW__API__SECRET_KEY": self._secret("api"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": self._secret("log_server_port"),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "KOPPEL_CONNECTIONS_DIR": str(self.connections_dir),
            **{f"AIRFLOW_CONN_{k.upper()}": v for k, v in self.airflow_connections.items()},
            "AIRFLOW_CONN_KOPPEL_STORE": self.sql_url("koppel_store", "postgres"),
        }
        return {**inherited, **settings}

    def _secret(self, name: str) -> str:
        """A value made once per cluster, so that every process gets the same one."""
        if name not in self._secrets:
            if name == "fernet":
                self._secrets[name] = base64.urlsafe_b64encode(os.urandom(32)).decode()
            elif name == "log_server_port":
                self._secrets[name] = str(free_port())
            else:
                self._secrets[name] = secrets.token_urlsafe(32)
        return self._secrets[name]

    def run_airflow(self, *args: str, timeout: float = 300) -> None:
        log = self.logs / f"airflow-{'-'.join(args)}.log"
        with log.open("wb") as out:
            done = subprocess.run(
                [str(VENV_BIN / "airflow"), *args],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        if done.returncode != 0:
            raise ClusterError(f"airflow {' '.join(args)} failed:\n{log.read_text()[-4000:]}")

    def spawn(self, name: str, *args: str) -> Process:
        return self._popen(name, [str(VENV_BIN / "airflow"), *args], env=self.env())

    def _popen(self, name: str, command: list[str], env: dict[str, str]) -> Process:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                command,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                process_group=0,
                cwd=self.base,
            )
        process = Process(name, popen, log)
        self.processes[name] = process
        return process

    # -- waiting --------------------------------------------------------------------------------

    def wait_for(self, what: str, ready: Callable[[], Any], timeout: float = READY_TIMEOUT) -> None:
        """Poll ``ready`` each second; fail with the logs if a component exits or time is up."""
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [p for p in self.processes.values() if not p.alive()]
            if dead:
                raise ClusterError(
                    f"waiting for {what}: {', '.join(p.name for p in dead)} exited\n"
                    + "\n".join(p.tail() for p in dead)
                )
            if time.monotonic() > deadline:
                raise ClusterError(f"{what}: not ready in {timeout:.0f} s\n" + self.tails())
            time.sleep(1.0)

    def _healthy(self) -> bool:
        health = _get(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health")
        if not health:
            return False
        parts = ("metadatabase", "scheduler", "dag_processor")
        return all(health.get(part, {}).get("status") == "healthy" for part in parts)

    def tails(self) -> str:
        return "\n".join(p.tail() for p in self.processes.values())

    def worker_log(self) -> str:
        return self.processes["worker"].output()

    # -- REST API -------------------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None:
            path = self.home / PASSWORDS_FILE
            self.wait_for("the generated admin password", path.exists, timeout=60)
            password = json.loads(path.read_text())["admin"]
            answer = self.api("POST", "/auth/token", {"username": "admin", "password": password})
            self._token = str(answer["access_token"])
        return self._token

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call to the api-server, as admin (except for the token call itself)."""
        headers = {"Content-Type": "application/json"}
        if path != "/auth/token":
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise ClusterError(f"{method} {path}: HTTP {error.code}: {detail}") from error


def _get(url: str) -> Any:
    """The JSON at ``url``, or None while nothing answers there."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None
