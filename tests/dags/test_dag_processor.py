"""A broken connection file as Airflow really runs it: ``airflow dag-processor`` and its DB.

An in-memory ``DagBag`` cannot show what the metadata DB makes of an import
error: Airflow 3.3 marks every DAG of the failing *file* stale
(``airflow/dag_processing/collection.py``), and a stale DAG is gone from the
UI and the scheduler. So these run ``airflow dag-processor -n 1`` in a
subprocess against a migrated SQLite DB and read the ``dag`` and
``import_error`` tables. Each ``-n 1`` run is a new process that lists the
DAGs folder once at its start: a DAG file the index writes during a pass is
parsed by the next one. A pass takes several seconds, so there are few.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from koppel.config import load_connection
from koppel.dag_files import sync_dag_files
from tests.fixtures.airflow_env import CONNECTIONS_TEMPLATE, INDEX_DAG_FILE

pytestmark = pytest.mark.dagrun

VENV_BIN = Path(sys.executable).parent
MERCHANTS = ("shop_a", "shop_b", "shop_c")
TYPO = "flows:\n  orders:\n    schedul: '@daily'\n"
PASS_TIMEOUT = 300


def _merchant(connection_id: str) -> str:
    prefix = connection_id.replace("_", "")
    return (
        f"extends: _itsperfect_monta\nname: {connection_id}\nprefix: {prefix}\n"
        f"channels:\n  B2C: {{origin: {prefix}-web}}\nvars:\n  sftp_conn_id: sftp_{prefix}\n"
    )


@dataclass(frozen=True)
class DbState:
    """What the metadata DB says after a pass."""

    active: set[str]
    stale: set[str]
    files: dict[str, str]  # dag_id -> relative_fileloc
    import_errors: dict[str, str]  # relative file name -> stacktrace


@dataclass(frozen=True)
class Airflow:
    """An Airflow home with its own DB, DAGs folder (index + DAG files) and connection folder."""

    home: Path
    dags: Path
    connections: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.home / 'airflow.db'}"

    def env(self) -> dict[str, str]:
        """This test's Airflow and Koppel settings, none inherited from the test session."""
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KOPPEL_"))
        }
        return {
            **inherited,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
            "KOPPEL_CONNECTIONS_DIR": str(self.connections),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def airflow(self, *args: str) -> None:
        """Run the ``airflow`` command; its output is shown when it fails."""
        done = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=PASS_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def process(self) -> DbState:
        """One pass of the dag-processor over every file of the DAGs folder."""
        self.airflow("dag-processor", "-n", "1")
        return self.state()

    def sync(self) -> None:
        """Write the DAG files as ``koppel dags`` would."""
        sync_dag_files(self.dags / "connections", self.connections)

    def dag_ids(self, *connection_ids: str) -> set[str]:
        """The DAG ids of these merchants: one per flow, the same flows for all of them."""
        flows = load_connection(self.connections / f"{MERCHANTS[0]}.yaml").flows
        return {f"{cid}__{flow}" for cid in connection_ids for flow in flows}

    def state(self) -> DbState:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as db:
                query = "SELECT dag_id, is_stale, relative_fileloc FROM dag"
                rows = db.execute(sa.text(query)).tuples().all()
                query = "SELECT filename, stacktrace FROM import_error"
                import_errors = dict(db.execute(sa.text(query)).tuples().all())
        finally:
            engine.dispose()
        return DbState(
            active={dag_id for dag_id, stale, _ in rows if not stale},
            stale={dag_id for dag_id, stale, _ in rows if stale},
            files={dag_id: fileloc for dag_id, _, fileloc in rows},
            import_errors=import_errors,
        )


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``airflow db migrate`` for the module; each test starts from a copy."""
    home = tmp_path_factory.mktemp("airflow-template")
    Airflow(home=home, dags=home / "dags", connections=home).airflow("db", "migrate")
    return home / "airflow.db"


@pytest.fixture
def airflow(tmp_path: Path, migrated_db: Path) -> Airflow:
    """Three merchants with their DAG files synced, and a fresh copy of the migrated DB."""
    instance = Airflow(home=tmp_path / "home", dags=tmp_path / "dags", connections=tmp_path / "c")
    instance.home.mkdir()
    shutil.copy(migrated_db, instance.home / "airflow.db")
    instance.dags.mkdir()
    shutil.copy(INDEX_DAG_FILE, instance.dags)
    instance.connections.mkdir()
    shutil.copy(CONNECTIONS_TEMPLATE, instance.connections)
    for connection_id in MERCHANTS:
        (instance.connections / f"{connection_id}.yaml").write_text(_merchant(connection_id))
    instance.sync()
    return instance


def test_a_broken_file_stales_only_its_own_dags_until_it_is_fixed(airflow: Airflow) -> None:
    assert len(airflow.dag_ids(*MERCHANTS)) == len(MERCHANTS) * 7  # seven flows each
    before = airflow.process()
    assert before.active == airflow.dag_ids(*MERCHANTS)
    assert before.stale == set()
    assert before.import_errors == {}
    assert before.files["shop_b__orders"] == "connections/shop_b.py"

    good = (airflow.connections / "shop_b.yaml").read_text()
    (airflow.connections / "shop_b.yaml").write_text(good + TYPO)
    broken = airflow.process()
    assert broken.stale == airflow.dag_ids("shop_b")
    assert broken.active == airflow.dag_ids("shop_a", "shop_c")
    assert set(broken.import_errors) == {"connections/shop_b.py"}
    message = broken.import_errors["connections/shop_b.py"]
    assert "shop_b.yaml" in message
    assert "flows.orders.schedul: unknown key 'schedul'" in message

    (airflow.connections / "shop_b.yaml").write_text(good)
    fixed = airflow.process()
    assert fixed.active == airflow.dag_ids(*MERCHANTS)
    assert fixed.stale == set()
    assert fixed.import_errors == {}


def test_a_new_broken_file_gets_its_dag_file_from_the_index_and_stales_nothing(
    airflow: Airflow,
) -> None:
    """Dropped in without running ``koppel dags``: the index writes its DAG file at parse."""
    (airflow.connections / "shop_new.yaml").write_text(_merchant("shop_new") + TYPO)

    first = airflow.process()
    assert (airflow.dags / "connections" / "shop_new.py").is_file()
    assert first.active == airflow.dag_ids(*MERCHANTS)
    # This pass listed the folder before the index wrote the file: the next one parses it.
    assert set(first.import_errors) <= {"connections/shop_new.py"}

    second = airflow.process()
    assert second.active == airflow.dag_ids(*MERCHANTS)
    assert second.stale == set()
    assert set(second.import_errors) == {"connections/shop_new.py"}
    assert "shop_new.yaml: flows.orders.schedul" in second.import_errors["connections/shop_new.py"]
