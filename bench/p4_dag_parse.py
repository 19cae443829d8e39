"""P4: parsing the DAGs of N merchants as Airflow's dag-processor does, against plain airflow.sdk.

**The DAGs.** N merchant files extend ``_itsperfect_monta`` (seven flows each, so
7·N DAGs of three tasks), and ``koppel dags`` gives each its generated DAG file.
The floor is a folder of hand-written ``airflow.sdk`` files, one per merchant,
building the same DAGs: same ids, description, ``doc_md``, schedule, start
date, catchup, ``max_active_runs``, paused state, tags, owner, retries and
params (the same ``Param`` schemas, taken from Koppel's DAGs), three
``PythonOperator`` tasks chained like Koppel's, each given the connection file
and flow; every value is a literal in the file. No YAML, no validation, no
Koppel import: what the same DAGs cost Airflow alone.

**How a file is parsed (Airflow 3.3, read in ``airflow/dag_processing/processor.py``
and ``airflow/sdk/execution_time/supervisor.py``).** The dag-processor is one
long-lived parent that forks a child per DAG file (``os.fork``, no exec, on
Linux). Before each fork it imports the ``airflow.*`` modules the file names
(``parsing_pre_import_modules``); the child parses the file with a
``BundleDagBag``, serializes every DAG and sends the result back. Whatever the
parent has imported the child gets for free; anything else each child imports
again. And the parent has imported Koppel: every Airflow job loads the
listener plugins at start (``Job.__init__`` → ``get_listener_manager`` →
``plugins_manager``), which imports every module under the plugins folder, and
Koppel's package is that folder.

**What is timed.** One small server process per side is prepared as the
dag-processor's parent is (Airflow settings, the plugin scan, the processor
module, ``gc.freeze()``), then for each file: the pre-import, the fork, the child running
Airflow's own ``_parse_file`` (DagBag + serialization of every DAG + the
msgpack frame it would send) and exiting, the parent reading the frame. The
metadata DB is left out: writing the serialized DAGs is the same work for both
sides. Files are parsed one at a time, Koppel's and the floor's of the same
merchant back to back, so a busy neighbour on the machine slows both alike;
each side's figure is the median over the repeats of the sum over its files.
Koppel's side also parses the index file ``koppel_dags.py``.

- ``koppel``: the Koppel DAGs folder, plugins folder = the project's ``plugins/``
  (as ``make airflow``, the compose file and the Dockerfile deploy it).
- ``floor``: the plain folder, with an empty plugins folder (Airflow alone).
- extra ``cold_*``: Koppel's files again, but with an empty plugins folder and
  Koppel importable only from ``PYTHONPATH``, so each child imports Koppel
  itself; against the floor on the same merchants. What a deployment that does
  not use Koppel's plugins folder would pay.

Default: 100 merchants (a few minutes on 2 cores; the ratio is per file, so it
does not depend on N). ``BENCH_FULL=1``: 200 merchants, and then 1,000 merchants
(7,000 DAGs) through a real ``airflow dag-processor -n 1`` (each file parsed
once, two at a time, as configured by default) against a freshly migrated SQLite
metadata DB with Airflow's default timeouts; the extra figures are its wall
time, the DAGs of the ``dag`` table that are not stale and the import errors it
recorded, and the same pass over the floor's 1,000 files for comparison. That
pass includes what the side-by-side leaves out: the processor's own loop and
its writes of every serialized DAG to the DB, the same for both. The two passes
run one after the other, minutes apart: on a shared machine their ratio says
less than the side-by-side one. (Run at the same time, under the same load, the
two 1,000-merchant passes took 762 s and 756 s here, 0.86 and 0.85 s per file.)
"""

from __future__ import annotations

import gc
import json
import os
import pprint
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.common import REPEATS, BenchResult, emit, full_size
from koppel import INCLUDE_DIR, PROJECT_ROOT

MERCHANTS = 200 if full_size() else 100
#: Merchants parsed by the ``cold`` side (each child imports Koppel: slower).
COLD_MERCHANTS = 20
#: The full run through a real dag-processor.
FULL_MERCHANTS = 1000
FLOWS_PER_MERCHANT = 7
GOAL = 1.3
TEMPLATE = INCLUDE_DIR / "connections" / "_itsperfect_monta.yaml"
INDEX = PROJECT_ROOT / "dags" / "koppel_dags.py"
PLUGINS = PROJECT_ROOT / "plugins"
VENV_BIN = Path(sys.executable).parent
#: Marks a server's reply among whatever else Airflow prints on its stdout.
REPLY = "P4-REPLY "
#: Longest a real dag-processor pass may take before the bench gives up.
DAG_PROCESSOR_TIMEOUT = 3600


# -- the DAG folders --------------------------------------------------------------------------


