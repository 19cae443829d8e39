"""Create an engine that behaves the same on PostgreSQL and SQLite.

SQLite ignores foreign keys unless asked per connection, and a deferred
transaction that reads before it writes fails at once ("database is locked")
when another writer got there first instead of waiting its turn. The store
relies on foreign keys and on concurrent tasks queueing up, so every SQLite
connection gets the pragmas here and every transaction starts with
``BEGIN IMMEDIATE``, following SQLAlchemy's documented pysqlite recipe.

There is no ``pool_pre_ping``: it costs a round trip on every checkout, and
the store checks a connection out per transaction, so it doubled the round
trips of a flow. Each task builds its engine (and its connections) afresh, and
connections older than :data:`POOL_RECYCLE_SECONDS` are replaced when checked
out, so a long-lived process does not meet one the server has dropped long ago.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event

#: How long an SQLite writer waits for another one before failing, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Connections are replaced (without a round trip) once this old.
POOL_RECYCLE_SECONDS = 300


def create_store_engine(url: str | URL) -> Engine:
    """Return an engine for the store at ``url`` (``postgresql+psycopg://`` or ``sqlite:///``)."""
    engine = create_engine(url, pool_recycle=POOL_RECYCLE_SECONDS)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy so that _begin_immediate decides how one starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
