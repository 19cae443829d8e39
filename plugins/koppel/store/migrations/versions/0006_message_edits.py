"""Add the inbox's corrected copies of messages, and find replayed files left in the error folder.

- ``message_edits``: each corrected copy of an inbound message's payload a
  user stored (``koppel messages edit``), with who and when, the checksum of
  the payload it replaced and a unified diff. The received payload in
  ``messages`` is never changed; the newest edit is what the next processing
  reads.
- ``ix_messages_misfiled``: a partial index on the inbound messages that
  passed on a replay while their file still lies in the error folder, so the
  acknowledge step finds the few it has to move to the archive without
  scanning every delivered message of the flow.

Written by hand, like 0001 to 0005.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The rows of ``ix_messages_misfiled``; ``MessageStore.misfiled_ids`` queries exactly this.
_MISFILED = "direction = 'in' AND status IN ('delivered', 'skipped') AND disposition LIKE 'error:%'"


def upgrade() -> None:
    """Create ``message_edits`` and the partial index of misfiled inbound files."""
    op.create_table(
        "message_edits",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", _BIG_ID, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_by", sa.String(200), nullable=False),
        sa.Column("original_checksum", sa.String(64), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
    )
    op.create_index("ix_message_edits_message_id", "message_edits", ["message_id", "id"])
    op.create_index(
        "ix_messages_misfiled",
        "messages",
        ["connection_id", "flow"],
        postgresql_where=sa.text(_MISFILED),
        sqlite_where=sa.text(_MISFILED),
    )


def downgrade() -> None:
    """Drop the index and the edits; the received payloads were never changed."""
    op.drop_index("ix_messages_misfiled", table_name="messages")
    op.drop_index("ix_message_edits_message_id", table_name="message_edits")
    op.drop_table("message_edits")
