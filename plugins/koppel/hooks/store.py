"""Airflow's door to the message store: an Airflow connection in, a :class:`MessageStore` out.

The store itself knows nothing of Airflow; this hook only turns the connection
``koppel_store`` into an engine, migrates the schema once, and hands out the
repository. The connection is PostgreSQL in production and tests, and may be
SQLite for the laptop demo.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook, Connection
from sqlalchemy import URL, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from koppel.errors import ConfigError, KoppelError
from koppel.store import MasterDataStore, MessageStore, create_store_engine, migrate

#: Connection extras passed on to libpq; anything else in the extras is not ours to forward.
LIBPQ_OPTIONS = frozenset(
    {
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "connect_timeout",
        "application_name",
        "options",
        "target_session_attrs",
    }
)


def engine_url(conn: Connection, *, purpose: str = "the message store") -> URL:
    """Build the SQLAlchemy URL of a database from its Airflow connection.

    A ``postgres`` connection uses psycopg 3 with the connection's libpq
    extras; a ``sqlite`` connection names its database file in the host
    field, or in the schema (path) field when the connection was given as a
    URI like ``sqlite:////var/koppel/store.db``, the way Airflow's SqliteHook
    reads it. The store and the SQL endpoints (an ERP's tables) both connect
    this way; ``purpose`` names which in the errors.

    Raises:
        ConfigError: the connection type is neither, or a SQLite connection names no file.
    """
    conn_type = (conn.conn_type or "").lower()
    if conn_type in {"postgres", "postgresql"}:
        return URL.create(
            "postgresql+psycopg",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port,
            database=conn.schema or None,
            query=_libpq_options(conn.extra_dejson),
        )
    if conn_type == "sqlite":
        path = conn.host or conn.schema
        if not path:
            raise ConfigError(
                f"connection {conn.conn_id!r}: {purpose} on sqlite needs a database file path"
            )
        return URL.create("sqlite", database=path)
    raise ConfigError(
        f"connection {conn.conn_id!r} has type {conn_type!r}; "
        f"{purpose} needs a postgres or sqlite connection"
    )


def _libpq_options(extra: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in extra.items() if key in LIBPQ_OPTIONS}


class KoppelStoreHook(BaseHook):
    """Open the Koppel message store named by an Airflow connection.

    Args:
        koppel_conn_id: the Airflow connection holding the store's address and credentials.
    """

    conn_name_attr = "koppel_conn_id"
    default_conn_name = "koppel_store"
    conn_type = "postgres"
    hook_name = "Koppel message store"

    def __init__(self, koppel_conn_id: str = default_conn_name) -> None:
        """Remember the connection id; nothing is opened until the engine is asked for."""
        super().__init__()
        self.koppel_conn_id = koppel_conn_id
        self._engine: Engine | None = None

    def get_conn(self) -> Engine:
        """Return the engine, as every provider hook's ``get_conn`` returns its client."""
        return self.get_engine()

    def get_engine(self) -> Engine:
        """Return the store's engine, created and migrated on first use and then reused."""
        if self._engine is None:
            url = engine_url(self.get_connection(self.koppel_conn_id))
            engine = create_store_engine(url)
            migrate(engine)
            self.log.info("Message store ready at %s", url.render_as_string(hide_password=True))
            self._engine = engine
        return self._engine

    def get_store(self) -> MessageStore:
        """Return the repository on this hook's (migrated) store."""
        return MessageStore(self.get_engine())

    def get_master_data(self) -> MasterDataStore:
        """Return the master data (warehouse stock, reservations) on this hook's store."""
        return MasterDataStore(self.get_engine())

    def test_connection(self) -> tuple[bool, str]:
        """Check from the Airflow UI that the store can be reached and migrated."""
        try:
            with self.get_engine().connect() as connection:
                connection.execute(text("SELECT 1"))
        except (KoppelError, SQLAlchemyError) as exc:
            return False, str(exc)
        return True, "Connection successfully tested"
