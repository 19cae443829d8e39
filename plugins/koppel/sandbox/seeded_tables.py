"""Stand-in ERP databases: a partner's tables created on a URL and filled from a seed.

The Isah ERP (seed 002) and the store ERP (seed 003) exchange orders through
their databases, so their stand-ins *are* databases: the contract's tables
plus demo rows. Both are created, and their seeds loaded, the same way, here:
tables in dependency order, one transaction, and orders (or deliveries) that
get their numbers from the database as a real import does, their ``lines``
inserted under the number each got.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import URL, Connection, Engine, MetaData, Table, insert

from koppel.store import create_store_engine

#: Rows by table name; a header table's row may carry its child rows under ``lines``.
Seed = Mapping[str, Sequence[Mapping[str, Any]]]
#: The header tables whose seed rows carry lines, by name: the child table, the key column.
WithLines = Mapping[str, tuple[Table, str]]


def create_seeded_database(
    url: str | URL, metadata: MetaData, seed: Seed | None, with_lines: WithLines
) -> Engine:
    """Create ``metadata``'s tables on ``url`` (an empty database), load ``seed``; the engine.

    The engine is made as Koppel's SQL endpoints make theirs, so a test
    writing through it sees what a flow would.
    """
    engine = create_store_engine(url)
    metadata.create_all(engine)
    if seed:
        load_tables(engine, metadata, seed, with_lines)
    return engine


def load_tables(engine: Engine, metadata: MetaData, seed: Seed, with_lines: WithLines) -> None:
    """Insert the seed's rows, tables in dependency order, in one transaction.

    Args:
        engine: The stand-in's database.
        metadata: Its tables.
        seed: The rows to insert.
        with_lines: The header tables whose rows get their number from the database
            and carry their child rows under ``lines``.
    """
    child_tables = {child for child, _ in with_lines.values()}
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = seed.get(table.name, [])
            if table.name in with_lines:
                child, parent_column = with_lines[table.name]
                for row in rows:
                    header = {k: v for k, v in row.items() if k != "lines"}
                    insert_with_lines(
                        conn,
                        table,
                        header,
                        child=child,
                        parent_column=parent_column,
                        lines=row.get("lines"),
                    )
            elif rows and table not in child_tables:
                conn.execute(insert(table), rows)


def insert_with_lines(
    conn: Connection,
    table: Table,
    header: Mapping[str, Any],
    *,
    child: Table,
    parent_column: str,
    lines: Sequence[Mapping[str, Any]] | None,
) -> int:
    """Insert a header row, then its lines under the number the database gave it; the number."""
    number: int = conn.execute(
        insert(table).values(dict(header)).returning(table.c[parent_column])
    ).scalar_one()
    if lines:
        conn.execute(insert(child), [{**line, parent_column: number} for line in lines])
    return number
