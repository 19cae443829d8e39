"""What parsing a DAG file costs stays small, and the cheap params still guard manual runs.

The dag-processor forks a child per DAG file; what a DAG file imports, each
child may import again. These check what a generated DAG file pulls in (in a
fresh interpreter, so nothing the test session imported hides it), and that
the params, whose schemas declare a cheaper JSON Schema dialect to check, still
refuse a bad value the way Airflow checks a triggered run's conf.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization

from koppel.dag_factory import PARAM_SCHEMA_DIALECT, connection_dags
from koppel.operators.base import STORE_CONN_ID

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "include" / "connections"
#: Needed only when a task runs, never to build its DAG.
RUN_TIME_ONLY = (
    "alembic",
    "zeep",
    "paramiko",
    "asyncssh",
    "koppel.store",
    "koppel.pipeline",
    "koppel.hooks",
    "koppel.formats",
    "koppel.mapping",
    "koppel.sandbox",
)
_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("probe_dag_file", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dags = sorted(name for name in vars(module) if "__" in name and not name.startswith("_"))
print(json.dumps({"dags": dags, "modules": sorted(sys.modules)}))
"""


def test_a_dag_file_imports_nothing_a_task_needs_only_when_it_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
    env["KOPPEL_CONNECTIONS_DIR"] = str(EXAMPLES)
    dag_file = PROJECT_ROOT / "dags" / "connections" / "itsperfect_acme.py"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(dag_file)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert "itsperfect_acme__orders" in found["dags"]
    loaded = [
        name
        for name in found["modules"]
        if any(name == heavy or name.startswith(f"{heavy}.") for heavy in RUN_TIME_ONLY)
    ]
    assert loaded == []


def test_operators_use_the_store_hooks_connection_id() -> None:
    from koppel.hooks.store import KoppelStoreHook

    assert KoppelStoreHook.default_conn_name == STORE_CONN_ID


def _serialized(dag_id: str) -> Any:
    """The DAG as the scheduler and API server see it: serialized and read back."""
    connection_id = dag_id.partition("__")[0]
    dag = connection_dags(connection_id, directory=EXAMPLES)[dag_id]
    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


@pytest.mark.parametrize(
    ("dag_id", "conf"),
    [
        ("itsperfect_acme__orders", {"max_files": 0}),
        ("itsperfect_acme__orders", {"max_files": "ten"}),
        ("itsperfect_acme__orders", {"only_files": "order_1.xml"}),
        ("itsperfect_acme__orders", {"only_files": [1]}),
        ("ipsoft_noordzee__orders", {"references": "LNB-100045"}),
    ],
)
def test_a_manual_run_with_a_bad_param_is_refused(dag_id: str, conf: dict[str, object]) -> None:
    """What ``create_dagrun`` does with a trigger's conf: merge it into the params, validate."""
    dag = _serialized(dag_id)
    with pytest.raises(ParamValidationError, match=next(iter(conf))):
        dag.params.deep_merge(conf).validate()


@pytest.mark.parametrize(
    ("dag_id", "conf"),
    [
        ("itsperfect_acme__orders", {"max_files": 3, "only_files": ["order_1*.xml"]}),
        ("itsperfect_acme__orders", {"only_files": None}),
        ("ipsoft_noordzee__orders", {"references": ["LNB-100045"]}),
        ("ipsoft_noordzee__orders", {}),
    ],
)
def test_a_manual_run_with_good_params_is_accepted(dag_id: str, conf: dict[str, object]) -> None:
    dag = _serialized(dag_id)
    resolved = dag.params.deep_merge(conf).validate()
    assert conf.items() <= resolved.items()


def test_every_param_schema_declares_the_dialect() -> None:
    for connection_id in ("itsperfect_acme", "ipsoft_noordzee"):
        for dag in connection_dags(connection_id, directory=EXAMPLES).values():
            for name in dag.params:
                schema = dag.params.get_param(name).schema
                assert schema["$schema"] == PARAM_SCHEMA_DIALECT, (dag.dag_id, name)
