"""The stand-in database behind each ``sql`` connection of the example merchants.

An SQL connection id is one partner system, and different platforms' systems
hold different things: the SCSN supplier's Isah ERP, the two stores of a
``ubl_stores`` company (each its own database of the store ERP, each with its
own data), a Peppol supplier on that same store ERP. So the sandbox gives
every SQL connection id its own database, chosen by the connection's
platform and by which template var names the id; one database for all of
them would let store B's flow read store A's orders.

Where a database lives: the Isah ERP at the sandbox's ``erp_url`` (as before
the stores came), every store database in a SQLite file named after its
connection id beside the SFTP root, unless a URL is given for that id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, make_url

from koppel.config import ConnectionConfig, SqlEndpoint
from koppel.sandbox.scsn_demo import create_demo_erp
from koppel.sandbox.store_erp import (
    PEPPOL_SUPPLIER_SEED,
    STORE_A_SEED,
    STORE_B_SEED,
    StoreSeed,
    open_demo_store,
)

#: The platform whose SQL connections reach the Isah ERP (one database for all of them).
ISAH_PLATFORM = "scsn_isah"

#: Platforms on the store ERP: template var naming a connection id -> (its role, its seed).
STORE_ROLES: dict[str, dict[str, tuple[str, StoreSeed]]] = {
    "ubl_stores": {
        "store_a_conn_id": ("store A", STORE_A_SEED),
        "store_b_conn_id": ("store B", STORE_B_SEED),
    },
    "peppol_supplier": {"erp_conn_id": ("supplier", PEPPOL_SUPPLIER_SEED)},
}


class DatabaseError(ValueError):
    """A connection's SQL endpoint that no stand-in database can serve."""


@dataclass(frozen=True)
class StandInDatabase:
    """One stand-in database and the SQL connection ids that reach it.

    Attributes:
        kind: ``Isah ERP`` or ``Store ERP``: which schema and demo data it has.
        label: Whose database it is, for the summary (``Nordkauppa store A``).
        url: Where it lives.
        seed: The store ERP's demo data; None for the Isah ERP (its own demo data).
        conn_ids: The Airflow connection ids served by it.
    """

    kind: str
    label: str
    url: URL
    seed: StoreSeed | None
    conn_ids: tuple[str, ...]

    def create(self) -> None:
        """Create and seed the database when it is new; keep an existing one as it is.

        Kept, so a restarted sandbox still holds what the flows and a user did.
        """
        if self.seed is None:
            create_demo_erp(self.url.render_as_string(hide_password=False)).dispose()
        else:
            open_demo_store(self.url, self.seed).dispose()

    def summary(self) -> str:
        """One line without credentials: kind, place, connection ids and whose it is."""
        where = self.url.render_as_string(hide_password=True)
        whose = "" if self.label == self.kind else f": {self.label}"
        return f"{self.kind:<13}{where}  ({', '.join(self.conn_ids)}{whose})"


@dataclass(frozen=True)
class _Need:
    """What one SQL connection id needs: a store (with a seed) or the Isah ERP (seed None)."""

    label: str
    seed: StoreSeed | None


def plan_databases(
    connections: Iterable[ConnectionConfig],
    *,
    root: Path,
    erp_url: URL,
    urls: Mapping[str, str] | None = None,
) -> list[StandInDatabase]:
    """The databases every SQL connection id of ``connections`` needs, one per place.

    Args:
        connections: Resolved connection files.
        root: The SFTP root; a store's SQLite file is ``<conn_id>.db`` beside it.
        erp_url: The Isah ERP's database.
        urls: Connection id -> SQLAlchemy URL of an empty database, instead of the default.

    Raises:
        DatabaseError: a platform without a stand-in database, an SQL connection id
            that no template var names, one id with two roles, two databases
            with different contents in one place, or a URL for an id no sql
            endpoint uses (a typo would otherwise go unnoticed).
    """
    urls = urls or {}
    needs: dict[str, _Need] = {}
    for connection in connections:
        for conn_id in _sql_conn_ids(connection):
            need = _need(connection, conn_id)
            known = needs.setdefault(conn_id, need)
            if known != need:
                raise DatabaseError(
                    f"{connection.id}: sql connection {conn_id!r} is {need.label}, "
                    f"but another connection file uses it as {known.label}"
                )
    unknown = sorted(set(urls) - set(needs))
    if unknown:
        raise DatabaseError(f"a database URL for {unknown}, which no sql endpoint uses")
    by_place: dict[str, StandInDatabase] = {}
    for conn_id, need in needs.items():
        url = _url(conn_id, need, root=root, erp_url=erp_url, urls=urls)
        place = url.render_as_string(hide_password=False)
        database = by_place.get(place)
        if database is None:
            kind = "Isah ERP" if need.seed is None else "Store ERP"
            by_place[place] = StandInDatabase(kind, need.label, url, need.seed, (conn_id,))
        elif database.seed is need.seed and database.label == need.label:
            by_place[place] = StandInDatabase(
                database.kind, database.label, url, need.seed, (*database.conn_ids, conn_id)
            )
        else:
            raise DatabaseError(
                f"sql connections {database.conn_ids[0]!r} ({database.label}) and "
                f"{conn_id!r} ({need.label}) would share one database: "
                f"{url.render_as_string(hide_password=True)}"
            )
    return list(by_place.values())


def _sql_conn_ids(connection: ConnectionConfig) -> list[str]:
    """The connection's SQL connection ids, each once, in flow order."""
    ids = [
        endpoint.conn_id
        for flow in connection.flows.values()
        for _, endpoint in flow.endpoints()
        if isinstance(endpoint, SqlEndpoint)
    ]
    return list(dict.fromkeys(ids))


def _need(connection: ConnectionConfig, conn_id: str) -> _Need:
    """Which database ``conn_id`` is, from the platform and the template var naming it.

    The vars, not the flows, tell the role: the template declares them as its
    contract, and a merchant that switches a flow off keeps them.
    """
    if connection.platform == ISAH_PLATFORM:
        return _Need("Isah ERP", None)
    roles = STORE_ROLES.get(connection.platform)
    if roles is None:
        raise DatabaseError(
            f"{connection.id}: no stand-in database for sql connection {conn_id!r} "
            f"of platform {connection.platform!r}"
        )
    named = [var for var in roles if connection.vars.get(var) == conn_id]
    if len(named) != 1:
        expected = " or ".join(roles)
        found = "both " + " and ".join(named) if named else f"none of {expected}"
        raise DatabaseError(
            f"{connection.id}: sql connection {conn_id!r} must be named by exactly one "
            f"of the vars {expected} (platform {connection.platform!r}); it is named by {found}"
        )
    role, seed = roles[named[0]]
    return _Need(f"{connection.name} {role}", seed)


def _url(conn_id: str, need: _Need, *, root: Path, erp_url: URL, urls: Mapping[str, str]) -> URL:
    """Where ``conn_id``'s database lives: given, the ERP's URL, or a SQLite file by the root."""
    if conn_id in urls:
        return make_url(urls[conn_id])
    if need.seed is None:
        return erp_url
    return URL.create("sqlite", database=str(root.resolve().parent / f"{conn_id}.db"))
