"""Send only what changed since the last successful sync.

What a target holds is what was last delivered there, byte for byte: the
store keeps every delivered payload with its checksum. A record whose new
payload has the same checksum as the last one delivered to its resource is
not sent again. pandas does the comparison for a whole page at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from koppel.documents import Problem, Severity
from koppel.store import MessageStore


class Outgoing(Protocol):
    """Anything with a target and a payload (the pipeline's outbound items)."""

    @property
    def target_name(self) -> str: ...

    @property
    def payload(self) -> bytes: ...


def unchanged_targets(
    store: MessageStore, connection_id: str, flow: str, items: Sequence[Outgoing]
) -> set[str]:
    """The targets whose new payload equals the payload last delivered there."""
    if not items:
        return set()
    import pandas as pd  # only runs that sync records pay pandas' import time

    new = pd.DataFrame(
        {
            "target_name": [item.target_name for item in items],
            "checksum": [hashlib.sha256(item.payload).hexdigest() for item in items],
        }
    )
    delivered = store.delivered_checksums(
        connection_id=connection_id, flow=flow, target_names=new["target_name"]
    )
    last = pd.DataFrame(
        {"target_name": list(delivered), "last_checksum": list(delivered.values())},
        columns=["target_name", "last_checksum"],
    )
    merged = new.merge(last, on="target_name", how="left")
    return set(merged.loc[merged["checksum"] == merged["last_checksum"], "target_name"])


def unchanged_note(count: int) -> Problem:
    """Recorded on the message so a user sees why fewer records went out than came in."""
    return Problem(
        code="sync.unchanged",
        severity=Severity.INFO,
        message=f"{count} record(s) unchanged since the last sync were not sent again",
    )
