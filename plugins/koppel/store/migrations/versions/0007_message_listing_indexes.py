"""Index the integration centre's message listing: keyset pages, their totals, the overview.

The UI pages the store newest first by id (``koppel.store.message_queries``)
and shows the total of every page's filter; on a store of a million messages
neither may read the whole table. Each index below serves a filter the UI
offers, found with ``EXPLAIN ANALYZE`` on PostgreSQL over a 1,000,000-message
store (``bench/p6_message_paging.py``):

- ``ix_messages_direction_id`` (direction, id): "inbound only" / "outbound
  only". The page walks it backwards from ``before_id`` and stops after one
  page; the total is an index-only count of one direction.
- ``ix_messages_status_id`` (status, id): one status over every flow (the
  overview's "rejected" and "held" links). The same for a status: pages in id
  order, totals from the index alone.
- ``ix_messages_connection_flow_direction_id`` (connection_id, flow,
  direction, id): one flow's inbound or outbound messages, the list a user
  opens from the overview, paged in id order without a sort.
- ``ix_messages_connection_status_id`` (connection_id, status, id): one
  connection's messages in a status across its flows (every order held for
  one merchant), again paged in id order; ``(connection_id, flow, status)``
  needs the flow to order by id.
- ``ix_messages_created_at`` (created_at, connection_id, flow, status): the
  date range filter, and the overview's counts per flow and status over the
  last day or week, which PostgreSQL answers from this index alone.

The free text search (a substring of the source name or document key) and
the problem code prefix have no index: a substring needs trigrams (an
extension the store may not create) and the codes sit inside a JSON array.
Their pages stop early on the id order; only their totals read every row.

Written by hand, like 0001 to 0006.
"""

from __future__ import annotations

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


def upgrade() -> None:
    """Create the listing's indexes."""
    for name, columns in INDEXES.items():
        op.create_index(name, "messages", columns)


def downgrade() -> None:
    """Drop them; the listing falls back to scanning."""
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="messages")
