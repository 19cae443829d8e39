"""Every partner stand-in the example merchants need, started together with the demo data.

``python -m koppel.sandbox``, ``make airflow`` and the compose ``sandbox``
service all run this: one SFTP server for every merchant's folders, the IPSoft
and Le New Black emulators seeded like ``make demo``, the webshop and CRM
emulators with their demo records (issue 12), a seeded database for
every ``sql`` connection (the SCSN supplier's Isah ERP, each store of a
``ubl_stores`` company, a Peppol supplier's ERP: SQLite files beside the SFTP
root, or PostgreSQL databases when given them; see
:mod:`koppel.sandbox.stand_in_databases`), and an SMTP sink for the failure
alerts. Which Airflow connections need a value is read from the connection
files, not listed here, so a merchant added to ``include/connections/`` is
served too: an ``http`` endpoint goes to the emulator of the API its format
speaks (``lenewblack.*``, ``webshop.*`` or ``crm.*``), and every ``soap``
endpoint to the one IPSoft emulator.

Nothing here imports Airflow: the stand-ins run beside it, in their own
process or in the launcher's.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import URL, make_url

from koppel.config import ConnectionConfig, Endpoint, FileEndpoint, SqlEndpoint, load_all
from koppel.demo_scenario import ipsoft_state, scenario
from koppel.sandbox.crm import CrmServer
from koppel.sandbox.ipsoft import IPSoftServer
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.lifecycle import LocalServer
from koppel.sandbox.partner_files import drop_file
from koppel.sandbox.scsn import order_message
from koppel.sandbox.scsn_demo import cases as scsn_cases
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.smtp_server import SMTPServer
from koppel.sandbox.stand_in_databases import DatabaseError, StandInDatabase, plan_databases
from koppel.sandbox.webshop import WebshopServer

#: The alert connection every flow's failure callback uses.
SMTP_CONN_ID = "smtp_default"


@dataclass(frozen=True)
class Ports:
    """Where each stand-in listens; 0 picks a free port (the default on a laptop)."""

    sftp: int = 0
    ipsoft: int = 0
    lenewblack: int = 0
    smtp: int = 0
    webshop: int = 0
    crm: int = 0


@dataclass(frozen=True)
class Address:
    """What clients are told (``host``) and what the servers listen on (``bind``)."""

    host: str = "127.0.0.1"
    bind: str | None = None
    ports: Ports = Ports()


class SandboxError(Exception):
    """The connection files ask for something the sandbox cannot stand in for."""


class StandIns(LocalServer):
    """The stand-ins around one SFTP root; use as a context manager.

    Args:
        root: The SFTP server's root: every merchant's ``/<prefix>/...`` folders live here.
        connections_dir: The connection files whose endpoints need a stand-in.
        address: Host names and ports.
        demo_files: Drop ``make demo``'s first-morning files into the inbound folders.
        erp_url: The Isah ERP database of the ``scsn_isah`` connections' ``sql``
            endpoints (an empty PostgreSQL database in the cluster); default:
            ``isah.db`` beside ``root``.
        database_urls: Connection id -> URL of an empty database for that
            ``sql`` connection instead of its default (a store's default:
            ``<conn_id>.db`` beside ``root``).

    Raises:
        SandboxError: a connection file is invalid, or has an ``sql`` endpoint
            no stand-in database serves (see :func:`plan_databases`).
    """

    def __init__(
        self,
        root: Path,
        connections_dir: Path,
        *,
        address: Address = Address(),
        demo_files: bool = True,
        erp_url: str | None = None,
        database_urls: Mapping[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.erp_url = make_url(erp_url or f"sqlite:///{self.root.resolve().parent / 'isah.db'}")
        self.connections = _load_connections(connections_dir)
        try:
            #: Every ``sql`` connection's database, one entry per place.
            self.databases: list[StandInDatabase] = plan_databases(
                self.connections, root=self.root, erp_url=self.erp_url, urls=database_urls
            )
        except DatabaseError as exc:
            raise SandboxError(str(exc)) from exc
        self.demo_files = demo_files
        host, bind, ports = address.host, address.bind, address.ports
        # Fresh credentials per start: the servers listen where others on the machine can reach.
        self.sftp = SFTPServer(
            self.root,
            username="koppel",
            password=secrets.token_urlsafe(16),
            host=host,
            port=ports.sftp,
            bind=bind,
        )
        self.ipsoft = IPSoftServer(
            ipsoft_state(),
            password=secrets.token_urlsafe(16),
            host=host,
            port=ports.ipsoft,
            bind=bind,
        )
        self.lenewblack = LeNewBlackServer(host=host, port=ports.lenewblack, bind=bind)
        self.webshop = WebshopServer(host=host, port=ports.webshop, bind=bind)
        self.crm = CrmServer(host=host, port=ports.crm, bind=bind)
        self.smtp = SMTPServer(conn_id=SMTP_CONN_ID, host=host, port=ports.smtp, bind=bind)
        self._stack = ExitStack()

    def start(self) -> Self:
        """Create the folders, start every server, seed the emulators and databases, drop files.

        A server or database that fails stops the servers already started.
        """
        for connection in self.connections:
            _make_folders(self.root, connection)
        with ExitStack() as stack:
            for server in self._servers():
                stack.enter_context(server)
            self.lenewblack.seed_demo()
            self.webshop.seed_demo()
            self.crm.seed_demo()
            for database in self.databases:
                database.create()
            self._stack = stack.pop_all()
        if self.demo_files:
            _drop_demo_files(self.root, self.connections)
        return self

    def stop(self) -> None:
        """Stop every server, the last started first."""
        self._stack.close()

    def _servers(self) -> tuple[LocalServer, ...]:
        """Every server, in the order they start."""
        return (self.sftp, self.ipsoft, self.lenewblack, self.webshop, self.crm, self.smtp)

    def airflow_connections(self) -> dict[str, str]:
        """``conn_id`` -> ``AIRFLOW_CONN_<ID>`` value (JSON or URI) for every connection needed."""
        values = {SMTP_CONN_ID: self.smtp.airflow_connection()}
        by_transport = {
            "sftp": self.sftp.airflow_connection_uri(),
            "soap": self.ipsoft.airflow_connection(),
        }
        # One http API per format family: the format an endpoint reads or writes names its API.
        by_family = {
            "lenewblack": self.lenewblack.airflow_connection(),
            "webshop": self.webshop.airflow_connection(),
            "crm": self.crm.airflow_connection(),
        }
        for connection in self.connections:
            for flow in connection.flows.values():
                for _, endpoint in flow.endpoints():
                    if isinstance(endpoint, SqlEndpoint):
                        url = self.database_url_for(endpoint.conn_id)
                        values[endpoint.conn_id] = _database_connection(url)
                        continue
                    if endpoint.transport == "http":
                        values[endpoint.conn_id] = _http_stand_in(connection, endpoint, by_family)
                        continue
                    if endpoint.transport not in by_transport:
                        raise SandboxError(
                            f"{connection.id}: no stand-in for transport {endpoint.transport!r}"
                        )
                    values[endpoint.conn_id] = by_transport[endpoint.transport]
        return dict(sorted(values.items()))

    def database_url_for(self, conn_id: str) -> URL:
        """The database behind the ``sql`` connection ``conn_id`` (with its password).

        Raises:
            SandboxError: no connection file has an ``sql`` endpoint with that id.
        """
        for database in self.databases:
            if conn_id in database.conn_ids:
                return database.url
        raise SandboxError(f"no sql connection {conn_id!r} in the connection files")

    def summary(self) -> list[str]:
        """One line per server and database, without credentials: safe for a terminal or a log."""
        return [
            f"SFTP         {self.sftp.host}:{self.sftp.port}  root {self.root.resolve()}",
            f"IPSoft       {self.ipsoft.url}",
            f"Le New Black {self.lenewblack.base_url}/api/v1",
            f"Webshop      {self.webshop.base_url}/api/v1",
            f"CRM          {self.crm.base_url}/api/v1",
            f"SMTP         {self.smtp.host}:{self.smtp.port}",
            *(database.summary() for database in self.databases),
        ]


def env_name(conn_id: str) -> str:
    """The environment variable Airflow reads the connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def redacted(value: str) -> str:
    """The connection value with its password, token and host key left out."""
    if value.startswith("{"):
        parsed: dict[str, Any] = json.loads(value)
        shown = {k: v for k, v in parsed.items() if k not in {"password", "extra"}}
        return json.dumps(shown | ({"password": "***"} if "password" in parsed else {}))
    parts = urlsplit(value)
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, "", ""))


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Write ``export AIRFLOW_CONN_...=...`` lines, readable by the owner only."""
    lines = [f"export {env_name(cid)}={shlex.quote(value)}" for cid, value in values.items()]
    _write_private(path, "\n".join(lines) + "\n")


def write_connections_json(path: Path, values: dict[str, str]) -> None:
    """Write the connections for Airflow's ``LocalFilesystemBackend`` (how compose reads them)."""
    document: dict[str, Any] = {}
    for conn_id, value in values.items():
        if value.startswith("{"):
            fields = json.loads(value)
            if isinstance(fields.get("extra"), dict):
                fields["extra_dejson"] = fields.pop("extra")
            document[conn_id] = fields
        else:
            document[conn_id] = value
    _write_private(path, json.dumps(document, indent=2) + "\n")


