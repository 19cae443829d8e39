"""Every example connection's DAGs import cleanly; a broken file hides only its own DAGs.

Each connection file has its own generated DAG file, so these parse a DAGs
folder the way Airflow does (a ``DagBag``) after syncing its DAG files; what
the metadata DB makes of it is in ``test_dag_processor.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from koppel.config import load_all
from koppel.dag_factory import connection_dags
from koppel.dag_files import plan_dag_files
from tests.fixtures.airflow_env import CONNECTIONS_TEMPLATE, INDEX_DAG_FILE, dag_bag

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "include" / "connections"

BROKEN = (
    "extends: _itsperfect_monta\nname: Broken\nprefix: broken\n"
    "vars:\n  sftp_conn_id: sftp_broken\nflows:\n  orders:\n    schedul: '@daily'\n"
)


def _merchant(n: int) -> str:
    return (
        f"extends: _itsperfect_monta\nname: Merchant {n}\nprefix: m{n:03d}\n"
        f"channels:\n  B2C: {{origin: m{n:03d}-web}}\nvars:\n  sftp_conn_id: sftp_m{n:03d}\n"
    )


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` unwritable like a read-only mount, for root too (``chattr +i``)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", folder], check=False).returncode:
        pytest.skip("root can write anywhere and this filesystem has no immutable flag")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", folder], check=True)


def _expected_dag_ids(folder: Path) -> set[str]:
    result = load_all(folder)
    assert not result.errors, [str(e) for e in result.errors]
    return {c.dag_id(flow) for c in result.connections for flow in c.flows}


def test_example_connections_import_without_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own DAGs folder, as a fresh clone has it: committed DAG files, no sync."""
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(EXAMPLES))
    bag = DagBag(str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    expected = _expected_dag_ids(EXAMPLES)
    assert {"itsperfect_acme__orders", "itsperfect_bellamoda__orders"} <= expected
    assert set(bag.dag_ids) == expected
    for dag_id, dag in bag.dags.items():
        connection_id = dag_id.split("__")[0]
        assert Path(dag.fileloc) == PROJECT_ROOT / "dags" / "connections" / f"{connection_id}.py"


def test_the_committed_dag_files_match_the_example_connections() -> None:
    assert not plan_dag_files(PROJECT_ROOT / "dags" / "connections", EXAMPLES)


def test_generated_dag_has_tags_docs_params_and_starts_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(EXAMPLES))
    dag = dag_bag().dags["itsperfect_acme__orders"]
    assert dag is not None
    assert {"itsperfect_acme", "orders", "itsperfect_monta"} <= set(dag.tags)
    assert dag.doc_md is not None
    assert "Monta" in dag.doc_md
    assert "/acme/" in dag.doc_md
    assert set(dag.params) == {"only_files", "max_files"}
    assert dag.is_paused_upon_creation is True
    assert [t.task_id for t in dag.topological_sort()] == ["receive", "process", "acknowledge"]
    assert dag.max_active_runs == 1


def test_a_broken_file_hides_only_its_own_dags_and_is_named_in_its_own_import_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "connections"
    shutil.copytree(EXAMPLES, folder)
    expected = _expected_dag_ids(folder)
    (folder / "itsperfect_broken.yaml").write_text(BROKEN)
    (folder / "itsperfect_typo.yaml").write_text("extends: _itsperfect_monta\nname: [unclosed\n")
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(folder))

    bag = dag_bag()

    assert set(bag.dag_ids) == expected
    errors = {Path(key).name: message for key, message in bag.import_errors.items()}
    assert set(errors) == {"itsperfect_broken.py", "itsperfect_typo.py"}
    assert "itsperfect_broken.yaml" in errors["itsperfect_broken.py"]
    assert "flows.orders.schedul" in errors["itsperfect_broken.py"]
    assert "did you mean 'schedule'?" in errors["itsperfect_broken.py"]
    assert "itsperfect_typo.yaml" in errors["itsperfect_typo.py"]
    assert "line 2" in errors["itsperfect_typo.py"]
    # Raised without its pydantic cause, which would print the raw input values.
    assert "input_value" not in errors["itsperfect_broken.py"]


def test_fixing_the_file_brings_its_dags_back(
    connections_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (connections_dir / "merchant_001.yaml").write_text(_merchant(1))
    (connections_dir / "itsperfect_broken.yaml").write_text(BROKEN)
    assert "itsperfect_broken__orders" not in dag_bag().dag_ids

    (connections_dir / "itsperfect_broken.yaml").write_text(BROKEN.replace("schedul:", "schedule:"))
    bag = dag_bag()

    assert bag.import_errors == {}
    assert "itsperfect_broken__orders" in bag.dag_ids
    assert len(bag.dag_ids) == 2 * 7


def test_many_connections_parse_into_many_dags(connections_dir: Path) -> None:
    """Parsing stays a matter of reading YAML: 150 merchants give 1,050 DAGs and no error."""
    for n in range(150):
        (connections_dir / f"merchant_{n:03d}.yaml").write_text(_merchant(n))
    bag = dag_bag()
    assert bag.import_errors == {}
    assert len(bag.dag_ids) == 150 * 7  # every merchant gets the seven flows of the seed
    assert len({dag.fileloc for dag in bag.dags.values()}) == 150


def test_a_worker_parses_only_the_dag_of_its_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow's parsing context names the DAG a worker needs; the others are not built."""
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(EXAMPLES))
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "itsperfect_acme__stock")
    bag = dag_bag()
    assert bag.import_errors == {}
    assert bag.dag_ids == ["itsperfect_acme__stock"]


