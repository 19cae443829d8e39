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
from koppel.store import create_store_engine


def create_erp_database(url: str | URL, seed: ErpSeed | None = DEMO_SEED) -> Engine:
    """Create the ERP's tables on ``url`` (an empty database) and load ``seed``; return the engine.

    The engine is made as Koppel's SQL endpoints make theirs, so a test
    writing through it sees what a flow would.
    """
    engine = create_store_engine(url)
    metadata.create_all(engine)
    if seed:
        load_seed(engine, seed)
    return engine


def load_seed(engine: Engine, seed: ErpSeed) -> None:
    """Insert the seed's rows, tables in dependency order, in one transaction.

    Sales orders get their order numbers from the database (as an imported
    order does), so their lines are inserted under the number each got.
    """
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = seed.get(table.name, [])
            if table is sales_orders:
                for order in rows:
                    header = {k: v for k, v in order.items() if k != "lines"}
                    number = conn.execute(
                        insert(sales_orders).values(header).returning(sales_orders.c.order_number)
                    ).scalar_one()
                    lines = [{**line, "order_number": number} for line in order.get("lines", [])]
                    if lines:
                        conn.execute(insert(sales_order_lines), lines)
            elif rows and table is not sales_order_lines:
                conn.execute(insert(table), rows)


def set_setting(engine: Engine, key: str, value: str | None) -> None:
    """Change one global setting, as a user does in the ERP's configuration (None clears it)."""
    with engine.begin() as conn:
        changed = conn.execute(update(settings).where(settings.c.key == key).values(value=value))
        if changed.rowcount == 0:
            conn.execute(insert(settings).values(key=key, value=value))
