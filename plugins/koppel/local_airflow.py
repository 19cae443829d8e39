"""``make airflow``: Airflow standalone on 127.0.0.1 with the example merchants' partners.

A Python launcher rather than a shell script, for the two things a script
gets wrong (NOTES.md): ``airflow standalone`` starts its components by
running ``airflow`` from PATH, so the venv's ``bin`` goes first; and it stops
cleanly only on SIGINT, which a background job ignores, so the launcher
installs its own SIGINT handler (a handled signal is reset to the default in
the child) and forwards Ctrl-C (or SIGTERM) to standalone, which runs in its
own process group so that nothing outlives the launcher.

The partner stand-ins (``koppel.sandbox.stand_ins``) run in this process;
their connections, and a SQLite store under the Airflow home, reach Airflow
through ``AIRFLOW_CONN_*`` variables. SQLite, because this is the laptop path:
it needs nothing installed or running, and the store queues concurrent
writers (``koppel.store.engine``); PostgreSQL stays the production and test
store.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from koppel import PROJECT_ROOT

PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
#: How long standalone may take to answer on its port (NOTES.md: ~10 s when the machine is idle).
READY_TIMEOUT = 300.0
#: How long standalone gets to stop its components after SIGINT before it is killed.
STOP_TIMEOUT = 60.0


def airflow_environment(home: Path, port: int, connections: dict[str, str]) -> dict[str, str]:
    """The environment standalone runs in: this project's DAGs, plugins, store and partners."""
    from koppel.sandbox.stand_ins import env_name
    from koppel.settings import connections_dir

    venv_bin = Path(sys.executable).parent
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            # Set here, not inherited: a caller's (a test session's) database must not leak in.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            # One signing key for every component, whatever each one read from airflow.cfg:
            # a task's token signed by the scheduler with another key is refused by the API
            # server ("Signature verification failed") and the task never starts.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            # The log servers listen on every interface (Airflow has no setting for that);
            # free ports at least keep two of these on one machine from colliding.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "KOPPEL_CONNECTIONS_DIR": str(connections_dir().resolve()),
            "AIRFLOW_CONN_KOPPEL_STORE": f"sqlite:///{home / 'store.db'}",
        }
    )
    env.update({env_name(conn_id): value for conn_id, value in connections.items()})
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def admin_password(home: Path) -> str | None:
    """The password standalone generated for ``admin``, once the file exists."""
    path = home / PASSWORDS_FILE
    if not path.exists():
        return None
    passwords: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return passwords.get("admin")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m koppel.local_airflow")
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / ".airflow")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--no-demo-runs",
        dest="demo_runs",
        action="store_false",
        help="on a new home, do not switch the demo's flows on and run them once",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the stand-ins and standalone, print where to log in, stop both on a signal."""
    from koppel.sandbox.stand_ins import StandIns, write_env_file
    from koppel.settings import connections_dir

    args = _arguments(argv)
    home: Path = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stop.set())
    env_file = home / "sandbox" / "connections.env"
    sftp_root = home / "sandbox" / "sftp"
    # The demo files only into a new root: a restart goes on from what the last runs left.
    first_start = not sftp_root.exists()
    stand_ins = StandIns(sftp_root, connections_dir(), demo_files=first_start)
    with stand_ins:
        connections = stand_ins.airflow_connections()
        write_env_file(env_file, connections)
        airflow = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=airflow_environment(home, args.port, connections),
            process_group=0,
        )
        try:
            demo = first_start and args.demo_runs
            code = _serve(airflow, home, args.port, stand_ins.summary(), stop, demo=demo)
        finally:
            _stop(airflow)
            env_file.unlink(missing_ok=True)
    print("koppel: Airflow and the partner stand-ins stopped.", flush=True)
    return code


def _serve(
    airflow: subprocess.Popen[bytes],
    home: Path,
    port: int,
    summary: list[str],
    stop: threading.Event,
    *,
    demo: bool,
) -> int:
    """Wait for the UI, print the banner, then wait for a signal or for standalone to end.

    With ``demo``, the demo's flows run once in the background meanwhile
    (:mod:`koppel.local_airflow_demo`), so the centre fills with their messages.
    """
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while not _answers(f"{url}/api/v2/version") or admin_password(home) is None:
        if stop.wait(1.0) or airflow.poll() is not None:
            return airflow.returncode or 0
        if time.monotonic() > deadline:
            print(f"koppel: Airflow did not answer on {url} in {READY_TIMEOUT:.0f} s", flush=True)
            return 1
    _banner(url, home, summary, demo=demo)
    if demo:
        _start_demo_runs(url, home, stop)
    while not stop.wait(1.0):
        if airflow.poll() is not None:
            return airflow.returncode
    return 0


def _start_demo_runs(url: str, home: Path, stop: threading.Event) -> None:
    from koppel.local_airflow_demo import AirflowApi, run_demo_flows

    def say(line: str) -> None:
        print(f"koppel: {line}", flush=True)

    def run() -> None:
        try:
            api = AirflowApi(url, "admin", admin_password(home) or "")
        except OSError as exc:
            say(f"demo: cannot log in to run the demo's flows: {exc}")
            return
        run_demo_flows(api, say, stop)

    threading.Thread(target=run, name="koppel-demo-runs", daemon=True).start()


def _banner(url: str, home: Path, summary: list[str], *, demo: bool) -> None:
    lines = [
        f"Integration centre: {url}/koppel/  (Koppel in Airflow's menu)",
        f"Airflow UI:   {url}  (user admin, password {admin_password(home)})",
        f"Airflow home: {home}",
        "Partner stand-ins:",
        *(f"  {line}" for line in summary),
        f"Their connections, for a shell: . {home / 'sandbox' / 'connections.env'}",
        (
            "The demo's flows are switched on and run once now; the other DAGs are paused."
            if demo
            else "New DAGs are paused: switch one on and trigger it."
        ),
        "Ctrl-C stops everything.",
    ]
    print("\n".join(["", *lines, ""]), flush=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _stop(airflow: subprocess.Popen[bytes]) -> None:
    """SIGINT (standalone's clean stop), then the whole process group if it lingers."""
    if airflow.poll() is None:
        airflow.send_signal(signal.SIGINT)
        try:
            airflow.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(airflow.pid, signal.SIGKILL)
            airflow.wait()
    # Components that outlived standalone (it waits for them, but a crash may not).
    _signal_group(airflow.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return


if __name__ == "__main__":
    sys.exit(main())
