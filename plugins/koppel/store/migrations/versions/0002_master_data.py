"""Add master data: the warehouse's last stock snapshot and the order lines it was sent.

Written by hand, like 0001, so that this revision keeps creating exactly these
tables however ``koppel.store.schema`` evolves later.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_QUANTITY = sa.Numeric(18, 4)


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Create ``stock_levels`` and ``order_reservations`` with the index ``available`` uses."""
    op.create_table(
        "stock_levels",
        sa.Column("connection_id", sa.String(200), primary_key=True),
        sa.Column("sku", sa.String(200), primary_key=True),
        sa.Column("quantity", _QUANTITY, nullable=False),
        sa.Column("warehouse", sa.String(200), nullable=True),
        _timestamp("as_of"),
        sa.Column("message_id", _BIG_ID, sa.ForeignKey("messages.id"), nullable=True),
        _timestamp("updated_at"),
    )
    op.create_table(
        "order_reservations",
        sa.Column("connection_id", sa.String(200), primary_key=True),
        sa.Column("order_id", sa.String(200), primary_key=True),
        sa.Column("line_id", sa.String(200), primary_key=True),
        sa.Column("sku", sa.String(200), nullable=True),
        sa.Column("quantity", _QUANTITY, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message_id", _BIG_ID, sa.ForeignKey("messages.id"), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index(
        "ix_order_reservations_connection_sku", "order_reservations", ["connection_id", "sku"]
    )


def downgrade() -> None:
    """Drop both tables; the messages they refer to stay."""
    op.drop_table("order_reservations")
    op.drop_table("stock_levels")
