"""Which exported portal orders really changed: changes Koppel made itself are not news.

Each run asks the portal for exported orders updated since the last run, so
that a sales rep's change after the export is recorded (seed 004: later
changes are made in the ERP; Koppel logs them and does not export them
again). But marking an order exported is itself an update: it moves the
order's ``updated_at``, so without this check every order exported by one
run would be fetched and stored again by the next.

An order counts as changed when its content, apart from what the mark
changes (status and ``updated_at``), differs from the copy Koppel last stored
of it. Content, not time: comparing ``updated_at`` with the moment of the mark
would depend on the portal's clock agreeing with Koppel's, and would take a
change a sales rep made just before the mark for Koppel's own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from koppel.store import MessageStore
from koppel.store.received_copies import last_received

log = logging.getLogger(__name__)

#: What marking an order exported changes in the portal's copy of it.
MARKED_FIELDS = frozenset({"status", "updated_at"})


def order_source_name(operation: str, reference: str) -> str:
    """The name an order fetched from the portal is stored under: one name per order."""
    return f"{operation}/{reference}"


def changed_exports(
    store: MessageStore, connection_id: str, flow: str, operation: str, pages: Iterable[bytes]
) -> list[str]:
    """The references of listed exported orders that changed since Koppel last stored them.

    Args:
        pages: the portal's listing pages of exported orders, as received.

    Orders Koppel never stored (exported by some other tool) count as changed:
    there is nothing to compare with, so they are fetched and recorded.
    """
    listed = [order for page in pages for order in json.loads(page)["orders"]]
    names = {order_source_name(operation, order["reference"]): order for order in listed}
    stored = last_received(store.engine, connection_id, flow, names)
    changed = [
        order["reference"]
        for name, order in names.items()
        if not same_order(order, stored.get(name))
    ]
    log.info(
        "%s__%s: %d exported order(s) updated in the portal since the last run, %d of them"
        " only by being marked exported",
        connection_id,
        flow,
        len(names),
        len(names) - len(changed),
    )
    return changed


def same_order(listed: Mapping[str, Any], stored: bytes | None) -> bool:
    """Whether the listed order equals the stored copy in everything but the mark's fields."""
    if stored is None:
        return False
    try:
        copy = json.loads(stored)
    except ValueError:
        return False  # the stored copy was not even JSON: anything is news next to it
    return isinstance(copy, dict) and _content(listed) == _content(copy)


def _content(order: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in order.items() if key not in MARKED_FIELDS}
