"""``python -m koppel.sandbox``: the example merchants' partner stand-ins, until Ctrl-C.

Starts the SFTP server (every example merchant's folders, with ``make demo``'s
files waiting in the inbound ones), the IPSoft, Le New Black, webshop and CRM
emulators with the demo data, a seeded database for every ``sql`` connection (the Isah ERP,
each store, the Peppol supplier's ERP) and an SMTP sink, on 127.0.0.1 unless
told otherwise. The
terminal shows which ``AIRFLOW_CONN_*`` variables are needed with their
credentials masked; the values themselves go only into the env file (mode
0600), so they never land in a terminal log. Stops every server on SIGINT or
SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

DEFAULT_DIR = Path(".sandbox")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    from koppel.settings import connections_dir

    parser = argparse.ArgumentParser(
        prog="python -m koppel.sandbox", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_DIR / "sftp", help="SFTP root")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=DEFAULT_DIR / "connections.env",
        help="where to write the `export AIRFLOW_CONN_...` lines (with credentials)",
    )
    parser.add_argument(
        "--connections-json",
        type=Path,
        help="also write the connections as JSON for Airflow's LocalFilesystemBackend",
    )
    parser.add_argument("--connections-dir", type=Path, default=connections_dir())
    parser.add_argument("--host", default="127.0.0.1", help="the address clients use")
    parser.add_argument("--bind", help="the address to listen on (default: --host)")
    for name in ("sftp", "ipsoft", "lenewblack", "smtp", "webshop", "crm"):
        parser.add_argument(f"--{name}-port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--no-demo-files", action="store_true", help="leave the inbound folders empty"
    )
    parser.add_argument(
        "--erp-url",
        help="the Isah ERP database (SQLAlchemy URL of an empty PostgreSQL database); "
        "default: isah.db beside --root",
    )
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        metavar="CONN_ID=URL",
        help="the database of one sql connection (SQLAlchemy URL of an empty database); "
        "repeatable; default: <conn_id>.db beside --root (the Isah ERP's: --erp-url)",
    )
    args = parser.parse_args(argv)
    try:
        args.database_urls = _database_urls(args.database_url)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def _database_urls(pairs: list[str]) -> dict[str, str]:
    """``CONN_ID=URL`` pairs as a mapping; the URL may itself hold ``=`` (a query string)."""
    urls: dict[str, str] = {}
    for pair in pairs:
        conn_id, sep, url = pair.partition("=")
        if not sep or not conn_id or not url:
            raise ValueError(f"--database-url {pair!r}: expected CONN_ID=URL")
        if conn_id in urls:
            raise ValueError(f"--database-url: {conn_id!r} given twice")
        urls[conn_id] = url
    return urls


def main(argv: list[str] | None = None) -> int:
    """Start the stand-ins, write the connection files, wait for a signal, stop."""
    from koppel.sandbox.stand_ins import (
        Address,
        Ports,
        SandboxError,
        StandIns,
        env_name,
        redacted,
        write_connections_json,
        write_env_file,
    )

    args = _arguments(argv)
    stop = _stop_on_signals()
    ports = Ports(
        sftp=args.sftp_port,
        ipsoft=args.ipsoft_port,
        lenewblack=args.lenewblack_port,
        smtp=args.smtp_port,
        webshop=args.webshop_port,
        crm=args.crm_port,
    )
    try:
        stand_ins = StandIns(
            args.root,
            args.connections_dir,
            address=Address(args.host, args.bind, ports),
            demo_files=not args.no_demo_files,
            erp_url=args.erp_url,
            database_urls=args.database_urls,
        )
    except SandboxError as exc:
        print(f"koppel.sandbox: {exc}", file=sys.stderr)
        return 2
    written = [args.env_file] + ([args.connections_json] if args.connections_json else [])
    with stand_ins:
        values = stand_ins.airflow_connections()
        write_env_file(args.env_file, values)
        if args.connections_json:
            write_connections_json(args.connections_json, values)
        try:
            for line in stand_ins.summary():
                print(line)
            print("\nConnections (credentials masked):")
            for conn_id, value in values.items():
                print(f"  {env_name(conn_id)}={redacted(value)}")
            print(f"\nWith credentials, for a shell: . {args.env_file}")
            print("Ready. Ctrl-C stops every server.", flush=True)
            stop.wait()
        finally:
            for path in written:
                path.unlink(missing_ok=True)
    print("Stopped.", flush=True)
    return 0


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so both stop the servers the same clean way."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop


if __name__ == "__main__":
    sys.exit(main())