@pytest.mark.parametrize(
    ("connection_id", "dag_id"),
    [
        ("itsperfect_acme", "itsperfect_acme__prices"),  # no such flow
        ("itsperfect_acme", "itsperfect_bellamoda__orders"),  # another connection's DAG
        ("nobody", "nobody__orders"),  # no such connection file
    ],
)
def test_a_worker_asking_for_an_unknown_dag_gets_none(connection_id: str, dag_id: str) -> None:
    assert connection_dags(connection_id, only=dag_id, directory=EXAMPLES) == {}


def test_a_removed_connection_file_leaves_its_dag_file_without_dags(connections_dir: Path) -> None:
    """Between a file's removal and the next sync its DAG file builds nothing and fails nothing."""
    assert connection_dags("merchant_gone", directory=connections_dir) == {}


def test_the_index_names_missing_dag_files_when_the_folder_is_read_only(
    tmp_path: Path, connections_dir: Path
) -> None:
    dags = tmp_path / "dags"
    (dags / "connections").mkdir(parents=True)
    shutil.copy(INDEX_DAG_FILE, dags)
    (connections_dir / "merchant_001.yaml").write_text(_merchant(1))

    with _read_only(dags / "connections"):
        bag = DagBag(str(dags))

    assert bag.dag_ids == []
    (key, message), *others = bag.import_errors.items()
    assert others == []
    assert Path(key).name == INDEX_DAG_FILE.name
    assert f"{connections_dir / 'merchant_001.yaml'}: no DAG file" in message
    assert "run `koppel dags`" in message
    assert CONNECTIONS_TEMPLATE.name not in message  # templates get no DAG file


@pytest.mark.parametrize(
    ("dag_id", "name", "example"),
    [
        ("itsperfect_acme__orders", "only_files", "order_1234*.xml"),
        ("ipsoft_noordzee__orders", "references", "LNB-100045"),
    ],
)
def test_list_params_are_optional_in_the_trigger_form(
    dag_id: str, name: str, example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's form marks a param required unless its type allows null; empty means "all"."""
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(EXAMPLES))
    param = dag_bag().dags[dag_id].params.get_param(name)
    assert "null" in param.schema["type"]
    assert param.schema["items"] == {"type": "string"}
    assert param.resolve(None) is None
    assert param.resolve([]) == []
    assert param.resolve([example]) == [example]  # what `airflow dags trigger --conf` passes


def test_each_kind_of_source_gets_its_own_first_and_last_task(
    connections_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are received and archived, an API read and confirmed, a table read past its
    watermark; the SCSN import (SFTP in, an ERP's tables out) is a file flow."""
    for name in ("_scsn_isah.yaml", "scsn_techparts.yaml", "itsperfect_acme.yaml"):
        shutil.copy(EXAMPLES / name, connections_dir)
    (connections_dir / "isah_exports.yaml").write_text(
        "name: Isah order export\nplatform: isah_export\n"
        "systems: {source: {name: Isah, kind: erp}, target: {name: Archive, kind: erp}}\n"
        "flows:\n  orders:\n    description: confirmed orders, as the ERP holds them\n"
        "    source: {transport: sql, conn_id: isah_erp, format: isah.sales_order,"
        " table: sales_orders, identified_by: [order_reference, buyer_scsn_id],"
        " children: {lines: sales_order_lines}, parent_column: order_number,"
        " returning: order_number, watermark_column: updated_at}\n"
        "    target: {transport: sftp, conn_id: sftp_archive, folder: /orders,"
        " format: isah.sales_order, filename: '{document_key}.json'}\n"
    )
    bag = dag_bag()
    assert bag.import_errors == {}
    kinds = {
        dag_id: [type(bag.dags[dag_id].get_task(t)).__name__ for t in ("receive", "acknowledge")]
        for dag_id in ("itsperfect_acme__orders", "scsn_techparts__orders", "isah_exports__orders")
    }
    assert kinds == {
        "itsperfect_acme__orders": ["ReceiveFilesOperator", "AcknowledgeFilesOperator"],
        "scsn_techparts__orders": ["ReceiveFilesOperator", "AcknowledgeFilesOperator"],
        "isah_exports__orders": ["ReceiveSqlOperator", "FinishSqlOperator"],
    }
    sql_dag = bag.dags["isah_exports__orders"]
    assert set(sql_dag.params) == {"resend"}
    assert "table `sales_orders`" in (sql_dag.doc_md or "")
