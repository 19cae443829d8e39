"""Index inbound files by where they went, for the archive-name check of each chunk.

Acknowledging a chunk asks which of its archive names earlier files of the
flow already took (``MessageStore.taken_dispositions``); without an index
that is a sequential scan of every message per chunk, so a 10,000-file batch
grew quadratically with the store.

Written by hand, like 0001 to 0004.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the index on (connection_id, flow, disposition)."""
    op.create_index(
        "ix_messages_connection_flow_disposition",
        "messages",
        ["connection_id", "flow", "disposition"],
    )


def downgrade() -> None:
    """Drop the index; the check falls back to scanning."""
    op.drop_index("ix_messages_connection_flow_disposition", table_name="messages")
