"""P2: a file flow end to end, IT's Perfect orders over SFTP → PostgreSQL store → Monta over SFTP.

Koppel: the ``orders`` flow of an acme merchant built on the shipped
``_itsperfect_monta`` template with its default settings (batch size,
stable-size check, claims), run through its real operators
(``koppel.sandbox.flow_runner``: receive → process → acknowledge) until the
inbound folder is empty; every order must arrive at Monta once and every
inbound file must be in the archive, and the store must say so.

Floor: the same bytes moved with bare libraries — asyncssh, one connection,
16 concurrent gets of the inbound files, psycopg ``COPY`` of the payloads into
a table, 16 concurrent puts of same-size files.

Both talk to OpenSSH's sftp-server (``sshd`` from Debian's openssh-server on
127.0.0.1, :class:`koppel.sandbox.openssh.OpenSSHServer`; a process per
session, as partners' servers are) and to one PostgreSQL on 127.0.0.1. The
merchant's folders are the template's, placed under the server's root (the
sandbox ``sshd`` has no chroot). The inbound files are
dated a minute back: they arrived since the last scheduled run, as in
production, so the read-lock (stable size) has nothing to wait for; a file
younger than ``stable_seconds`` would cost one wait per run.

``python -m bench.p2_flow [N ...]`` runs the given sizes (default 1,000;
``BENCH_FULL=1``: 1,000 and 10,000) with Koppel and the floor back to back per
size, and reports per-file times, the linearity from 1k to 10k and how many
runs the largest batch needed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.common import BenchResult, emit, full_size
from koppel import INCLUDE_DIR
from koppel.sandbox import samples
from koppel.sandbox.openssh import OpenSSHServer
from koppel.sandbox.postgres import PostgresServer
from koppel.store import Direction, MessageStatus, MessageStore, create_store_engine, migrate

GOAL = 3.0
CONCURRENCY = 16
#: A run that needs more than this many runs for one batch is a failure of the bench.
MAX_RUNS = 100
MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
vars:
  sftp_conn_id: p2_sftp
flows:
  orders:
    source: {{folder: "{root}/acme/itsperfect/orders"}}
    target: {{folder: "{root}/acme/monta/orders"}}
    reply: {{folder: "{root}/acme/itsperfect/order_updates"}}
"""
INBOUND = ("acme", "itsperfect", "orders")
TARGET = ("acme", "monta", "orders")


# -- Koppel -------------------------------------------------------------------------------------


