"""Alembic environment for the message store, driven only from :func:`koppel.store.migrate`.

The caller hands over an open connection in ``config.attributes``, so no
``alembic.ini``, URL or logging configuration is read at run time. The version
table has its own name because the store may share a database with Airflow's
metadata, whose Alembic history lives in ``alembic_version``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

VERSION_TABLE = "koppel_alembic_version"


def run_migrations_online() -> None:
    """Run the pending revisions on the connection the caller opened."""
    connection: Connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


# Airflow imports every module under its plugins folder looking for plugins; outside an
# Alembic run there is nothing to do here, and failing would show as a plugin import error.
if hasattr(context, "config"):
    run_migrations_online()
