"""The CRM emulator over HTTP: collections ``quotes`` and ``deals``, its demo seed."""

from __future__ import annotations

import secrets

from koppel.sandbox.crm import seed
from koppel.sandbox.crm.contract import schema_validators
from koppel.sandbox.crm.records import DEAL_STATUSES, QUOTE_STATUSES
from koppel.sandbox.record_api import Collection, RecordApi, RecordServer, RecordState
from koppel.sandbox.record_api.state import StoredRecord

QUOTES = Collection("quotes", QUOTE_STATUSES, "QUOTE_NOT_FOUND")
DEALS = Collection("deals", DEAL_STATUSES, "DEAL_NOT_FOUND")


class CrmState(RecordState):
    """The CRM's records: ``quotes`` and ``deals`` by reference."""

    def __init__(self) -> None:
        super().__init__([QUOTES.name, DEALS.name])

    @property
    def quotes(self) -> dict[str, StoredRecord]:
        """Every quote by reference; change them under ``lock``."""
        return self.collections[QUOTES.name]

    @property
    def deals(self) -> dict[str, StoredRecord]:
        """Every deal by reference; change them under ``lock``."""
        return self.collections[DEALS.name]


class CrmServer(RecordServer):
    """The CRM API on 127.0.0.1 (a free port by default), empty until seeded.

    Args:
        host: The address clients are told to use.
        port: The port to listen on; 0 picks a free one.
        conn_id: The Airflow connection id tests and the demo register it under.
        token: The bearer token it accepts; a random one by default.
        bind: The address to listen on; ``host`` by default.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        conn_id: str = "crm_default",
        token: str | None = None,
        bind: str | None = None,
    ) -> None:
        self._state = CrmState()
        api = RecordApi(
            token or secrets.token_urlsafe(24),
            self._state,
            [QUOTES, DEALS],
            schema_validators(),
        )
        super().__init__(api, conn_id=conn_id, host=host, port=port, bind=bind)

    @property
    def state(self) -> CrmState:
        """Everything the CRM holds now."""
        return self._state

    def add_quote(self, quote: StoredRecord) -> StoredRecord:
        """Add a quote built with :func:`~koppel.sandbox.crm.records.crm_quote`."""
        return self._state.add(QUOTES.name, quote)

    def add_deal(self, deal: StoredRecord) -> StoredRecord:
        """Add a deal built with :func:`~koppel.sandbox.crm.records.crm_deal`."""
        return self._state.add(DEALS.name, deal)

    def set_status(self, collection: str, reference: str, status: str) -> StoredRecord:
        """Change a quote's or deal's status as a CRM user would; ``updated_at`` moves forward."""
        return self._state.set_status(collection, reference, status)

    def seed_demo(self) -> None:
        """Add the demo quotes and deals (see ``crm.seed``)."""
        seed.seed_demo(self._state)