def write_merchants(connections: Path, count: int) -> list[str]:
    """``count`` merchant files extending the IT's Perfect → Monta template; their ids."""
    connections.mkdir(parents=True, exist_ok=True)
    shutil.copy(TEMPLATE, connections)
    ids = []
    for n in range(count):
        connection_id = f"merchant_{n:04d}"
        (connections / f"{connection_id}.yaml").write_text(
            f"extends: _itsperfect_monta\nname: Merchant {n}\nprefix: m{n:04d}\n"
            f"channels:\n  B2C: {{origin: m{n:04d}-web}}\n"
            f"vars:\n  sftp_conn_id: sftp_m{n:04d}\n"
        )
        ids.append(connection_id)
    return ids


def write_koppel_dags(dags: Path, connections: Path) -> None:
    """The DAGs folder as Koppel deploys it: the index and one generated file per connection."""
    from koppel.dag_files import sync_dag_files

    dags.mkdir(parents=True, exist_ok=True)
    shutil.copy(INDEX, dags)
    sync_dag_files(dags / "connections", connections)


FLOOR_FILE = '''"""Plain airflow.sdk: the DAGs of one merchant, written by hand."""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param


def run_step(step, connection_file, flow_name):
    """What the task would do; never called while parsing."""


FLOWS = {flows}

for spec in FLOWS:
    with DAG(
        dag_id=spec["dag_id"],
        description=spec["description"],
        doc_md=spec["doc_md"],
        schedule=spec["schedule"],
        start_date=datetime.fromisoformat(spec["start_date"]),
        catchup=spec["catchup"],
        max_active_runs=spec["max_active_runs"],
        is_paused_upon_creation=spec["paused"],
        tags=spec["tags"],
        params={{name: Param(**param) for name, param in spec["params"].items()}},
        default_args={{
            "owner": spec["owner"],
            "retries": spec["retries"],
            "retry_delay": timedelta(seconds=spec["retry_delay"]),
        }},
    ) as dag:
        steps = [
            PythonOperator(
                task_id=step,
                python_callable=run_step,
                op_kwargs={{
                    "step": step,
                    "connection_file": spec["connection_file"],
                    "flow_name": spec["flow"],
                }},
            )
            for step in ("receive", "process", "acknowledge")
        ]
        steps[0] >> steps[1] >> steps[2]
    globals()[spec["dag_id"]] = dag
'''


def floor_spec(dag: Any) -> dict[str, Any]:
    """What a hand-written DAG file states literally to build the same DAG as Koppel's."""
    params = {}
    for name in dag.params:
        param = dag.params.get_param(name)
        params[name] = {
            "default": param.value,
            "description": param.description,
            "schema": param.schema,
        }
    first = dag.get_task("receive")
    return {
        "dag_id": dag.dag_id,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "schedule": dag.schedule,
        "start_date": dag.start_date.isoformat(),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "paused": dag.is_paused_upon_creation,
        "tags": sorted(dag.tags),
        "params": params,
        "owner": first.owner,
        "retries": first.retries,
        "retry_delay": first.retry_delay.total_seconds(),
        "connection_file": first.connection_file,
        "flow": first.flow_name,
    }


def write_floor_dags(dags: Path, connections: Path, ids: list[str]) -> None:
    """One plain file per merchant, its values taken from the DAGs Koppel builds for it."""
    from koppel.dag_factory import connection_dags

    dags.mkdir(parents=True, exist_ok=True)
    for connection_id in ids:
        built = connection_dags(connection_id, directory=connections)
        assert len(built) == FLOWS_PER_MERCHANT, built.keys()
        # Through JSON: flow names are str enums, and a literal must be a plain str.
        specs = json.loads(json.dumps([floor_spec(dag) for dag in built.values()]))
        text = FLOOR_FILE.format(flows=pprint.pformat(specs, width=100, sort_dicts=False))
        (dags / f"{connection_id}.py").write_text(text)


