"""The message store's tables, as SQLAlchemy Core metadata.

The repository queries through these objects; the Alembic revisions create the
same tables by hand, so a revision never changes when this module evolves.
Every timestamp is timezone-aware UTC, also on SQLite, which stores none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def utc_now() -> datetime:
    """Now, timezone-aware in UTC: the only kind of timestamp the store writes."""
    return datetime.now(UTC)


#: A 64-bit id on PostgreSQL; SQLite only autoincrements a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer, "sqlite")
#: JSON on every database, JSONB where it exists; SQL NULL (not JSON null) for None.
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in and comes out timezone-aware in UTC on every database.

    SQLite keeps no offset, so a value read back there would be naive; comparing
    it with an aware one would raise, so naive values are read as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes: their zone would be a guess."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite hands back without a zone."""
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("connection_id", String(200), nullable=False),
    Column("flow", String(100), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("source_name", Text, nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("document", Json, nullable=True),
    Column("document_key", String(200), nullable=True, index=True),
    Column("status", String(20), nullable=False),
    Column("problems", Json, nullable=False, server_default=text("'[]'")),
    Column("parent_id", BigId, ForeignKey("messages.id"), nullable=True),
    Column("target_name", Text, nullable=True),
    Column("disposition", Text, nullable=True),
    Column("run_id", String(250), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(250), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("alerted_at", UTCDateTime, nullable=True),
    Column("disposal", Text, nullable=True),
    Index("ix_messages_connection_flow_status", "connection_id", "flow", "status"),
    Index("ix_messages_parent_id", "parent_id"),
    # The archive-name check of each acknowledged chunk (migration 0005).
    Index("ix_messages_connection_flow_disposition", "connection_id", "flow", "disposition"),
    # The integration centre's keyset pages, totals and overview counts (migration 0007,
    # which says which filter each serves; koppel.store.message_queries runs them).
    Index("ix_messages_direction_id", "direction", "id"),
    Index("ix_messages_status_id", "status", "id"),
    Index("ix_messages_connection_flow_direction_id", "connection_id", "flow", "direction", "id"),
    Index("ix_messages_connection_status_id", "connection_id", "status", "id"),
    Index("ix_messages_created_at", "created_at", "connection_id", "flow", "status"),
    # Not declared here: 0007's trigram indexes ix_messages_source_name_trgm and
    # ix_messages_document_key_trgm, made only on PostgreSQL where pg_trgm can be had.
)

#: Inbound messages that passed on a replay while their file lies in the error folder
#: (migration 0006's partial index; a query must repeat this text to use it).
MISFILED = text(
    "direction = 'in' AND status IN ('delivered', 'skipped') AND disposition LIKE 'error:%'"
)
Index(
    "ix_messages_misfiled",
    messages.c.connection_id,
    messages.c.flow,
    postgresql_where=MISFILED,
    sqlite_where=MISFILED,
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("connection_id", String(200), primary_key=True),
    Column("flow", String(100), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("message_id", BigId, ForeignKey("messages.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", BigId, ForeignKey("messages.id"), nullable=False, index=True),
    Column("attempt_no", Integer, nullable=False),
    Column("target", Text, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("error", Text, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    UniqueConstraint("message_id", "attempt_no", name="uq_delivery_attempts_message_attempt"),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("connection_id", String(200), primary_key=True),
    Column("flow", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

message_edits = Table(
    "message_edits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", BigId, ForeignKey("messages.id"), nullable=False),
    Column("edited_at", UTCDateTime, nullable=False),
    Column("edited_by", String(200), nullable=False),
    # The checksum of the payload this edit replaced: the received one, or the previous edit's.
    Column("original_checksum", String(64), nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("diff", Text, nullable=False),
    Index("ix_message_edits_message_id", "message_id", "id"),
)
"""Corrected copies of inbound payloads (``koppel messages edit``); the newest one is processed.

The received payload in ``messages`` is never changed, so what the partner
sent stays on record beside every correction, who made it and when.
"""

#: The columns of a message listing: everything but the payload and the parsed document.
SUMMARY_COLUMNS = [c for c in messages.c if c.name not in {"payload", "document"}]

#: Quantities are exact decimals with four places, like the canonical documents' amounts.
Quantity = Numeric(18, 4, asdecimal=True)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("connection_id", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("quantity", Quantity, nullable=False),
    Column("warehouse", String(200), nullable=True),
    Column("as_of", UTCDateTime, nullable=False),
    Column("message_id", BigId, ForeignKey("messages.id"), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

order_reservations = Table(
    "order_reservations",
    metadata,
    Column("connection_id", String(200), primary_key=True),
    Column("order_id", String(200), primary_key=True),
    Column("line_id", String(200), primary_key=True),
    Column("sku", String(200), nullable=True),
    Column("quantity", Quantity, nullable=False),
    Column("status", String(20), nullable=False),
    Column("message_id", BigId, ForeignKey("messages.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_order_reservations_connection_sku", "connection_id", "sku"),
)

# -- streamed catalogues (docs/catalogues.md) -----------------------------------------------

payload_chunks = Table(
    "payload_chunks",
    metadata,
    Column("message_id", BigId, ForeignKey("messages.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
"""The payload of a streamed inbound file, in order; its ``messages.payload`` is empty."""

catalogue_progress = Table(
    "catalogue_progress",
    metadata,
    Column("message_id", BigId, ForeignKey("messages.id"), primary_key=True),
    Column("phase", String(20), nullable=False),
    Column("records_seen", BigInteger, nullable=False),
    Column("records_staged", BigInteger, nullable=False),
    Column("problem_count", BigInteger, nullable=False),
    Column("problems", Json, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""How far a catalogue message got (``staging``, then ``decided``) and its records' problems.

Committed with each chunk of staged records, so a rerun after a crash goes on there.
"""

catalogue_products = Table(
    "catalogue_products",
    metadata,
    Column("connection_id", String(200), primary_key=True),
    Column("flow", String(100), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("content_hash", String(32), nullable=False),
    Column("record", Text, nullable=False),
    # No foreign key (see migration 0004): checked row by row, it slowed the upsert by half.
    Column("message_id", BigId, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_catalogue_products_message", "message_id", "sku"),
)
"""Every product a catalogue flow received, as last received: its canonical fields as JSON.

``content_hash`` tells a changed product from an unchanged one; ``message_id``
is the message that last changed it, whose batch files carry it.
"""
