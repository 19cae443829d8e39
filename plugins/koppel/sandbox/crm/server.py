"""The CRM emulator over HTTP: collections ``quotes`` and ``deals``, its demo seed."""

from __future__ import annotations

from koppel.sandbox.crm import seed
from koppel.sandbox.crm.contract import SCHEMA_DIR
from koppel.sandbox.crm.records import DEAL_STATUSES, QUOTE_STATUSES
from koppel.sandbox.record_api import Collection, RecordServer, RecordState
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


class CrmServer(RecordServer[CrmState]):
    """The CRM API on 127.0.0.1 (a free port by default), empty until seeded.

    ``CrmServer(host="127.0.0.1", port=0, conn_id=..., token=...)``: see
    :class:`~koppel.sandbox.record_api.RecordServer`.
    """

    collections = (QUOTES, DEALS)
    schema_dir = SCHEMA_DIR
    default_conn_id = "crm_default"

    def new_state(self) -> CrmState:
        return CrmState()

    def add_quote(self, quote: StoredRecord) -> StoredRecord:
        """Add a quote built with :func:`~koppel.sandbox.crm.records.crm_quote`."""
        return self.state.add(QUOTES.name, quote)

    def add_deal(self, deal: StoredRecord) -> StoredRecord:
        """Add a deal built with :func:`~koppel.sandbox.crm.records.crm_deal`."""
        return self.state.add(DEALS.name, deal)

    def seed_demo(self) -> None:
        """Add the demo quotes and deals (see ``crm.seed``)."""
        seed.seed_demo(self.state)