def check_same_dags(koppel_file: Path, floor_file: Path) -> None:
    """Both files give the same DAGs, equal as serialized but for their tasks and file names."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    ignored = {"tasks", "fileloc", "relative_fileloc"}
    bags = [DagBag(str(path)) for path in (koppel_file, floor_file)]
    koppel, floor = ({i: b.dags[i] for i in sorted(b.dags)} for b in bags)
    assert koppel.keys() == floor.keys(), (koppel.keys(), floor.keys())
    for dag_id, dag in koppel.items():
        mine, plain = (
            {k: v for k, v in DagSerialization.to_dict(d)["dag"].items() if k not in ignored}
            for d in (dag, floor[dag_id])
        )
        assert mine == plain, dag_id
        assert _edges(dag) == _edges(floor[dag_id]), dag_id


def _edges(dag: Any) -> dict[str, list[str]]:
    """Each task of a DAG with the tasks right after it."""
    return {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks}


# -- a parser: a process prepared as the dag-processor's parent, forking a child per file -----


def serve() -> None:
    """Answer one parse request per stdin line (a DAG file path) with one reply line.

    Runs in its own interpreter with the side's Airflow environment; see the
    module docstring for what it mirrors.
    """
    import msgspec
    import structlog
    from airflow.dag_processing import processor
    from airflow.listeners.listener import get_listener_manager
    from airflow.sdk.execution_time.comms import _RequestFrame

    started = time.perf_counter()
    get_listener_manager()  # what every Airflow job does at start: the plugin scan
    log = structlog.get_logger()
    bundle = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    gc.freeze()  # as the manager does before its loop, so children do not copy what GC touches
    _reply({"ready": True, "seconds": time.perf_counter() - started})
    for line in sys.stdin:
        path = line.strip()
        started = time.perf_counter()
        processor._pre_import_airflow_modules(path, log)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "client"
            request = processor.DagFileParseRequest(
                file=path, bundle_path=bundle, bundle_name="dags-folder"
            )
            result = processor._parse_file(request, log)
            frame = _RequestFrame(id=0, body=result.model_dump() if result else None)
            with os.fdopen(write, "wb") as pipe:
                pipe.write(frame.as_bytes())
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        seconds = time.perf_counter() - started
        body = msgspec.msgpack.decode(data[4:])[1] if data else None
        if status or not body:
            _reply({"error": f"{path}: child exit status {status}, {len(data)} bytes"})
            continue
        errors = body.get("import_errors") or {}
        dags = len(body.get("serialized_dags") or [])
        _reply({"seconds": seconds, "dags": dags, "errors": list(errors.values())})


def _reply(message: dict[str, object]) -> None:
    print(REPLY + json.dumps(message), flush=True)


@dataclass
class Parser:
    """A :func:`serve` process seen from the bench."""

    name: str
    process: subprocess.Popen[str]
    stdin: IO[str]
    stdout: IO[str]
    log: Path
    setup_seconds: float = 0.0

    def _read(self) -> dict[str, Any]:
        for line in self.stdout:
            if line.startswith(REPLY):
                reply: dict[str, Any] = json.loads(line[len(REPLY) :])
                return reply
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"parser {self.name} exited; its log ends:\n{tail}")

    def parse(self, path: Path) -> tuple[float, int]:
        """Seconds and DAG count of one file; a file that fails to import stops the bench."""
        self.stdin.write(f"{path}\n")
        self.stdin.flush()
        reply = self._read()
        if "error" in reply or reply["errors"]:
            raise RuntimeError(f"{self.name}: {path}: {reply.get('error') or reply['errors']}")
        return float(reply["seconds"]), int(reply["dags"])


def airflow_env(home: Path, dags: Path, plugins: Path, connections: Path) -> dict[str, str]:
    """An Airflow environment of its own: nothing inherited from the caller's Airflow settings."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KOPPEL_"))}
    home.mkdir(parents=True, exist_ok=True)
    return {
        **inherited,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "KOPPEL_CONNECTIONS_DIR": str(connections),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@contextmanager
def parser(name: str, env: dict[str, str], log: Path) -> Iterator[Parser]:
    """Start a :func:`serve` process and wait until it is prepared."""
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.p4_dag_parse", "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            served = Parser(name, process, process.stdin, process.stdout, log)
            served.setup_seconds = float(served._read()["seconds"])
            yield served
        finally:
            process.stdin.close()
            process.wait(timeout=60)


def side_by_side(
    first: Parser, second: Parser, pairs: list[tuple[Path | None, Path | None]], repeats: int
) -> tuple[float, float, int, int]:
    """Median over ``repeats`` of each side's total seconds, each pair parsed back to back."""
    totals: tuple[list[float], list[float]] = ([], [])
    dags = [0, 0]
    for _ in range(repeats):
        sums = [0.0, 0.0]
        dags = [0, 0]
        for pair in pairs:
            for side, (server, path) in enumerate(zip((first, second), pair, strict=True)):
                if path is not None:
                    seconds, count = server.parse(path)
                    sums[side] += seconds
                    dags[side] += count
        totals[0].append(sums[0])
        totals[1].append(sums[1])
    return statistics.median(totals[0]), statistics.median(totals[1]), dags[0], dags[1]


# -- the real dag-processor ---------------------------------------------------------------------


def dag_processor_pass(
    root: Path, dags: Path, plugins: Path, connections: Path
) -> dict[str, float]:
    """``airflow dag-processor -n 1`` over a DAGs folder, a new SQLite DB; then the DB's view."""
    import sqlite3

    env = airflow_env(root / "home", dags, plugins, connections)
    airflow = str(VENV_BIN / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    with (root / "dag-processor.log").open("w") as log:
        subprocess.run(
            [airflow, "dag-processor", "-n", "1"],
            env=env,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=DAG_PROCESSOR_TIMEOUT,
        )
    seconds = time.perf_counter() - started
    with sqlite3.connect(root / "home" / "airflow.db") as db:
        active = db.execute("SELECT count(*) FROM dag WHERE NOT is_stale").fetchone()[0]
        errors = db.execute("SELECT count(*) FROM import_error").fetchone()[0]
    return {"seconds": round(seconds, 1), "active": active, "import_errors": errors}


def full_run(root: Path) -> dict[str, object]:
    """1,000 merchants through the real dag-processor: Koppel's DAGs folder, then the floor's."""
    connections = root / "connections"
    ids = write_merchants(connections, FULL_MERCHANTS)
    write_koppel_dags(root / "koppel", connections)
    write_floor_dags(root / "floor", connections, ids)
    (root / "no-plugins").mkdir()
    koppel = dag_processor_pass(root / "run-koppel", root / "koppel", PLUGINS, connections)
    floor = dag_processor_pass(root / "run-floor", root / "floor", root / "no-plugins", connections)
    n = FULL_MERCHANTS
    return {
        f"merchants_{n}_seconds": koppel["seconds"],
        f"merchants_{n}_dags_active": koppel["active"],
        f"merchants_{n}_dags_expected": n * FLOWS_PER_MERCHANT,
        f"merchants_{n}_import_errors": koppel["import_errors"],
        f"merchants_{n}_floor_seconds": floor["seconds"],
        f"merchants_{n}_floor_dags_active": floor["active"],
    }


# -- the bench ----------------------------------------------------------------------------------


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="koppel-p4-"))
    try:
        connections = root / "connections"
        ids = write_merchants(connections, MERCHANTS)
        koppel_dags, floor_dags, empty = root / "koppel", root / "floor", root / "no-plugins"
        # This process builds Koppel's DAGs once to write the floor's files: its own Airflow home.
        os.environ.update(airflow_env(root / "home-bench", koppel_dags, empty, connections))
        write_koppel_dags(koppel_dags, connections)
        write_floor_dags(floor_dags, connections, ids)
        empty.mkdir()
        index = koppel_dags / INDEX.name
        koppel_files = [koppel_dags / "connections" / f"{cid}.py" for cid in ids]
        floor_files = [floor_dags / f"{cid}.py" for cid in ids]
        check_same_dags(koppel_files[0], floor_files[0])
        cold_env = airflow_env(root / "home-cold", koppel_dags, empty, connections)
        cold_env["PYTHONPATH"] = str(PLUGINS)
        with (
            parser(
                "koppel",
                airflow_env(root / "home-koppel", koppel_dags, PLUGINS, connections),
                root / "koppel.log",
            ) as koppel,
            parser(
                "floor",
                airflow_env(root / "home-floor", floor_dags, empty, connections),
                root / "floor.log",
            ) as floor,
            parser("cold", cold_env, root / "cold.log") as cold,
        ):
            pairs: list[tuple[Path | None, Path | None]] = [(index, None)]
            pairs += list(zip(koppel_files, floor_files, strict=True))
            koppel_s, floor_s, koppel_n, floor_n = side_by_side(koppel, floor, pairs, REPEATS)
            sample = pairs[1 : COLD_MERCHANTS + 1]
            cold_s, cold_floor_s, _, _ = side_by_side(cold, floor, sample, 1)
        expected = MERCHANTS * FLOWS_PER_MERCHANT
        assert koppel_n == floor_n == expected, (koppel_n, floor_n, expected)
        extra: dict[str, object] = {
            "dags": expected,
            "koppel_ms_per_file": round(koppel_s * 1e3 / MERCHANTS, 1),
            "floor_ms_per_file": round(floor_s * 1e3 / MERCHANTS, 1),
            "koppel_parent_setup_seconds": round(koppel.setup_seconds, 2),
            "floor_parent_setup_seconds": round(floor.setup_seconds, 2),
            "cold_merchants": COLD_MERCHANTS,
            "cold_ms_per_file": round(cold_s * 1e3 / COLD_MERCHANTS, 1),
            "cold_floor_ms_per_file": round(cold_floor_s * 1e3 / COLD_MERCHANTS, 1),
            "cold_ratio": round(cold_s / cold_floor_s, 2),
        }
        if full_size():
            extra.update(full_run(root / "full"))
        emit(
            BenchResult(
                name="P4 DAG parse",
                koppel=koppel_s,
                floor=floor_s,
                unit="s",
                goal=GOAL,
                size=f"{MERCHANTS} merchants, {expected} DAGs, one forked parse per file",
                extra=extra,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
