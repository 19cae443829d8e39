"""The generated DAG files follow the connection files: written, left alone, rewritten, removed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from koppel.dag_files import (
    MARKER,
    dag_file_source,
    ensure_dag_files,
    plan_dag_files,
    sync_dag_files,
)
from koppel.errors import ConfigError
from tests.fixtures.airflow_env import CONNECTIONS_TEMPLATE

MERCHANT = "extends: _itsperfect_monta\nname: M\nprefix: m\nvars:\n  sftp_conn_id: sftp_m\n"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A connections folder with the template and two merchants, and an empty DAG file folder."""
    connections = tmp_path / "connections"
    connections.mkdir()
    shutil.copy(CONNECTIONS_TEMPLATE, connections)
    (connections / "shop_a.yaml").write_text(MERCHANT)
    (connections / "shop_b.yml").write_text(MERCHANT)
    return tmp_path / "dags" / "connections", connections


def test_each_connection_file_gets_one_dag_file_and_templates_none(
    folders: tuple[Path, Path],
) -> None:
    stubs, connections = folders
    changes = sync_dag_files(stubs, connections)
    assert sorted(p.name for p in stubs.iterdir()) == ["shop_a.py", "shop_b.py"]
    assert changes.missing == {
        stubs / "shop_a.py": connections / "shop_a.yaml",
        stubs / "shop_b.py": connections / "shop_b.yml",
    }
    text = (stubs / "shop_a.py").read_text()
    assert text == dag_file_source("shop_a")
    assert MARKER in text
    assert 'CONNECTION_ID = "shop_a"' in text
    # Airflow's safe mode skips files that do not mention both words.
    assert {"airflow", "dag"} <= set(text.lower().replace(".", " ").split())


def test_a_second_sync_changes_nothing_and_keeps_mtimes(folders: tuple[Path, Path]) -> None:
    stubs, connections = folders
    sync_dag_files(stubs, connections)
    past = 1_000_000_000
    for stub in stubs.iterdir():
        os.utime(stub, (past, past))
    assert not sync_dag_files(stubs, connections)
    assert {stub.stat().st_mtime for stub in stubs.iterdir()} == {past}


def test_an_outdated_dag_file_is_rewritten(folders: tuple[Path, Path]) -> None:
    stubs, connections = folders
    sync_dag_files(stubs, connections)
    (stubs / "shop_a.py").write_text(f'"""{MARKER}: an older template."""\n')
    changes = sync_dag_files(stubs, connections)
    assert changes.outdated == [stubs / "shop_a.py"]
    assert (stubs / "shop_a.py").read_text() == dag_file_source("shop_a")
    assert sorted(p.name for p in stubs.iterdir()) == ["shop_a.py", "shop_b.py"]  # no temp left


def test_a_removed_connection_loses_its_dag_file_but_hand_written_files_stay(
    folders: tuple[Path, Path],
) -> None:
    stubs, connections = folders
    sync_dag_files(stubs, connections)
    (stubs / "hand_written.py").write_text("# an Airflow DAG someone wrote here\n")
    (connections / "shop_b.yml").unlink()
    changes = sync_dag_files(stubs, connections)
    assert changes.orphaned == [stubs / "shop_b.py"]
    assert sorted(p.name for p in stubs.iterdir()) == ["hand_written.py", "shop_a.py"]


def test_plan_names_what_is_out_of_step_and_changes_nothing(folders: tuple[Path, Path]) -> None:
    stubs, connections = folders
    changes = plan_dag_files(stubs, connections)
    assert changes.describe(done=False) == [
        f"{connections / 'shop_a.yaml'}: no DAG file {stubs / 'shop_a.py'}",
        f"{connections / 'shop_b.yml'}: no DAG file {stubs / 'shop_b.py'}",
    ]
    assert not stubs.exists()


def test_a_missing_connections_folder_is_an_error_not_an_empty_one(tmp_path: Path) -> None:
    """An unmounted folder must not read as "every connection removed"."""
    stubs = tmp_path / "dags" / "connections"
    stubs.mkdir(parents=True)
    (stubs / "shop_a.py").write_text(dag_file_source("shop_a"))
    with pytest.raises(ConfigError, match="does not exist"):
        ensure_dag_files(stubs, tmp_path / "nowhere")
    assert (stubs / "shop_a.py").exists()
