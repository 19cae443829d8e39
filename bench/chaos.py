"""``make chaos``: kill flow runs at random steps; check nothing was lost, doubled or unalerted.

1,000 order files (a few of them bad) go from IT's Perfect to Monta over SFTP
in batches of 40, and 200 portal orders, arriving a few before each run, from
Le New Black to IPSoft, while runs are killed with
SIGKILL at random failpoints (``koppel.faults``) and random points of the
batch. A killed run is retried under the same run id, as Airflow retries a
task; a run that finishes is followed by the next one. Once enough runs were
killed, runs go on unarmed until nothing is left to do. A partner collects the
delivered files after every run, so a file sent again after collection counts
twice. Everything runs against the project's own stand-ins and PostgreSQL on
127.0.0.1; the report goes to ``bench/chaos.json``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from koppel import INCLUDE_DIR
from koppel.faults import ENV_VAR
from koppel.sandbox import samples
from koppel.sandbox.ipsoft import IPSoftServer, IPSoftState, Product, seed_demo
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.lenewblack.seed import demo_order_skus
from koppel.sandbox.postgres import PostgresServer
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.smtp_server import SMTPServer
from koppel.store import Direction, MessageStatus, MessageStore, create_store_engine, migrate

RESULTS = Path(__file__).resolve().parent / "chaos.json"
FILES, BAD_FILES, PORTAL_ORDERS = 1000, 12, 200
KILLS_PER_FLOW = 15
#: Portal orders arrive in waves of this many, one wave before each run, as orders come in.
ORDER_WAVE = 8
MAX_RUNS = 150
MAX_FILE_BYTES = 50_000
SKUS = tuple(demo_order_skus())
#: Each failpoint with how many times a run may pass it before it fires: a step taken
#: once per file or order may fire anywhere in a batch, one taken once per run only first.
FILE_POINTS = {
    "receive.stored": 30,
    "process.decided": 30,
    "deliver.staged": 30,
    "deliver.published": 30,
    "process.delivered": 30,
    "acknowledge.intended": 30,
    "acknowledge.reported": 1,
    "acknowledge.moved": 30,
    "alert.sent": 1,
}
API_POINTS = {
    "receive.stored": ORDER_WAVE,
    "process.decided": ORDER_WAVE,
    "deliver.sent": ORDER_WAVE,
    "process.delivered": ORDER_WAVE,
    "finish.marked_exported": ORDER_WAVE,
}
ACME = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
vars:
  sftp_conn_id: {sftp}
alert_emails: [ops@acme.example]
flows:
  orders:
    batch_size: 40
    max_file_bytes: {max_bytes}
    source:
      stable_seconds: 0
"""
NOORDZEE = """\
extends: _ipsoft_lenewblack
name: Noordzee Mode
prefix: noordzee
vars:
  ipsoft_conn_id: {ipsoft}
  lenewblack_conn_id: {lenewblack}
"""


