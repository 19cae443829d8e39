"""P3: a catalogue of N products, IT's Perfect over SFTP → the PostgreSQL store → Monta over SFTP.

Koppel: the ``products`` flow of an acme merchant built on the shipped
``_itsperfect_monta`` template (a streamed catalogue, batch files of 5,000),
run through its real operators (``koppel.sandbox.flow_runner``: receive →
process → acknowledge) in a child process of its own, timed from the first
task to the last (the child's Python and Airflow imports are not counted; its
peak RSS, the child's own high-water mark (``VmHWM``), is the whole
process's, imports included). Then the run is checked: every product in the
store and at Monta exactly once, the file archived.

Floor, in a child process too: the same file (from local disk) through lxml
``iterparse`` + ``clear``, its records' fields as rows ``COPY``'d into an
unlogged stage table in chunks, then ``INSERT … SELECT … ON CONFLICT DO
UPDATE`` into a products table: the irreducible database work of the goal.

The SFTP server runs in a process of its own (it must not share the flow's
GIL). ``python -m bench.p3_catalogue [N]``: N products (default 100,000;
``BENCH_FULL=1``: 1,000,000); the catalogue is written to disk block by
block, never held in memory.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

from bench.common import BenchResult, emit, full_size, peak_rss_mb
from koppel import INCLUDE_DIR
from koppel.sandbox.postgres import PostgresServer
from koppel.store import Direction, MessageStatus, MessageStore, create_store_engine, migrate

GOAL = 1.5
RSS_GOAL_MB = 200
MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
vars:
  sftp_conn_id: p3_sftp
flows:
  products:
    source:
      stable_seconds: 0
"""
INBOUND = ("acme", "itsperfect", "products")
TARGET = ("acme", "monta", "products")
FILE_NAME = "articles.xml"
NS = "{urn:koppel:itsperfect:product:1}"
#: Rows per COPY in the floor, as Koppel stages them.
FLOOR_CHUNK = 20_000


# -- the SFTP server, in a process of its own -------------------------------------------------


def _serve_sftp(root: str, pipe: Pipe) -> None:
    from koppel.sandbox.sftp_server import SFTPServer

    with SFTPServer(Path(root), conn_id="p3_sftp") as server:
        pipe.send(server.airflow_connection_uri())
        pipe.recv()


@contextmanager
def sftp_server(root: Path) -> Iterator[str]:
    """An SFTP server on ``root`` in a child process; yields its Airflow connection URI."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve_sftp, args=(str(root), theirs), daemon=True)
    process.start()
    try:
        yield str(ours.recv())
    finally:
        ours.send("stop")
        process.join(timeout=10)


# -- the children: one Koppel run, one floor run ----------------------------------------------


def own_peak_rss_mb() -> float:
    """This process's own peak RSS in MiB: the high-water mark of its memory since ``exec``.

    ``getrusage``'s ``ru_maxrss`` of a child started by a process of a few
    hundred MB starts at the parent's size (Linux carries the pre-``exec``
    mark over), which would hide the child's own figure; ``VmHWM`` belongs
    to the child's own address space. Falls back to ``getrusage`` elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def koppel_child(connection_file: str, run_id: str) -> dict[str, Any]:
    """In the child: run the flow once, after its imports; seconds, state and peak RSS.

    Importing Airflow and building the DAG (seconds, the same for any file)
    happen before the clock starts: what is timed is the three tasks' work.
    """
    import airflow.sdk.execution_time.task_runner  # noqa: F401  # imported by the first task

    from koppel.config import load_connection
    from koppel.dag_factory import build_flow_dag
    from koppel.sandbox.flow_runner import run_flow

    connection = load_connection(Path(connection_file))
    build_flow_dag(connection, connection.flows["products"])
    start = time.perf_counter()
    state, xcoms = run_flow(Path(connection_file), "products", run_id)
    return {
        "seconds": time.perf_counter() - start,
        "state": state,
        "xcoms": xcoms,
        "peak_rss_mb": own_peak_rss_mb(),
    }


