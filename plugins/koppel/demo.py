"""``make demo``: two IT's Perfect merchants' order flows, end to end, on this machine alone.

Starts a local SFTP server with the merchants' folders, drops good and bad
order files in, runs the generated DAGs with ``dag.test()`` on an embedded
SQLite Airflow database and SQLite store, and prints one line per DAG run.
Exits 0 when the run behaved as designed: every good file delivered as a
valid Monta order, every bad file rejected into the error folder.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

from koppel import INCLUDE_DIR, PROJECT_ROOT

DEMO_DIR = PROJECT_ROOT / ".demo"
MERCHANTS = ("itsperfect_acme", "itsperfect_bellamoda")


@dataclass(frozen=True)
class Drop:
    """A file the demo puts in a merchant's inbound folder, and what must become of it."""

    name: str
    payload: bytes
    good: bool


def drops_for(connection_id: str) -> list[Drop]:
    """A realistic morning: several good orders and one of each kind of bad file."""
    from koppel.sandbox import samples

    if connection_id == "itsperfect_acme":
        return [
            Drop(
                "order_100231.xml", samples.good_order("100231", channel="webshop", lines=3), True
            ),
            Drop(
                "order_100232.xml", samples.good_order("100232", channel="wholesale", lines=5), True
            ),
            Drop(
                "order_100233.xml", samples.good_order("100233", channel="webshop", lines=1), True
            ),
            Drop("order_100234.xml", samples.broken_xml(), False),
            Drop("order_100235.xml", samples.xsd_violation(), False),
        ]
    return [
        Drop("order_200117.xml", samples.good_order("200117", channel="webshop", lines=2), True),
        Drop("order_200118.xml", samples.good_order("200118", channel="webshop", lines=4), True),
        Drop("order_200119.xml", samples.unknown_value(), False),
    ]


def _prepare_environment(sftp_uri: str, smtp_connection: str) -> None:
    """Point Airflow and Koppel at the demo's own folder before Airflow is imported."""
    airflow_home = DEMO_DIR / "airflow"
    airflow_home.mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            "KOPPEL_CONNECTIONS_DIR": str(INCLUDE_DIR / "connections"),
            "AIRFLOW_CONN_KOPPEL_STORE": f"sqlite:///{DEMO_DIR / 'store.db'}",
        }
    )
    for merchant in ("acme", "bellamoda"):
        os.environ[f"AIRFLOW_CONN_SFTP_{merchant.upper()}"] = sftp_uri
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = smtp_connection


def main() -> int:
    """Run the demo; the exit code says whether everything ended where it should."""
    from koppel.sandbox.sftp_server import SFTPServer
    from koppel.sandbox.smtp_server import SMTPServer

    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    sftp_root = DEMO_DIR / "sftp"
    sftp_root.mkdir(parents=True)
    sftp = SFTPServer(root=sftp_root, username="demo", password="demo-only-secret")
    with sftp, SMTPServer() as smtp:
        _prepare_environment(sftp.airflow_connection_uri(), smtp.airflow_connection())
        from koppel.demo_run import run_demo

        ok = run_demo(sftp_root, drops_for, smtp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
