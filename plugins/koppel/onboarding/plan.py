"""What is left outside Koppel once a merchant file exists: Airflow connections and folders.

Koppel never holds a credential, so it cannot create the merchant's SFTP user
or its Airflow connections; what it can do is say exactly which ones its
flows will look for, derived from the loaded connection rather than retyped
from a wiki page (seed 000's steps 3, 4 and 14). The commands printed hold
placeholders such as ``<PASSWORD>``, never a value: they go into a terminal's
history and a ticket, where a secret must not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from koppel.config import ApiEndpoint, ConnectionConfig, FileEndpoint, SqlEndpoint

#: Airflow connection type and the ``airflow connections add`` options, per transport.
#: SOAP goes through IPSoft's HTTP-type hook (host: the endpoint URL; login and password);
#: the JSON APIs take the base URL as host and the API token as password
#: (``koppel.hooks.json_api``); SFTP pins the server's host key in the extras
#: (docs/cluster.md): never ``no_host_key_check`` outside tests.
CONNECTION_OPTIONS: dict[str, tuple[str, str]] = {
    "sftp": (
        "sftp",
        "--conn-host '<HOST>' --conn-port 22 --conn-login '<LOGIN>' --conn-password '<PASSWORD>' "
        """--conn-extra '{"host_key": "<HOST_KEY>"}'""",
    ),
    "ftp": (
        "ftp",
        "--conn-host '<HOST>' --conn-port 21 --conn-login '<LOGIN>' --conn-password '<PASSWORD>'",
    ),
    "http": ("http", "--conn-host '<BASE_URL>' --conn-password '<API_TOKEN>'"),
    "soap": (
        "http",
        "--conn-host '<SOAP_ENDPOINT_URL>' --conn-login '<LOGIN>' --conn-password '<PASSWORD>'",
    ),
    "sql": (
        "postgres",
        "--conn-host '<HOST>' --conn-port 5432 --conn-schema '<DATABASE>' "
        "--conn-login '<LOGIN>' --conn-password '<PASSWORD>'",
    ),
}
#: What each connection type's placeholders are, printed once under the commands.
NOTES = {
    "sftp": "<HOST_KEY>: the server's public key, the `ssh-ed25519 AAAA...` line of "
    "`ssh-keyscan -t ed25519 <HOST>`, checked with the server's owner",
    "http": "<BASE_URL>: the API's root URL; <API_TOKEN>: the bearer token the system issued",
    "soap": "<SOAP_ENDPOINT_URL>: the SOAP endpoint, e.g. https://erp.example/soap",
    "sql": "a demo may use --conn-type sqlite --conn-host /path/to/file.db instead",
}


@dataclass
class AirflowConnection:
    """One Airflow connection the merchant's flows use, with where they use it."""

    conn_id: str
    transport: str
    flows: list[str] = field(default_factory=list)
    """The flows with an endpoint naming it."""

    @property
    def conn_type(self) -> str:
        """Airflow's connection type for the transport."""
        return CONNECTION_OPTIONS[self.transport][0]

    def command(self) -> str:
        """``airflow connections add`` for it, with placeholders for every secret or host."""
        conn_type, options = CONNECTION_OPTIONS[self.transport]
        return f"airflow connections add '{self.conn_id}' --conn-type {conn_type} {options}"


@dataclass
class PartnerFolder:
    """A folder on a file server that a flow reads or writes."""

    conn_id: str
    path: str
    uses: list[str] = field(default_factory=list)
    """What happens there: ``orders: IT's Perfect drops files`` and the like."""
    inbound: bool = False
    side_folders: list[str] = field(default_factory=list)
    """The archive and error folders of an inbound folder."""


@dataclass
class Plan:
    """Everything the merchant needs outside Koppel, in the order it is set up."""

    connection_id: str
    dag_ids: list[str]
    connections: list[AirflowConnection]
    folders: list[PartnerFolder]

    def lines(self) -> list[str]:
        """The plan as printed by ``koppel new``."""
        out = [
            "Left to do outside Koppel:",
            "",
            "1. Airflow connections (credentials live only there):",
        ]
        transports: list[str] = []
        for connection in self.connections:
            flows = ", ".join(connection.flows)
            out.append(f"   {connection.conn_id} ({connection.conn_type}; flows {flows})")
            out.append(f"     {connection.command()}")
            if connection.transport not in transports:
                transports.append(connection.transport)
        out += [f"   note: {NOTES[t]}" for t in transports if t in NOTES]
        if self.folders:
            out += ["", "2. Partner folders Koppel expects (each user sees only its own tree):"]
            for folder in self.folders:
                out.append(f"   {folder.path}  [{folder.conn_id}] {'; '.join(folder.uses)}")
                out += [
                    f"   {side}  (Koppel makes it when missing)" for side in folder.side_folders
                ]
        else:
            out += [
                "",
                "2. Partner folders: none (no flow of this connection reads or writes files)",
            ]
        out += [
            "",
            f"3. `koppel dags`, then commit {self.connection_id}.yaml, its cases (if any) and "
            f"dags/connections/{self.connection_id}.py; these DAGs appear paused:",
            *(f"   {dag_id}" for dag_id in self.dag_ids),
            "   Switch them on in Airflow (or set enabled: true) when the merchant goes live.",
        ]
        return out


def plan_for(connection: ConnectionConfig) -> Plan:
    """The Airflow connections and partner folders of a loaded connection."""
    connections: dict[str, AirflowConnection] = {}
    folders: dict[tuple[str, str], PartnerFolder] = {}
    for flow_name, flow in connection.flows.items():
        for role, endpoint in flow.endpoints():
            entry = connections.setdefault(
                endpoint.conn_id, AirflowConnection(endpoint.conn_id, endpoint.transport)
            )
            if flow_name not in entry.flows:
                entry.flows.append(flow_name)
            if isinstance(endpoint, FileEndpoint):
                _add_folder(folders, endpoint, flow=flow_name, role=role)
            elif not isinstance(endpoint, (ApiEndpoint, SqlEndpoint)):  # pragma: no cover
                raise TypeError(f"unknown endpoint {endpoint!r}")
    return Plan(
        connection_id=connection.id,
        dag_ids=[connection.dag_id(flow) for flow in connection.flows],
        connections=list(connections.values()),
        folders=sorted(folders.values(), key=lambda f: (f.conn_id, f.path)),
    )


def _add_folder(
    folders: dict[tuple[str, str], PartnerFolder], endpoint: FileEndpoint, *, flow: str, role: str
) -> None:
    """Record one file endpoint's folder; an inbound one brings its archive and error folders.

    The wording names no system: a flow's ``reverse`` flag says which way it
    runs between the connection's two systems, and a flow that starts at a
    database rather than at a partner (despatches) does not always set it.
    """
    entry = folders.setdefault(
        (endpoint.conn_id, endpoint.folder), PartnerFolder(endpoint.conn_id, endpoint.folder)
    )
    if role == "source":
        entry.uses.append(f"{flow}: Koppel picks up {endpoint.pattern} here")
        entry.inbound = True
        for side in (endpoint.archive_folder, endpoint.error_folder):
            if side not in entry.side_folders:
                entry.side_folders.append(side)
    else:
        what = "its replies" if role == "reply" else "its output"
        entry.uses.append(f"{flow}: Koppel writes {what} here")
