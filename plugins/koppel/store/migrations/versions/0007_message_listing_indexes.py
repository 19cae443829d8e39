"""Index the integration centre's message listing: keyset pages, their totals, the overview.

The UI pages the store newest first by id (``koppel.store.message_queries``)
and shows the total of every page's filter; on a store of a million messages
neither may read the whole table. Each index below serves a filter the UI
offers, found with ``EXPLAIN ANALYZE`` on PostgreSQL over a 1,000,000-message
store (``bench/p6_message_paging.py``):

- ``ix_messages_direction_id`` (direction, id): "inbound only" / "outbound
  only". The total is an index-only count of one direction (700,000 inbound
  rows: 150 ms, in parallel); a page of the rarer direction walks it
  backwards from ``before_id`` (of the common one the primary key does).
- ``ix_messages_status_id`` (status, id): one status over every flow (the
  overview's "rejected" and "held" links): pages walk it backwards in id
  order, totals are counted from it alone (30,000 held: 6 ms).
- ``ix_messages_connection_flow_direction_id`` (connection_id, flow,
  direction, id): one flow's inbound or outbound messages, the list a user
  opens from the overview, paged in id order without a sort, counted from
  the index alone (2,500 rows: 1 ms).
- ``ix_messages_connection_status_id`` (connection_id, status, id): one
  connection's messages in a status across its flows (every order rejected
  for one merchant), again paged in id order and counted from the index
  (2,500 rows: 0.6 ms); the older ``(connection_id, flow, status)`` holds no
  id and needs the flow.
- ``ix_messages_created_at`` (created_at, connection_id, flow, status): the
  date range filter's totals, and the overview's counts per flow and status
  over the last day or week, which PostgreSQL answers from this index alone
  (78,000 messages in the last week: 20 ms to count, 55 ms to group).
- ``ix_messages_source_name_trgm`` and ``ix_messages_document_key_trgm``
  (GIN, ``gin_trgm_ops``), PostgreSQL only: the free text search, a
  case-insensitive substring (``ILIKE '%…%'``) of either column. No B-tree
  serves a substring; without them a rare order number read the whole table
  twice (page and total: 2.4 s on 1,000,000 messages), with them a few
  index pages (milliseconds). They need the ``pg_trgm`` extension, trusted
  since PostgreSQL 13 (a database owner may create it); where it is not
  installed and cannot be created the indexes are left out and the search
  still works, by scanning. Patterns under three characters scan anyway.
  They cost every insert a GIN entry (pending-list updates, merged later):
  the bench's bulk fill of 1,000,000 messages took 90 s with them, 55 s
  without.

The problem code prefix has no index: the codes sit inside a JSON array (see
``MessageStore._filters``). Its pages stop early on the id order; only its
totals read every row the other filters leave. SQLite (the demo) gets the
B-tree indexes only and searches text by scanning.

Written by hand, like 0001 to 0006.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Each index's name and columns; ``koppel.store.schema`` declares the same.
INDEXES: dict[str, list[str]] = {
    "ix_messages_direction_id": ["direction", "id"],
    "ix_messages_status_id": ["status", "id"],
    "ix_messages_connection_flow_direction_id": ["connection_id", "flow", "direction", "id"],
    "ix_messages_connection_status_id": ["connection_id", "status", "id"],
    "ix_messages_created_at": ["created_at", "connection_id", "flow", "status"],
}


#: The trigram indexes of the free text search (PostgreSQL with ``pg_trgm`` only), by column.
TRIGRAM_INDEXES: dict[str, str] = {
    "ix_messages_source_name_trgm": "source_name",
    "ix_messages_document_key_trgm": "document_key",
}


def upgrade() -> None:
    """Create the listing's indexes, and the trigram ones where PostgreSQL can have them."""
    for name, columns in INDEXES.items():
        op.create_index(name, "messages", columns)
    if op.get_bind().dialect.name == "postgresql" and _trigrams_available():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in TRIGRAM_INDEXES.items():
            op.create_index(
                name,
                "messages",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )


def downgrade() -> None:
    """Drop them; the listing falls back to scanning. The extension stays: others may use it."""
    if op.get_bind().dialect.name == "postgresql":
        for name in reversed(TRIGRAM_INDEXES):
            op.execute(f"DROP INDEX IF EXISTS {name}")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="messages")


def _trigrams_available() -> bool:
    """Whether ``pg_trgm`` is installed, or shipped and ours to create in this database.

    Asked first rather than tried: a failed ``CREATE EXTENSION`` would abort the
    migration's transaction, and the store must migrate without it.
    """
    answer = op.get_bind().execute(
        sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') "
            "OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') "
            "AND (has_database_privilege(current_database(), 'CREATE') "
            "OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)))"
        )
    )
    return bool(answer.scalar_one())
