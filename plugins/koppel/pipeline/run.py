"""What one process run works with, and what it decides to send."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from koppel.config import ConnectionConfig, Endpoint, FlowConfig
from koppel.documents import CanonicalModel
from koppel.errors import FatalSyncError
from koppel.formats import FormatRegistry
from koppel.pipeline.destinations import Destination
from koppel.store import MasterDataStore, MessageStore


@dataclass(frozen=True)
class FlowRun:
    """What every step of one process run works with."""

    store: MessageStore
    master: MasterDataStore
    formats: FormatRegistry
    connection: ConnectionConfig
    flow: FlowConfig
    run_id: str
    destination: Callable[[Endpoint], Destination]
    resend: bool = False
    """Send records even when unchanged since the last sync (a backfill resends its range)."""
    lookups: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    def endpoint(self, role: str) -> Endpoint:
        """The flow's ``target`` or ``reply`` endpoint."""
        endpoint = self.flow.reply if role == "reply" else self.flow.target
        if endpoint is None:
            raise FatalSyncError(
                f"flow {self.flow.name} of {self.connection.id} has no {role} endpoint"
            )
        return endpoint


@dataclass(frozen=True)
class Outbound:
    """A mapped document (or batch), ready to be stored and delivered."""

    role: str
    target_name: str
    payload: bytes
    documents: tuple[CanonicalModel, ...]
