"""The Airflow half of the demo, imported only after the demo has set Airflow's environment."""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import DagBag
from airflow.utils import db
from sqlalchemy import Engine

from koppel import PROJECT_ROOT
from koppel.config import ConnectionConfig, FileEndpoint, FlowConfig, file_endpoint, load_all
from koppel.demo_api import run_api_demo
from koppel.demo_documents import run_documents_demo
from koppel.demo_peppol import run_peppol_demo
from koppel.demo_scenario import Step
from koppel.demo_scsn import run_scsn_demo
from koppel.demo_stores import run_stores_demo
from koppel.formats import default_registry
from koppel.hooks.store import KoppelStoreHook
from koppel.sandbox.crm import CrmServer
from koppel.sandbox.ipsoft import IPSoftServer
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.partner_files import drop_file
from koppel.sandbox.smtp_server import SMTPServer
from koppel.sandbox.webshop import WebshopServer
from koppel.settings import connections_dir
from koppel.store import Direction, MessageStore

TASK_LOG = PROJECT_ROOT / ".demo" / "airflow-tasks.log"


def run_demo(
    sftp_root: Path,
    steps: Iterable[Step],
    smtp: SMTPServer,
    api: tuple[IPSoftServer, LeNewBlackServer],
    erp: Engine,
    *,
    stores: Mapping[str, tuple[Engine, Engine]],
    supplier: Engine,
    documents: tuple[IPSoftServer, WebshopServer, CrmServer],
) -> bool:
    """Drop each step's files, run its DAG, print the summary line, check the outcome.

    ``stores`` holds each ``ubl_stores`` company's two store databases by
    prefix (store A, store B); ``supplier`` is the Peppol supplier's ERP;
    ``documents`` the IPSoft, webshop and CRM of seed 001's document types.
    """
    logging.getLogger("airflow").setLevel(logging.ERROR)
    with _output_to(TASK_LOG):
        db.resetdb()
    connections = {c.id: c for c in load_all(connections_dir()).connections}
    for connection in connections.values():
        _make_folders(sftp_root, connection)
    bag = DagBag(str(PROJECT_ROOT / "dags"))
    store = KoppelStoreHook().get_store()
    all_ok = True
    for step in steps:
        connection = connections[step.connection_id]
        flow = connection.flows[step.flow]
        ends = {role: file_endpoint(end, role) for role, end in flow.endpoints()}
        before = {role: _xml_files(sftp_root, end.folder) for role, end in ends.items()}
        _drop_files(sftp_root, ends["source"].folder, step)
        dag_id = connection.dag_id(step.flow)
        state = _run_quietly(bag.dags[dag_id])
        counts = _counts(store, connection, flow)
        print(
            f"{dag_id} {state} received={counts['received']} "
            f"delivered={counts['delivered']} rejected={counts['rejected']}"
        )
        all_ok &= _check(
            sftp_root, store, connection=connection, flow=flow, step=step, before=before
        )
    all_ok &= run_api_demo(bag, store, *api, run=_run_quietly)
    all_ok &= run_scsn_demo(
        bag, store, sftp_root, connections["scsn_techparts"], erp=erp, run=_run_quietly
    )
    for company, (store_a, store_b) in stores.items():
        all_ok &= run_stores_demo(
            bag,
            store,
            sftp_root,
            connections[f"ubl_{company}"],
            store_a=store_a,
            store_b=store_b,
            run=_run_quietly,
        )
    all_ok &= run_peppol_demo(
        bag, store, sftp_root, connections["peppol_arctic"], erp=supplier, run=_run_quietly
    )
    all_ok &= run_documents_demo(
        bag,
        store,
        *documents,
        accounts=connections["webshop_koffiebar"].accounts(),
        run=_run_quietly,
    )
    for alert in smtp.messages:
        print(f"alert e-mail to {alert['To']}: {alert['Subject']}")
    _print_where_to_look(sftp_root)
    return all_ok


