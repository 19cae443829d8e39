"""The message store: messages, idempotency keys, delivery attempts, watermarks and master data.

SQLAlchemy Core and Alembic only, no Airflow: the hook in
``koppel.hooks.store`` turns an Airflow connection into a :class:`MessageStore`.
"""

from __future__ import annotations

from koppel.store.engine import create_store_engine
from koppel.store.master_data import MasterDataStore, Reservation, ReservationStatus
from koppel.store.migrate import migrate
from koppel.store.records import DeliveryAttempt, Message, MessageSummary, Receipt
from koppel.store.repository import MessageStore, StoreConflictError
from koppel.store.statuses import (
    TERMINAL,
    TO_PROCESS,
    AttemptOutcome,
    Direction,
    MessageStatus,
)

__all__ = [
    "TERMINAL",
    "TO_PROCESS",
    "AttemptOutcome",
    "DeliveryAttempt",
    "Direction",
    "MasterDataStore",
    "Message",
    "MessageStatus",
    "MessageStore",
    "MessageSummary",
    "Receipt",
    "Reservation",
    "ReservationStatus",
    "StoreConflictError",
    "create_store_engine",
    "migrate",
]
