"""The copy Koppel last stored of a record it receives again and again (a portal order).

Change detection on the receiving side needs the newest stored payload of a
few hundred names at once; reading the flow's whole history through
``MessageStore.find`` would load every payload ever received.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.exc import SQLAlchemyError

from koppel.errors import StoreError
from koppel.store.schema import messages
from koppel.store.statuses import Direction

#: Bound parameters per ``IN`` list: far below every database's limit.
_CHUNK = 900


def last_received(
    engine: Engine, connection_id: str, flow: str, source_names: Iterable[str]
) -> dict[str, bytes]:
    """The payload of the newest inbound message stored under each name.

    Names never stored are left out of the result.
    """
    names = sorted(set(source_names))
    found: dict[str, bytes] = {}
    try:
        with engine.connect() as conn:
            for start in range(0, len(names), _CHUNK):
                rows = conn.execute(_newest(connection_id, flow, names[start : start + _CHUNK]))
                found.update((row.source_name, bytes(row.payload)) for row in rows)
    except SQLAlchemyError as exc:
        raise StoreError(f"message store failure: {exc}") from exc
    return found


def _newest(connection_id: str, flow: str, names: list[str]) -> Select[str, bytes]:
    """Per name, the payload of the inbound message with the highest id (the newest)."""
    newest = (
        select(func.max(messages.c.id).label("id"))
        .where(
            messages.c.connection_id == connection_id,
            messages.c.flow == flow,
            messages.c.direction == Direction.IN.value,
            messages.c.source_name.in_(names),
        )
        .group_by(messages.c.source_name)
        .subquery()
    )
    return select(messages.c.source_name, messages.c.payload).join(
        newest, messages.c.id == newest.c.id
    )
