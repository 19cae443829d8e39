"""Create the message store: messages, idempotency keys, delivery attempts, watermarks.

Written by hand rather than imported from ``koppel.store.schema`` so that this
revision keeps creating exactly these tables however the schema evolves later.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "messages",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("connection_id", sa.String(200), nullable=False),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("document", _JSON, nullable=True),
        sa.Column("document_key", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("problems", _JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("parent_id", _BIG_ID, sa.ForeignKey("messages.id"), nullable=True),
        sa.Column("target_name", sa.Text(), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(250), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("ix_messages_document_key", "messages", ["document_key"])
    op.create_index(
        "ix_messages_connection_flow_status", "messages", ["connection_id", "flow", "status"]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("connection_id", sa.String(200), primary_key=True),
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("message_id", _BIG_ID, sa.ForeignKey("messages.id"), nullable=False),
        _timestamp("created_at"),
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", _BIG_ID, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _timestamp("started_at"),
        _timestamp("finished_at"),
        sa.UniqueConstraint(
            "message_id", "attempt_no", name="uq_delivery_attempts_message_attempt"
        ),
    )
    op.create_index("ix_delivery_attempts_message_id", "delivery_attempts", ["message_id"])
    op.create_table(
        "watermarks",
        sa.Column("connection_id", sa.String(200), primary_key=True),
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        _timestamp("updated_at"),
    )


def downgrade() -> None:
    """Drop everything :func:`upgrade` created, dependants first."""
    for table in ("watermarks", "delivery_attempts", "idempotency_keys", "messages"):
        op.drop_table(table)