class Chaos:
    """The servers, the two connections and the tally of one chaos run."""

    def __init__(self, work: Path, stack: ExitStack, rng: random.Random) -> None:
        self.rng = rng
        self.connections = work / "connections"
        self.connections.mkdir()
        pg = stack.enter_context(PostgresServer())
        self.store = MessageStore(create_store_engine(pg.sqlalchemy_url()))
        migrate(self.store.engine)
        self.sftp = stack.enter_context(SFTPServer(work / "sftp", conn_id="chaos_sftp"))
        self.smtp = stack.enter_context(SMTPServer())
        self.ipsoft = stack.enter_context(
            IPSoftServer(seed_demo(IPSoftState()), conn_id="chaos_ipsoft")
        )
        self.portal = stack.enter_context(LeNewBlackServer(conn_id="chaos_lenewblack"))
        self.env = {
            **{k: v for k, v in os.environ.items() if k != ENV_VAR},
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "KOPPEL_CONNECTIONS_DIR": str(self.connections),
            "AIRFLOW_CONN_KOPPEL_STORE": pg.airflow_connection_uri(),
            "AIRFLOW_CONN_CHAOS_SFTP": self.sftp.airflow_connection_uri(),
            "AIRFLOW_CONN_SMTP_DEFAULT": self.smtp.airflow_connection(),
            "AIRFLOW_CONN_CHAOS_IPSOFT": self.ipsoft.airflow_connection(),
            "AIRFLOW_CONN_CHAOS_LENEWBLACK": self.portal.airflow_connection(),
        }
        self.kills: Counter[str] = Counter()
        self.collected: Counter[str] = Counter()
        self.runs = 0

    def set_up(self) -> None:
        """The two merchants, 1,000 files in the inbound folder, 200 orders in the portal."""
        for template in ("_itsperfect_monta.yaml", "_ipsoft_lenewblack.yaml"):
            shutil.copy(INCLUDE_DIR / "connections" / template, self.connections)
        (self.connections / "itsperfect_acme.yaml").write_text(
            ACME.format(sftp="chaos_sftp", max_bytes=MAX_FILE_BYTES)
        )
        (self.connections / "ipsoft_noordzee.yaml").write_text(
            NOORDZEE.format(ipsoft="chaos_ipsoft", lenewblack="chaos_lenewblack")
        )
        inbound = self.sftp.root / "acme" / "itsperfect" / "orders"
        inbound.mkdir(parents=True)
        bad = set(self.rng.sample(range(FILES), BAD_FILES))
        for n in range(FILES):
            name = f"order_{n:04d}.xml"
            if n not in bad:
                payload = samples.good_order(str(20000 + n))
            elif n % 2:
                payload = samples.xsd_violation()
            else:
                payload = b"<Orders>" + b" " * MAX_FILE_BYTES + b"</Orders>"
            (inbound / name).write_bytes(payload)
        self.good_files = {f"acme_order_{20000 + n}.xml" for n in range(FILES) if n not in bad}
        self.bad_files = {f"order_{n:04d}.xml" for n in bad}
        for sku in SKUS:
            self.ipsoft.state.put(Product(article_id=f"A-{sku}", name=sku, sku=sku))
        self.portal.seed_demo()
        self.arriving = [f"LNB-{300000 + n}" for n in range(PORTAL_ORDERS)]
        self.orders = {"LNB-100045", "LNB-100047"}  # the demo's exportable ones; two are held

    def _next_wave(self) -> None:
        """The next few portal orders come in."""
        wave, self.arriving = self.arriving[:ORDER_WAVE], self.arriving[ORDER_WAVE:]
        for reference in wave:
            n = int(reference.removeprefix("LNB-"))
            customer = ("C10023", "C10031")[n % 2]
            sku = SKUS[n % len(SKUS)]
            self.portal.add_order(
                reference, customer_id=customer, lines=[(sku, str(1 + n % 5), "49.95")]
            )
            self.orders.add(reference)

    def run(self, connection: str, run_id: str, failpoint: str | None = None) -> str:
        """One flow run in a process of its own; ``killed``, ``success`` or ``failed``."""
        env = dict(self.env)
        if failpoint:
            env[ENV_VAR] = failpoint
        command = [
            sys.executable,
            "-m",
            "koppel.sandbox.flow_runner",
            str(self.connections / f"{connection}.yaml"),
            "orders",
            run_id,
        ]
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        self.runs += 1
        self._collect()
        if result.returncode == -signal.SIGKILL:
            return "killed"
        if result.returncode != 0:
            raise RuntimeError(f"{connection} {run_id} crashed:\n{result.stderr[-3000:]}")
        (line,) = [x for x in result.stdout.splitlines() if x.startswith("RUN ")]
        return line.split()[2]

    def kill_and_recover(self, connection: str, points: dict[str, int]) -> None:
        """Run until all is done, every run armed at a random step until enough kills landed.

        Kills can only land while work is left (a failpoint on a step nobody
        reaches never fires), so the work is spread over small batches.
        """
        number, kills = 1, 0
        for _ in range(MAX_RUNS):
            if connection == "ipsoft_noordzee":
                self._next_wave()
            armed = kills < KILLS_PER_FLOW
            point = self.rng.choice(sorted(points))
            failpoint = f"{point}:{self.rng.randint(1, points[point])}" if armed else None
            state = self.run(connection, f"chaos__{number}", failpoint)
            if state == "killed" and failpoint:
                kills += 1
                self.kills[f"{connection}:{failpoint.split(':')[0]}"] += 1
                continue  # retried under the same run id, as Airflow retries a task
            number += 1
            if state == "success" and self._settled(connection):
                return
        raise RuntimeError(f"{connection} did not settle within {MAX_RUNS} runs")

    def _settled(self, connection: str) -> bool:
        messages = self.store.find(connection_id=connection, flow="orders", direction=Direction.IN)
        waiting = {MessageStatus.RECEIVED, MessageStatus.FAILED, MessageStatus.PENDING}
        if any(m.status in waiting for m in messages):
            return False
        if connection == "itsperfect_acme":
            inbound = self.sftp.root / "acme" / "itsperfect" / "orders"
            return not any(p.is_file() for p in inbound.iterdir())
        exported = all(self.portal.state.orders[r].status == "exported" for r in self.orders)
        return exported and not self.arriving

    def _collect(self) -> None:
        target = self.sftp.root / "acme" / "monta" / "orders"
        if target.exists():
            for path in target.iterdir():
                if path.is_file() and not path.name.startswith("."):
                    self.collected[path.name] += 1
                    path.unlink()

    def report(self, seconds: float) -> dict[str, Any]:
        """Lost, duplicated and unalerted counts (all must be 0) and where the kills landed."""
        files = self.store.find(connection_id="itsperfect_acme", flow="orders")
        rejected = [m for m in files if m.status is MessageStatus.REJECTED]
        alerts = self._alert_counts()
        misplaced = [
            m.id
            for m in files
            if m.direction is Direction.IN
            and (not m.disposition or m.disposition.endswith(":missing") or m.disposal)
        ]
        portal = self.store.find(
            connection_id="ipsoft_noordzee", flow="orders", direction=Direction.IN
        )
        delivered = Counter(m.document_key for m in portal if m.status is MessageStatus.DELIVERED)
        wrong_numbers = [
            ref
            for ref in self.orders
            if self.portal.state.orders[ref].erp_order_number
            != getattr(self.ipsoft.state.orders.get(ref), "order_number", None)
        ]
        return {
            "seconds": round(seconds, 1),
            "runs": self.runs,
            "kills": sum(self.kills.values()),
            "kills_by_step": dict(sorted(self.kills.items())),
            "files": {
                "sent": FILES,
                "good": len(self.good_files),
                "lost": len(self.good_files - set(self.collected)),
                "duplicated": sum(1 for n in self.collected.values() if n > 1),
                "unexpected": len(set(self.collected) - self.good_files),
                "rejected": len(rejected),
                "unalerted": sum(1 for m in rejected if not m.alerted_at or not alerts[m.id]),
                "alerted_twice": sum(1 for m in rejected if alerts[m.id] > 1),
                "misplaced": len(misplaced),
            },
            "portal_orders": {
                "exportable": len(self.orders),
                "lost": sum(
                    1 for ref in self.orders if self.portal.state.orders[ref].status != "exported"
                ),
                "duplicated": sum(1 for n in delivered.values() if n > 1) + len(wrong_numbers),
                "create_order_calls": sum(1 for c in self.ipsoft.calls if c[0] == "CreateOrder"),
            },
        }

    def _alert_counts(self) -> Counter[int]:
        counts: Counter[int] = Counter()
        for mail in self.smtp.messages:
            body = mail.get_body(("html", "plain"))
            text = body.get_content() if body is not None else ""
            counts.update({int(i) for i in re.findall(r"- message (\d+) \(", text)})
        return counts


def main() -> int:
    """Run the chaos, print and write the report; exit 1 if anything was lost or doubled."""
    rng = random.Random(int(os.environ.get("KOPPEL_CHAOS_SEED", "7")))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="koppel-chaos-") as tmp, ExitStack() as stack:
        chaos = Chaos(Path(tmp), stack, rng)
        chaos.set_up()
        chaos.kill_and_recover("itsperfect_acme", FILE_POINTS)
        chaos.kill_and_recover("ipsoft_noordzee", API_POINTS)
        report = chaos.report(time.perf_counter() - start)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    bad = [
        report["files"]["lost"],
        report["files"]["duplicated"],
        report["files"]["unexpected"],
        report["files"]["unalerted"],
        report["files"]["misplaced"],
        report["portal_orders"]["lost"],
        report["portal_orders"]["duplicated"],
    ]
    return 1 if any(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
