"""Add what exactly-once under crashes and concurrent runs needs on ``messages``.

- ``claimed_by`` / ``claimed_until``: the run working on a message, and until
  when, so two runs of one flow never process or move the same message.
- ``alerted_at``: when a rejected message's alert went out, so each is alerted
  once, whichever run rejected it.
- ``disposal``: where an inbound file is being moved, recorded before the move,
  so a crash between move and record still knows where the file went.
- An index on ``parent_id``: a message's outputs are looked up by it on every run.

Written by hand, like 0001 and 0002. Rejected messages stored before this
revision count as alerted: their runs failed and alerted when they were rejected.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the four columns and the index; mark earlier rejections as alerted."""
    op.add_column("messages", sa.Column("claimed_by", sa.String(250), nullable=True))
    op.add_column("messages", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("disposal", sa.Text(), nullable=True))
    op.create_index("ix_messages_parent_id", "messages", ["parent_id"])
    op.execute(
        "UPDATE messages SET alerted_at = updated_at WHERE status = 'rejected' AND direction = 'in'"
    )


def downgrade() -> None:
    """Drop the index and the four columns.

    Plain ``ALTER TABLE … DROP COLUMN`` (SQLite 3.35+ has it): a batch copy of
    ``messages`` would have to drop a table other tables' foreign keys point at.
    """
    op.drop_index("ix_messages_parent_id", table_name="messages")
    for column in ("disposal", "alerted_at", "claimed_until", "claimed_by"):
        op.drop_column("messages", column)
