"""A record API served over HTTP on 127.0.0.1, with the helpers tests and the demo use.

The webshop and CRM servers are this class with their own collections, seed
and builders; what a test or the demo does with a server (failures, the
requests received, a record's JSON, a user's status change) lives here once,
and the serving itself in :mod:`koppel.sandbox.json_http`.
"""

from __future__ import annotations

import secrets
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from koppel.sandbox.json_http import JsonHttpServer
from koppel.sandbox.record_api.api import Collection, RecordApi
from koppel.sandbox.record_api.contract import contract_validators
from koppel.sandbox.record_api.state import RecordedRequest, RecordState, StoredRecord

StateT = TypeVar("StateT", bound=RecordState)


class RecordServer(JsonHttpServer[RecordApi], Generic[StateT]):
    """A :class:`RecordApi` over HTTP on a port of 127.0.0.1, empty until seeded.

    A system's server names its ``collections``, its contract's ``schema_dir``
    and its ``default_conn_id``, and makes its state in :meth:`new_state`.

    Args:
        host: The address clients are told to use.
        port: The port to listen on; 0 picks a free one.
        conn_id: The Airflow connection id tests and the demo register it under.
        token: The bearer token it accepts; a random one by default.
        bind: The address to listen on; ``host`` by default.
    """

    collections: ClassVar[tuple[Collection, ...]]
    schema_dir: ClassVar[Path]
    default_conn_id: ClassVar[str]

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        conn_id: str | None = None,
        token: str | None = None,
        bind: str | None = None,
    ) -> None:
        self._state = self.new_state()
        self.conn_id = conn_id or self.default_conn_id
        api = RecordApi(
            token or secrets.token_urlsafe(24),
            self._state,
            self.collections,
            contract_validators(self.schema_dir),
        )
        super().__init__(api, host=host, port=port, bind=bind, name=f"{self.conn_id}-emulator")

    @abstractmethod
    def new_state(self) -> StateT:
        """The empty state this API starts with."""

    @property
    def state(self) -> StateT:
        """Everything the emulator holds now; read or change it under ``state.lock``."""
        return self._state

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self.api.state.lock:
            return list(self.api.requests)

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status``, whatever they ask."""
        self.api.fail_next(count, status)

    def record_json(self, collection: str, reference: str) -> dict[str, Any]:
        """A record as ``GET /api/v1/<collection>/{reference}`` would answer now."""
        with self._state.lock:
            return self._state.collections[collection][reference].render()

    def set_status(self, reference: str, status: str) -> StoredRecord:
        """Change a record's status as a user of the source would; ``updated_at`` moves forward.

        Raises:
            KeyError: When no collection holds ``reference``.
        """
        with self._state.lock:
            for name, records in self._state.collections.items():
                if reference in records:
                    return self._state.set_status(name, reference, status)
        raise KeyError(reference)

    @abstractmethod
    def seed_demo(self) -> None:
        """Fill the emulator with the demo's records."""