def floor_child(path: str, dsn: str) -> dict[str, Any]:
    """In the child: iterparse + clear, COPY into a stage in chunks, one upsert; seconds, RSS."""
    import psycopg
    from lxml import etree

    fields = ("SKU", "EAN", "ArticleName", "Colour", "Size", "Composition", "NetWeight", "Status")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE UNLOGGED TABLE floor_stage (sku text, ean text, name text, colour text, "
            "size text, composition text, weight numeric, status text)"
        )
        conn.execute(
            "CREATE TABLE floor_products (sku text PRIMARY KEY, ean text, name text, "
            "colour text, size text, composition text, weight numeric, status text)"
        )
    start = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
        rows: list[tuple[str | None, ...]] = []

        def flush() -> None:
            with cursor.copy(
                "COPY floor_stage (sku, ean, name, colour, size, composition, weight, status) "
                "FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            rows.clear()

        for _, element in etree.iterparse(
            path, events=("end",), tag=f"{NS}Article", resolve_entities=False, no_network=True
        ):
            rows.append(tuple(element.findtext(f"{NS}{name}") for name in fields))
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
            if len(rows) == FLOOR_CHUNK:
                flush()
        flush()
        cursor.execute(
            "INSERT INTO floor_products SELECT * FROM floor_stage "
            "ON CONFLICT (sku) DO UPDATE SET ean = excluded.ean, name = excluded.name, "
            "colour = excluded.colour, size = excluded.size, "
            "composition = excluded.composition, weight = excluded.weight, "
            "status = excluded.status"
        )
        conn.commit()
        count = cursor.execute("SELECT count(*) FROM floor_products").fetchone()
    return {
        "seconds": time.perf_counter() - start,
        "products": count[0] if count else 0,
        "peak_rss_mb": own_peak_rss_mb(),
    }


def _child(*args: str) -> dict[str, Any]:
    """Run this module in a child process with ``args``; its JSON answer."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.p3_catalogue", *args],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"child {args[0]} failed:\n{result.stderr[-3000:]}")
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


# -- the bench ---------------------------------------------------------------------------------


class Bench:
    """The servers, the merchant and the catalogue file shared by every measurement."""

    def __init__(self, work: Path, pg: PostgresServer, sftp_uri: str, products: int) -> None:
        from koppel.sandbox.samples_catalogue import write_catalogue

        self.work = work
        self.pg = pg
        self.products = products
        self.root = work / "sftp"
        self.connections = work / "connections"
        self.connections.mkdir()
        shutil.copy(INCLUDE_DIR / "connections" / "_itsperfect_monta.yaml", self.connections)
        (self.connections / "itsperfect_acme.yaml").write_text(MERCHANT)
        os.environ.update(
            {
                "AIRFLOW_HOME": str(work / "airflow"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
                "KOPPEL_CONNECTIONS_DIR": str(self.connections),
                "AIRFLOW_CONN_P3_SFTP": sftp_uri,
            }
        )
        self.catalogue = work / FILE_NAME
        with self.catalogue.open("wb") as out:
            self.file_bytes = write_catalogue(out, products)
        self.databases = 0

    def fresh_database(self) -> str:
        """A new, migrated database; ``AIRFLOW_CONN_KOPPEL_STORE`` points at it."""
        self.databases += 1
        name = f"p3_{self.databases}"
        self.pg.create_database(name)
        engine = create_store_engine(self.pg.sqlalchemy_url(name))
        migrate(engine)
        engine.dispose()
        os.environ["AIRFLOW_CONN_KOPPEL_STORE"] = self.pg.airflow_connection_uri(name)
        return name

    def koppel(self) -> dict[str, Any]:
        shutil.rmtree(self.root / "acme", ignore_errors=True)
        inbound = self.root.joinpath(*INBOUND)
        inbound.mkdir(parents=True)
        shutil.copy(self.catalogue, inbound / FILE_NAME)
        name = self.fresh_database()
        connection_file = str(self.connections / "itsperfect_acme.yaml")
        answer = _child("--koppel", connection_file, f"p3_{self.databases}")
        if answer["state"] != "success":
            raise RuntimeError(f"the run ended {answer['state']}: {answer['xcoms']}")
        answer["output_files"] = self._check(name)
        return answer

    def _check(self, database: str) -> int:
        """Every product once in the store and at Monta, the file archived; the files sent."""
        from lxml import etree

        store = MessageStore(create_store_engine(self.pg.sqlalchemy_url(database)))
        try:
            (message,) = store.list_messages(direction=Direction.IN)
            if message.status is not MessageStatus.DELIVERED:
                raise RuntimeError(f"message {message.id} is {message.status}")
            if not (message.disposition or "").startswith("archive:"):
                raise RuntimeError(f"file not archived: {message.disposition}")
            with store.engine.connect() as conn:
                stored = conn.exec_driver_sql("SELECT count(*) FROM catalogue_products").scalar()
        finally:
            store.engine.dispose()
        if stored != self.products:
            raise RuntimeError(f"{stored} products stored, expected {self.products}")
        files = [p for p in self.root.joinpath(*TARGET).iterdir() if p.is_file()]
        skus: set[str] = set()
        sent = 0
        for path in files:
            for _, element in etree.iterparse(str(path), tag="{*}Sku"):
                skus.add(element.text or "")
                sent += 1
                element.clear()
        if sent != self.products or len(skus) != self.products:
            raise RuntimeError(f"Monta got {sent} products ({len(skus)} SKUs)")
        return len(files)

    def floor(self) -> dict[str, Any]:
        name = self.fresh_database()
        answer = _child("--floor", str(self.catalogue), self.pg.dsn(name))
        if answer["products"] != self.products:
            raise RuntimeError(f"floor stored {answer['products']} products")
        return answer


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--koppel":
        print(json.dumps(koppel_child(argv[1], argv[2]), default=str), flush=True)
        return 0
    if argv and argv[0] == "--floor":
        print(json.dumps(floor_child(argv[1], argv[2])), flush=True)
        return 0
    products = int(argv[0]) if argv else (1_000_000 if full_size() else 100_000)
    repeats = 1 if products > 200_000 else 3
    koppel: list[dict[str, Any]] = []
    floor: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="koppel-p3-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        pg = stack.enter_context(PostgresServer())
        uri = stack.enter_context(sftp_server(work / "sftp"))
        bench = Bench(work, pg, uri, products)
        for _ in range(repeats):
            floor.append(bench.floor())
            koppel.append(bench.koppel())
            print(
                f"  {products:,} products: koppel {koppel[-1]['seconds']:.2f} s "
                f"({koppel[-1]['peak_rss_mb']:.0f} MB), floor {floor[-1]['seconds']:.2f} s "
                f"({floor[-1]['peak_rss_mb']:.0f} MB)",
                flush=True,
            )
        file_mb = bench.file_bytes / 1024**2
    emit(
        BenchResult(
            name="P3 catalogue",
            koppel=statistics.median(k["seconds"] for k in koppel),
            floor=statistics.median(f["seconds"] for f in floor),
            unit="s",
            goal=GOAL,
            size=f"{products:,} products",
            extra={
                "peak_rss_mb": round(max(k["peak_rss_mb"] for k in koppel), 1),
                "peak_rss_goal_mb": RSS_GOAL_MB,
                "floor_peak_rss_mb": round(max(f["peak_rss_mb"] for f in floor), 1),
                "file_mb": round(file_mb, 1),
                "output_files": koppel[-1]["output_files"],
            },
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
