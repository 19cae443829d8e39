"""The Airflow half of the demo, imported only after the demo has set Airflow's environment."""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from airflow.dag_processing.dagbag import DagBag
from airflow.utils import db

from koppel import PROJECT_ROOT
from koppel.config import ConnectionConfig, load_all
from koppel.formats import default_registry
from koppel.hooks.store import KoppelStoreHook
from koppel.sandbox.smtp_server import SMTPServer
from koppel.settings import connections_dir
from koppel.store import Direction, MessageStatus, MessageStore

FLOW = "orders"
TASK_LOG = PROJECT_ROOT / ".demo" / "airflow-tasks.log"


class _Drop(Protocol):
    """A file the demo drops (see ``koppel.demo.Drop``)."""

    @property
    def name(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def good(self) -> bool: ...


def run_demo(
    sftp_root: Path, drops_for: Callable[[str], Sequence[_Drop]], smtp: SMTPServer
) -> bool:
    """Drop the files, run each merchant's orders DAG, print the summary, check the outcome."""
    logging.getLogger("airflow").setLevel(logging.ERROR)
    with _output_to(TASK_LOG):
        db.resetdb()
    connections = {c.id: c for c in load_all(connections_dir()).connections}
    merchants = [connections[cid] for cid in ("itsperfect_acme", "itsperfect_bellamoda")]
    bag = DagBag(str(PROJECT_ROOT / "dags"))
    store = KoppelStoreHook().get_store()
    all_ok = True
    for connection in merchants:
        drops = drops_for(connection.id)
        _drop_files(sftp_root, connection, drops)
        dag_id = connection.dag_id(FLOW)
        with _output_to(TASK_LOG):
            run = bag.dags[dag_id].test()
        counts = _counts(store, connection)
        print(
            f"{dag_id} {run.state} received={counts['received']} "
            f"delivered={counts['delivered']} rejected={counts['rejected']}"
        )
        all_ok &= _check(sftp_root, store, connection, drops)
    for alert in smtp.messages:
        print(f"alert e-mail to {alert['To']}: {alert['Subject']}")
    _print_where_to_look(sftp_root)
    return all_ok


@contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send everything Airflow prints (task logs, tracebacks of the expected failures) to a file.

    Redirected at the file-descriptor level: Airflow's task runner writes to
    the descriptors it captured at start-up, not to ``sys.stdout``.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _drop_files(sftp_root: Path, connection: ConnectionConfig, drops: Sequence[_Drop]) -> None:
    """Write each file the way a partner should: complete under a temporary name, then renamed."""
    inbound = _local(sftp_root, connection.flows[FLOW].source.folder)
    inbound.mkdir(parents=True, exist_ok=True)
    for drop in drops:
        temporary = inbound / f".{drop.name}.part"
        temporary.write_bytes(drop.payload)
        temporary.rename(inbound / drop.name)


def _counts(store: MessageStore, connection: ConnectionConfig) -> Counter[str]:
    messages = store.find(connection_id=connection.id, flow=FLOW, direction=Direction.IN)
    counts: Counter[str] = Counter(m.status.value for m in messages)
    counts["received"] = len(messages)
    return counts


def _check(
    sftp_root: Path, store: MessageStore, connection: ConnectionConfig, drops: Sequence[_Drop]
) -> bool:
    """Every good file delivered as valid output and archived; every bad one in error/."""
    flow = connection.flows[FLOW]
    target_format = default_registry().get(flow.target.format)
    outbound = sorted(_local(sftp_root, flow.target.folder).glob("*.xml"))
    problems: list[str] = []
    for path in outbound:
        if bad := target_format.validate(path.read_bytes(), source=path.name):
            problems.append(f"{path.name} is not valid {flow.target.format}: {bad[0]}")
    expected_good = sum(d.good for d in drops)
    if len(outbound) != expected_good:
        problems.append(f"{len(outbound)} file(s) delivered, expected {expected_good}")
    for drop in drops:
        folder = flow.source.archive_folder if drop.good else flow.source.error_folder
        if not (_local(sftp_root, folder) / drop.name).exists():
            problems.append(f"{drop.name} is not in {folder}")
    rejected = store.find(
        connection_id=connection.id,
        flow=FLOW,
        direction=Direction.IN,
        statuses=[MessageStatus.REJECTED],
    )
    if len(rejected) != sum(not d.good for d in drops):
        problems.append(
            f"{len(rejected)} message(s) rejected, expected {sum(not d.good for d in drops)}"
        )
    for problem in problems:
        print(f"  UNEXPECTED: {problem}")
    return not problems


def _local(sftp_root: Path, remote_folder: str) -> Path:
    return sftp_root / remote_folder.lstrip("/")


def _print_where_to_look(sftp_root: Path) -> None:
    store_url = "sqlite:///" + str(PROJECT_ROOT / ".demo" / "store.db")
    print()
    print(
        f"Files:    {sftp_root} "
        "(inbound, archive/, error/ with .problems.txt, and the Monta folders)"
    )
    print(f"Task logs: {TASK_LOG}")
    print(f"Messages: KOPPEL_STORE_URL={store_url} .venv/bin/koppel messages --problems")
