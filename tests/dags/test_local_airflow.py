"""``make airflow`` for real: the launcher, Airflow standalone, the stand-ins, the REST API.

Starts ``python -m koppel.local_airflow`` with its own Airflow home and port,
switches on and triggers one file flow (Acme's stock, whose file the sandbox
drops) and one API flow (IPSoft <-> Le New Black orders) through the REST API
as a user would, checks the runs succeeded and the documents arrived, then
presses Ctrl-C (SIGINT to the launcher alone) and checks that everything it
started is gone.
"""

from __future__ import annotations

import json
import shlex
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from koppel.store import Direction, MessageStatus, MessageStore
from koppel.store.engine import create_store_engine
from tests.fixtures.local_airflow import Launcher, running_launcher

pytestmark = pytest.mark.dagrun

RUN_SECONDS = 120
STOP_SECONDS = 90
FILE_DAG, API_DAG = "itsperfect_acme__stock", "ipsoft_noordzee__orders"
#: The connections of the webshop and CRM merchants (issue 12) the launcher must serve.
NEW_CONN_IDS = {"webshop_koffiebar", "ipsoft_koffiebar", "crm_adviesgroep", "ipsoft_adviesgroep"}


def _session_members(sid: int) -> list[int]:
    """Every live process of session ``sid`` (field 6 of /proc/PID/stat)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    # The demo's own runs are the browser test's (tests/browser); these runs are this test's.
    with running_launcher(tmp_path_factory.mktemp("local_airflow"), "--no-demo-runs") as started:
        yield started


def _exported_connections(env_file: Path) -> dict[str, str]:
    """``conn_id`` -> value of every ``export AIRFLOW_CONN_...=...`` line the launcher wrote."""
    values = {}
    for line in env_file.read_text(encoding="utf-8").splitlines():
        (assignment,) = shlex.split(line.removeprefix("export "))
        name, _, value = assignment.partition("=")
        values[name.removeprefix("AIRFLOW_CONN_").lower()] = value
    return values


def _listing(value: str, collection: str) -> list[dict[str, Any]]:
    """The first page of ``collection`` from the HTTP API the connection ``value`` names."""
    fields = json.loads(value)
    request = urllib.request.Request(
        f"{fields['schema']}://{fields['host']}:{fields['port']}/api/v1/{collection}",
        headers={"Authorization": f"Bearer {fields['password']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        records: list[dict[str, Any]] = json.load(response)[collection]
    return records


def _run_to_the_end(launcher: Launcher, dag_id: str) -> list[dict[str, Any]]:
    """Switch the DAG on, trigger it, wait until every run of it (the scheduled one too) ended."""
    launcher.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    launcher.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
    deadline = time.monotonic() + RUN_SECONDS
    while True:
        runs: list[dict[str, Any]] = launcher.api("GET", f"/api/v2/dags/{dag_id}/dagRuns")[
            "dag_runs"
        ]
        if all(run["state"] in {"success", "failed"} for run in runs):
            return runs
        assert time.monotonic() < deadline, f"{dag_id} still running: {runs}"
        time.sleep(2)


def test_example_flows_run_under_standalone_and_ctrl_c_stops_everything(
    launcher: Launcher,
) -> None:
    assert launcher.api("GET", "/api/v2/plugins/importErrors")["total_entries"] == 0
    plugins = launcher.api("GET", "/api/v2/plugins")["plugins"]
    assert [p["name"] for p in plugins] == ["koppel"]  # the integration centre, loaded

    file_runs = _run_to_the_end(launcher, FILE_DAG)
    api_runs = _run_to_the_end(launcher, API_DAG)

    assert {run["state"] for run in file_runs + api_runs} == {"success"}
    assert any(run["run_type"] == "manual" for run in file_runs)
    assert any(run["run_type"] == "manual" for run in api_runs)
    acme = launcher.home / "sandbox" / "sftp" / "acme"
    assert (acme / "itsperfect" / "stock" / "acme_stock_stock_0600.xml").is_file()
    assert (acme / "monta" / "stock" / "archive" / "stock_0600.xml").is_file()
    store = MessageStore(create_store_engine(f"sqlite:///{launcher.home / 'store.db'}"))
    delivered = store.find(
        connection_id="ipsoft_noordzee",
        flow="orders",
        direction=Direction.OUT,
        statuses=[MessageStatus.DELIVERED],
    )
    # The demo's two orders whose customers have a valid IPSoft reference, each created once
    # though the scheduled run and the manual one both ran.
    assert len(delivered) == 2
    # Issue 12's merchants: their connections are exported, the APIs answer through them.
    exported = _exported_connections(launcher.home / "sandbox" / "connections.env")
    assert set(exported) >= NEW_CONN_IDS
    assert exported["ipsoft_koffiebar"] == exported["ipsoft_adviesgroep"]
    assert _listing(exported["webshop_koffiebar"], "orders")
    assert _listing(exported["crm_adviesgroep"], "deals")

    launcher.process.send_signal(signal.SIGINT)
    started = time.monotonic()
    assert launcher.process.wait(timeout=STOP_SECONDS) == 0
    print(f"stopped in {time.monotonic() - started:.0f} s")
    assert _session_members(launcher.process.pid) == []
    assert "stand-ins stopped" in launcher.log.read_text(errors="replace")
