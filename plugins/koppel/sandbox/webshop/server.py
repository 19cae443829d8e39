"""The webshop emulator over HTTP: collection ``orders``, its demo seed and the builder."""

from __future__ import annotations

import secrets

from koppel.sandbox.record_api import Collection, RecordApi, RecordServer, RecordState
from koppel.sandbox.record_api.state import StoredRecord
from koppel.sandbox.webshop import seed
from koppel.sandbox.webshop.contract import schema_validators
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


class WebshopServer(RecordServer):
    """The webshop API on 127.0.0.1 (a free port by default), empty until seeded.

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
        conn_id: str = "webshop_default",
        token: str | None = None,
        bind: str | None = None,
    ) -> None:
        self._state = WebshopState()
        api = RecordApi(
            token or secrets.token_urlsafe(24), self._state, [ORDERS], schema_validators()
        )
        super().__init__(api, conn_id=conn_id, host=host, port=port, bind=bind)

    @property
    def state(self) -> WebshopState:
        """Everything the shop holds now."""
        return self._state

    def add_order(self, order: StoredRecord) -> StoredRecord:
        """Place an order built with :func:`~koppel.sandbox.webshop.orders.webshop_order`."""
        return self._state.add(ORDERS.name, order)

    def set_status(self, reference: str, status: str) -> StoredRecord:
        """Change an order's status as a shop user would; ``updated_at`` moves forward."""
        return self._state.set_status(ORDERS.name, reference, status)

    def order_json(self, reference: str) -> dict[str, object]:
        """The order as ``GET /api/v1/orders/{reference}`` would answer now."""
        return self.record_json(ORDERS.name, reference)

    def seed_demo(self) -> None:
        """Add the demo orders W-1001..W-1005 and the refund R-1001 (see ``webshop.seed``)."""
        seed.seed_demo(self._state)
