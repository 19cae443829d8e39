"""Add what streamed catalogues need: payload chunks, staging progress and the products seen.

- ``payload_chunks``: a streamed inbound file's bytes in order (its
  ``messages.payload`` stays empty), so a catalogue of gigabytes is stored
  without ever being one value in memory.
- ``catalogue_progress``: how many records of a catalogue message are staged
  and the problems found so far, committed with each chunk, so a run killed
  mid-file goes on where it stopped.
- ``catalogue_products``: the last received form of every product per flow,
  with a content hash, so only changed products go out again.

Written by hand, like 0001 to 0003.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the three tables and the index batch files are built by."""
    op.create_table(
        "payload_chunks",
        sa.Column("message_id", _BIG_ID, sa.ForeignKey("messages.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "catalogue_progress",
        sa.Column("message_id", _BIG_ID, sa.ForeignKey("messages.id"), primary_key=True),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("records_seen", sa.BigInteger(), nullable=False),
        sa.Column("records_staged", sa.BigInteger(), nullable=False),
        sa.Column("problem_count", sa.BigInteger(), nullable=False),
        sa.Column("problems", _JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "catalogue_products",
        sa.Column("connection_id", sa.String(200), primary_key=True),
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("sku", sa.String(200), primary_key=True),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        # No foreign key: checking it row by row cost a third of upserting a million
        # products, and the message a product names is never deleted.
        sa.Column("message_id", _BIG_ID, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_catalogue_products_message", "catalogue_products", ["message_id", "sku"])


def downgrade() -> None:
    """Drop the three tables; the messages they refer to stay."""
    op.drop_index("ix_catalogue_products_message", table_name="catalogue_products")
    op.drop_table("catalogue_products")
    op.drop_table("catalogue_progress")
    op.drop_table("payload_chunks")
