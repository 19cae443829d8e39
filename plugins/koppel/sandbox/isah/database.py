"""The stand-in ERP database: Isah's tables created on PostgreSQL or a SQLite file, seeded.

Unlike the SOAP and HTTP stand-ins there is no server to emulate: an ERP
that takes orders through import tables *is* its database. So the stand-in
is the schema of :mod:`koppel.hooks.isah_schema` (the same definitions the
reader and the SQL target are built on) plus demo master data
(:mod:`koppel.sandbox.isah.seed`), on whatever database URL it is given: a
database of :class:`~koppel.sandbox.postgres.PostgresServer` in tests and
the cluster, a SQLite file for the demo.
"""

from __future__ import annotations

from sqlalchemy import URL, Engine, insert, update

from koppel.hooks.isah_schema import metadata, sales_order_lines, sales_orders, settings
from koppel.sandbox.isah.seed import DEMO_SEED, ErpSeed
from koppel.sandbox.seeded_tables import create_seeded_database, load_tables

#: Sales orders get their numbers from the database, as an imported order does.
_WITH_LINES = {sales_orders.name: (sales_order_lines, "order_number")}


def create_erp_database(url: str | URL, seed: ErpSeed | None = DEMO_SEED) -> Engine:
    """Create the ERP's tables on ``url`` (an empty database) and load ``seed``; return the engine.

    The engine is made as Koppel's SQL endpoints make theirs, so a test
    writing through it sees what a flow would.
    """
    return create_seeded_database(url, metadata, seed, _WITH_LINES)


def load_seed(engine: Engine, seed: ErpSeed) -> None:
    """Insert the seed's rows, tables in dependency order, in one transaction.

    Sales orders get their order numbers from the database (as an imported
    order does), so their lines are inserted under the number each got.
    """
    load_tables(engine, metadata, seed, _WITH_LINES)


def set_setting(engine: Engine, key: str, value: str | None) -> None:
    """Change one global setting, as a user does in the ERP's configuration (None clears it)."""
    with engine.begin() as conn:
        changed = conn.execute(update(settings).where(settings.c.key == key).values(value=value))
        if changed.rowcount == 0:
            conn.execute(insert(settings).values(key=key, value=value))
