"""Every example connection's DAGs import cleanly; a broken file hides nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from koppel.config import load_all
from koppel.dag_factory import BROKEN_DAG_ID

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = PROJECT_ROOT / "dags"
EXAMPLES = PROJECT_ROOT / "include" / "connections"


def _bag() -> DagBag:
    return DagBag(str(DAGS_FOLDER))


def _expected_dag_ids(folder: Path) -> set[str]:
    result = load_all(folder)
    assert not result.errors, [str(e) for e in result.errors]
    return {c.dag_id(flow) for c in result.connections for flow in c.flows}


def test_example_connections_import_without_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(EXAMPLES))
    bag = _bag()
    assert bag.import_errors == {}
    expected = _expected_dag_ids(EXAMPLES)
    assert {"itsperfect_acme__orders", "itsperfect_bellamoda__orders"} <= expected
    assert set(bag.dag_ids) == expected


def test_generated_dag_has_tags_docs_params_and_starts_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(EXAMPLES))
    dag = _bag().dags["itsperfect_acme__orders"]
    assert dag is not None
    assert {"itsperfect_acme", "orders", "itsperfect_monta"} <= set(dag.tags)
    assert dag.doc_md is not None
    assert "Monta" in dag.doc_md
    assert "/acme/" in dag.doc_md
    assert set(dag.params) == {"only_files", "max_files"}
    assert dag.is_paused_upon_creation is True
    assert [t.task_id for t in dag.topological_sort()] == ["receive", "process", "acknowledge"]
    assert dag.max_active_runs == 1


def test_broken_file_yields_one_import_error_and_all_good_dags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "connections"
    shutil.copytree(EXAMPLES, folder)
    expected = _expected_dag_ids(folder)
    (folder / "itsperfect_broken.yaml").write_text(
        "extends: _itsperfect_monta\nname: Broken\nprefix: broken\n"
        "flows:\n  orders:\n    schedul: daily\n"
    )
    (folder / "itsperfect_typo.yaml").write_text("extends: _itsperfect_monta\nname: [unclosed\n")
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(folder))
    bag = _bag()
    assert set(bag.dag_ids) == expected
    assert BROKEN_DAG_ID not in bag.dag_ids
    assert len(bag.import_errors) == 1
    (message,) = bag.import_errors.values()
    assert "itsperfect_broken.yaml" in message
    assert "flows.orders" in message
    assert "itsperfect_typo.yaml" in message


def test_many_connections_parse_into_many_dags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing stays a matter of reading YAML: 150 merchants give 1,050 DAGs and no error."""
    folder = tmp_path / "connections"
    folder.mkdir()
    shutil.copy(EXAMPLES / "_itsperfect_monta.yaml", folder)
    for n in range(150):
        (folder / f"merchant_{n:03d}.yaml").write_text(
            f"extends: _itsperfect_monta\nname: Merchant {n}\nprefix: m{n:03d}\n"
            f"channels:\n  B2C: {{origin: m{n:03d}-web}}\nvars:\n  sftp_conn_id: sftp_m{n:03d}\n"
        )
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(folder))
    bag = _bag()
    assert bag.import_errors == {}
    assert len(bag.dag_ids) == 150 * 7  # every merchant gets the seven flows of the seed


def test_a_worker_parses_only_the_dag_of_its_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow's parsing context names the DAG a worker needs; the others are not built."""
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(EXAMPLES))
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "itsperfect_acme__stock")
    bag = _bag()
    assert bag.import_errors == {}
    assert bag.dag_ids == ["itsperfect_acme__stock"]


@pytest.mark.parametrize("dag_id", ["itsperfect_acme__prices", "nobody__orders"])
def test_a_worker_asking_for_an_unknown_dag_gets_none(dag_id: str) -> None:
    from koppel.dag_factory import build_dags

    assert build_dags(EXAMPLES, only=dag_id) == {}