def _make_folders(sftp_root: Path, connection: ConnectionConfig) -> None:
    """Onboarding step 1: the merchant's folders exist on the server before its flows run."""
    for flow in connection.flows.values():
        for _, endpoint in flow.endpoints():
            if isinstance(endpoint, FileEndpoint):
                _local(sftp_root, endpoint.folder).mkdir(parents=True, exist_ok=True)


def _drop_files(sftp_root: Path, folder: str, step: Step) -> None:
    """Write each file the way a partner should: complete under a temporary name, then renamed."""
    inbound = _local(sftp_root, folder)
    for drop in step.drops:
        drop_file(inbound, drop.name, drop.payload)


def _counts(store: MessageStore, connection: ConnectionConfig, flow: FlowConfig) -> Counter[str]:
    messages = store.find(connection_id=connection.id, flow=flow.name, direction=Direction.IN)
    counts: Counter[str] = Counter(m.status.value for m in messages)
    counts["received"] = len(messages)
    return counts


def _check(
    sftp_root: Path,
    store: MessageStore,
    *,
    connection: ConnectionConfig,
    flow: FlowConfig,
    step: Step,
    before: dict[str, set[str]],
) -> bool:
    """The step's good files archived, bad ones in error/, and the expected valid output."""
    problems: list[str] = []
    expected = {"target": step.target_files, "reply": step.reply_files}
    for role, end in flow.endpoints():
        if role == "source":
            continue
        endpoint = file_endpoint(end, role)
        new = sorted(_xml_files(sftp_root, endpoint.folder) - before[role])
        problems += _check_output(sftp_root, endpoint, new, expected[role], role)
    source = file_endpoint(flow.source, "source")
    for drop in step.drops:
        folder = source.archive_folder if drop.good else source.error_folder
        if not (_local(sftp_root, folder) / drop.name).exists():
            problems.append(f"{drop.name} is not in {folder}")
    rejected = _counts(store, connection, flow)["rejected"]
    if rejected != sum(not d.good for d in step.drops):
        problems.append(
            f"{rejected} message(s) rejected, expected {sum(not d.good for d in step.drops)}"
        )
    for problem in problems:
        print(f"  UNEXPECTED: {problem}")
    return not problems


def _check_output(
    sftp_root: Path, endpoint: FileEndpoint, new: list[str], expected: int, role: str
) -> list[str]:
    problems = []
    if len(new) != expected:
        problems.append(f"{len(new)} new {role} file(s) in {endpoint.folder}, expected {expected}")
    fmt = default_registry().get(endpoint.format)
    for name in new:
        data = (_local(sftp_root, endpoint.folder) / name).read_bytes()
        if bad := fmt.validate(data, source=name):
            problems.append(f"{name} is not valid {endpoint.format}: {bad[0]}")
    return problems


def _xml_files(sftp_root: Path, folder: str) -> set[str]:
    return {p.name for p in _local(sftp_root, folder).glob("*.xml")}


def _local(sftp_root: Path, remote_folder: str) -> Path:
    return sftp_root / remote_folder.lstrip("/")


def _run_quietly(dag: Any) -> str:
    """Run one DAG with ``dag.test()``, its task logs going to the demo's log file."""
    with _output_to(TASK_LOG):
        return str(dag.test().state)


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


def _print_where_to_look(sftp_root: Path) -> None:
    demo_dir = PROJECT_ROOT / ".demo"
    store_url = "sqlite:///" + str(demo_dir / "store.db")
    print()
    print(
        f"Files:     {sftp_root} (per merchant: itsperfect/ and monta/ folders, archive/, error/;\n"
        "           techparts/: SCSN orders and responses; nordkauppa/, lumikki/: internal orders"
        " and waybills;\n           arctic/: Peppol orders, responses and despatch advices)"
    )
    print(f"ERP:       {demo_dir / 'isah.db'} (Isah's tables, SQLite)")
    print(
        f"Stores:    {demo_dir}/store_a_nordkauppa.db, store_b_nordkauppa.db, store_a_lumikki.db,"
        " store_b_lumikki.db, erp_arctic.db (the store ERP's tables, SQLite)"
    )
    print(f"Task logs: {TASK_LOG}")
    print(f"Messages:  KOPPEL_STORE_URL={store_url} .venv/bin/koppel messages --problems")
