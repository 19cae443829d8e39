"""The webshop emulator over HTTP: collection ``orders``, its demo seed and the builder."""

from __future__ import annotations

from koppel.sandbox.record_api import Collection, RecordServer, RecordState
from koppel.sandbox.record_api.state import StoredRecord
from koppel.sandbox.webshop import seed
from koppel.sandbox.webshop.contract import SCHEMA_DIR
from koppel.sandbox.webshop.orders import ORDER_STATUSES

ORDERS = Collection("orders", ORDER_STATUSES, "ORDER_NOT_FOUND")


class WebshopState(RecordState):
    """The webshop's records: ``orders`` by reference (refunds are orders of kind ``refund``)."""

    def __init__(self) -> None:
        super().__init__([ORDERS.name])

    @property
    def orders(self) -> dict[str, StoredRecord]:
        """Every order by reference; change them under ``lock``."""
        return self.collections[ORDERS.name]


class WebshopServer(RecordServer[WebshopState]):
    """The webshop API on 127.0.0.1 (a free port by default), empty until seeded.

    ``WebshopServer(host="127.0.0.1", port=0, conn_id=..., token=...)``: see
    :class:`~koppel.sandbox.record_api.RecordServer`.
    """

    collections = (ORDERS,)
    schema_dir = SCHEMA_DIR
    default_conn_id = "webshop_default"

    def new_state(self) -> WebshopState:
        return WebshopState()

    def add_order(self, order: StoredRecord) -> StoredRecord:
        """Place an order built with :func:`~koppel.sandbox.webshop.orders.webshop_order`."""
        return self.state.add(ORDERS.name, order)

    def order_json(self, reference: str) -> dict[str, object]:
        """The order as ``GET /api/v1/orders/{reference}`` would answer now."""
        return self.record_json(ORDERS.name, reference)

    def seed_demo(self) -> None:
        """Add the demo orders W-1001..W-1005 and the refund R-1001 (see ``webshop.seed``)."""
        seed.seed_demo(self.state)