def _write_private(path: Path, text: str) -> None:
    """Write via a temporary name so a reader never sees half a file; mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    temporary.replace(path)


def _load_connections(directory: Path) -> list[ConnectionConfig]:
    result = load_all(directory)
    if result.errors:
        raise SandboxError("; ".join(str(error) for error in result.errors))
    return result.connections


def _http_stand_in(
    connection: ConnectionConfig, endpoint: Endpoint, by_family: Mapping[str, str]
) -> str:
    """The connection value of the emulator an ``http`` endpoint talks to.

    The endpoint's format family (``webshop`` of ``webshop.order``) names the
    API it speaks, whichever side of the flow it is on: Le New Black is a
    target for IPSoft's master data and a source of orders, so the side says
    nothing, and the webshop's API and Le New Black's are both ``http``.

    Raises:
        SandboxError: no emulator speaks that format's API.
    """
    family = endpoint.format.partition(".")[0]
    if family not in by_family:
        raise SandboxError(
            f"{connection.id}: no http stand-in for {endpoint.conn_id} (format "
            f"{endpoint.format!r}); the sandbox emulates {', '.join(sorted(by_family))}"
        )
    return by_family[family]


def _database_connection(url: URL) -> str:
    """The ``AIRFLOW_CONN_*`` value of a database: JSON for SQLite, a URI for PostgreSQL."""
    if url.get_backend_name() == "sqlite":
        return json.dumps({"conn_type": "sqlite", "host": url.database})
    plain = url.set(drivername="postgresql")
    return plain.render_as_string(hide_password=False)


def _make_folders(root: Path, connection: ConnectionConfig) -> None:
    """Onboarding step 1: every folder a flow reads or writes exists before it runs."""
    for flow in connection.flows.values():
        for role, endpoint in flow.endpoints():
            if isinstance(endpoint, FileEndpoint):
                folders = [endpoint.folder]
                if role == "source":
                    folders += [endpoint.archive_folder, endpoint.error_folder]
                for folder in folders:
                    (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)


def _drop_demo_files(root: Path, connections: list[ConnectionConfig]) -> None:
    """The files of ``make demo``'s morning, each written complete and then renamed."""
    by_id = {c.id: c for c in connections}
    for scsn in connections:
        if scsn.platform == "scsn_isah" and "orders" in scsn.flows:
            _drop_scsn_orders(root, scsn.flows["orders"].source)
    for step in scenario():
        connection = by_id.get(step.connection_id)
        if connection is None:
            continue
        source = connection.flows[step.flow].source
        if not isinstance(source, FileEndpoint):
            continue
        inbound = root / source.folder.lstrip("/")
        for drop in step.drops:
            drop_file(inbound, drop.name, drop.payload)


def _drop_scsn_orders(root: Path, source: Endpoint) -> None:
    """The demo's SCSN order messages, one for every outcome of the import checks."""
    if not isinstance(source, FileEndpoint):
        return
    inbound = root / source.folder.lstrip("/")
    for case in scsn_cases():
        drop_file(inbound, case.file, order_message(case.spec))