class Bench:
    """The servers and the merchant shared by every measurement."""

    def __init__(self, work: Path, pg: PostgresServer, sftp: OpenSSHServer) -> None:
        self.work = work
        self.pg = pg
        self.sftp = sftp
        self.root = sftp.root
        self.connections = work / "connections"
        self.connections.mkdir()
        shutil.copy(INCLUDE_DIR / "connections" / "_itsperfect_monta.yaml", self.connections)
        merchant = MERCHANT.format(root=sftp.remote_path())
        (self.connections / "itsperfect_acme.yaml").write_text(merchant)
        os.environ.update(
            {
                "AIRFLOW_HOME": str(work / "airflow"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
                "KOPPEL_CONNECTIONS_DIR": str(self.connections),
                "AIRFLOW_CONN_P2_SFTP": sftp.airflow_connection_uri(),
            }
        )
        self.databases = 0

    def files(self, n: int) -> None:
        """N order files in the inbound folder, arrived a minute ago; nothing anywhere else."""
        shutil.rmtree(self.root / "acme", ignore_errors=True)
        inbound = self.root.joinpath(*INBOUND)
        inbound.mkdir(parents=True)
        arrived = time.time() - 60
        for i in range(n):
            path = inbound / f"order_{i:05d}.xml"
            path.write_bytes(samples.good_order(str(100000 + i)))
            os.utime(path, (arrived, arrived))

    def fresh_store(self) -> MessageStore:
        """A new, migrated database for one measurement, named by ``AIRFLOW_CONN_KOPPEL_STORE``."""
        self.databases += 1
        name = f"p2_{self.databases}"
        self.pg.create_database(name)
        store = MessageStore(create_store_engine(self.pg.sqlalchemy_url(name)))
        migrate(store.engine)
        os.environ["AIRFLOW_CONN_KOPPEL_STORE"] = self.pg.airflow_connection_uri(name)
        return store

    def warm_up(self) -> None:
        """One run over an empty folder: imports (Airflow, the hooks) are not what is measured."""
        from koppel.sandbox.flow_runner import run_flow

        self.files(0)
        self.fresh_store().engine.dispose()
        state, xcoms = run_flow(self.connections / "itsperfect_acme.yaml", "orders", "p2_warm_up")
        if state != "success":
            raise RuntimeError(f"the warm-up run ended {state}: {xcoms}")

    def koppel(self, n: int) -> tuple[float, int]:
        """Seconds for runs of the flow until the inbound folder is empty, and how many runs."""
        from koppel.sandbox.flow_runner import run_flow

        self.files(n)
        store = self.fresh_store()
        inbound = self.root.joinpath(*INBOUND)
        runs = 0
        start = time.perf_counter()
        while any(p.is_file() for p in inbound.iterdir()):
            runs += 1
            if runs > MAX_RUNS:
                raise RuntimeError(f"{n} files not done after {MAX_RUNS} runs")
            state, xcoms = run_flow(
                self.connections / "itsperfect_acme.yaml", "orders", f"p2_{n}_{runs}"
            )
            if state != "success":
                raise RuntimeError(f"run {runs} ended {state}: {xcoms}")
        seconds = time.perf_counter() - start
        self._check(store, n)
        store.engine.dispose()
        return seconds, runs

    def _check(self, store: MessageStore, n: int) -> None:
        """Every order at Monta once, every inbound file archived, and the store agrees."""
        expected = {f"acme_order_{100000 + i}.xml" for i in range(n)}
        delivered = {p.name for p in self.root.joinpath(*TARGET).iterdir() if p.is_file()}
        if delivered != expected:
            raise RuntimeError(f"delivered {len(delivered)} files, expected {n}")
        archived = [p for p in self.root.joinpath(*INBOUND, "archive").iterdir() if p.is_file()]
        if len(archived) != n:
            raise RuntimeError(f"{len(archived)} files archived, expected {n}")
        inbound = store.list_messages(
            connection_id="itsperfect_acme", flow="orders", direction=Direction.IN, limit=n + 1
        )
        done = [
            m
            for m in inbound
            if m.status is MessageStatus.DELIVERED and (m.disposition or "").startswith("archive:")
        ]
        outbound = store.count_messages(
            connection_id="itsperfect_acme",
            flow="orders",
            direction=Direction.OUT,
            status=MessageStatus.DELIVERED,
        )
        if len(inbound) != n or len(done) != n or outbound != n:
            raise RuntimeError(f"store: {len(inbound)} in, {len(done)} archived, {outbound} out")

    # -- the floor --------------------------------------------------------------------------------

    def floor(self, n: int) -> float:
        """Seconds for asyncssh gets, a COPY of the payloads and puts of same-size files."""
        import psycopg

        self.files(n)
        self.fresh_store()
        dsn = self.pg.dsn(f"p2_{self.databases}")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE floor_payloads (name text, payload bytea)")
        start = time.perf_counter()
        asyncio.run(self._floor(n, dsn))
        return time.perf_counter() - start

    async def _floor(self, n: int, dsn: str) -> None:
        import asyncssh
        import psycopg

        server = self.sftp
        async with (
            asyncssh.connect(
                server.host,
                server.port,
                username=server.username,
                client_keys=[asyncssh.import_private_key(server.client_private_key)],
                known_hosts=None,
            ) as ssh,
            ssh.start_sftp_client() as sftp,
        ):
            inbound = server.remote_path("/".join(INBOUND))
            names = sorted(
                name for name in await sftp.listdir(inbound) if name.startswith("order_")
            )
            gate = asyncio.Semaphore(CONCURRENCY)

            async def get(name: str) -> tuple[str, bytes]:
                async with gate, sftp.open(f"{inbound}/{name}", "rb") as handle:
                    return name, await handle.read()

            payloads = await asyncio.gather(*(get(name) for name in names))
            if len(payloads) != n:
                raise RuntimeError(f"floor read {len(payloads)} files, expected {n}")
            copy_in = "COPY floor_payloads (name, payload) FROM STDIN"
            with (
                psycopg.connect(dsn) as conn,
                conn.cursor() as cursor,
                cursor.copy(copy_in) as copy,
            ):
                for name, data in payloads:
                    copy.write_row((name, data))
            target = server.remote_path("/".join(TARGET))
            await sftp.makedirs(target, exist_ok=True)

            async def put(name: str, data: bytes) -> None:
                async with gate, sftp.open(f"{target}/{name}", "wb") as handle:
                    await handle.write(data)

            await asyncio.gather(*(put(name, data) for name, data in payloads))


def measure(bench: Bench, n: int, repeats: int) -> dict[str, Any]:
    """Koppel and the floor back to back, ``repeats`` times; medians."""
    koppel, floor, runs = [], [], 0
    for _ in range(repeats):
        floor.append(bench.floor(n))
        seconds, runs = bench.koppel(n)
        koppel.append(seconds)
        print(
            f"  {n} files: koppel {seconds:.2f} s in {runs} run(s), floor {floor[-1]:.2f} s",
            flush=True,
        )
    return {"koppel": statistics.median(koppel), "floor": statistics.median(floor), "runs": runs}


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or ([1000, 10000] if full_size() else [1000])
    with tempfile.TemporaryDirectory(prefix="koppel-p2-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        pg = stack.enter_context(PostgresServer())
        sftp = stack.enter_context(OpenSSHServer(work / "sftp", conn_id="p2_sftp"))
        bench = Bench(work, pg, sftp)
        bench.warm_up()
        results = {n: measure(bench, n, 1 if n > 2000 else 3) for n in sizes}
    largest = max(sizes)
    extra: dict[str, object] = {}
    for n, row in results.items():
        label = f"{n // 1000}k" if n % 1000 == 0 else str(n)
        extra[f"per_file_ms_{label}"] = round(row["koppel"] / n * 1000, 3)
        extra[f"floor_per_file_ms_{label}"] = round(row["floor"] / n * 1000, 3)
        extra[f"runs_for_{label}"] = row["runs"]
    if 1000 in results and 10000 in results:
        per_1k = results[1000]["koppel"] / 1000
        per_10k = results[10000]["koppel"] / 10000
        extra["linearity"] = round(per_10k / per_1k, 3)
    emit(
        BenchResult(
            name="P2 flow",
            koppel=results[largest]["koppel"],
            floor=results[largest]["floor"],
            unit="s",
            goal=GOAL,
            size=f"{largest:,} files",
            extra=extra,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
