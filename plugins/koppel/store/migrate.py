"""Bring a store database to the newest schema, from code rather than a command line.

Every entry point (the hook, the CLI, the test fixtures) calls :func:`migrate`
before using the store, so it has to be cheap and harmless when there is
nothing to do, and safe when two workers start at once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from koppel.errors import StoreError

#: The Alembic environment shipped inside the package, so no alembic.ini is needed.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Arbitrary but fixed: every Koppel process takes the same PostgreSQL advisory lock.
_ADVISORY_LOCK_ID = 0x4B6F7070656C  # "Koppel"


def migrate(engine: Engine) -> None:
    """Run ``alembic upgrade head`` on the store behind ``engine``.

    Raises:
        StoreError: the database cannot be reached or a revision fails.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            _serialise_with_other_migrators(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the message store at {engine.url!r}: {exc}") from exc


def _serialise_with_other_migrators(connection: Connection) -> None:
    """Hold a transaction-scoped lock so two workers never create the tables twice.

    SQLite needs none: its single writer already serialises the DDL.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
