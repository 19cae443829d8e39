"""The emulated API served over HTTP on 127.0.0.1 (:mod:`koppel.sandbox.json_http`).

The one object tests and the demo start and stop: it exposes what the API
holds, and carries the portal helpers so a test can arrange data and inspect
the outcome on the same object.
"""

from __future__ import annotations

import secrets
from typing import Any

from koppel.sandbox.json_http import JsonHttpServer
from koppel.sandbox.lenewblack import seed
from koppel.sandbox.lenewblack.api import LeNewBlackApi
from koppel.sandbox.lenewblack.portal import LeNewBlackPortal
from koppel.sandbox.lenewblack.state import LeNewBlackState, RecordedRequest


class LeNewBlackServer(LeNewBlackPortal, JsonHttpServer[LeNewBlackApi]):
    """The emulated API over HTTP on a free port of 127.0.0.1, with test and demo helpers.

    Args:
        conn_id: The Airflow connection id tests and the demo register it under.
        token: The bearer token it accepts; a random one by default.
        host: The address clients are told to use.
        port: The port to listen on; a free one by default.
        bind: The address to listen on; ``host`` by default.
    """

    def __init__(
        self,
        *,
        conn_id: str = "lenewblack_default",
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        bind: str | None = None,
    ) -> None:
        self.conn_id = conn_id
        api = LeNewBlackApi(token or secrets.token_urlsafe(24))
        super().__init__(api, host=host, port=port, bind=bind, name="lenewblack-emulator")

    @property
    def state(self) -> LeNewBlackState:
        """Everything the server holds now."""
        return self.api.state

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        return list(self.api.requests)

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status``, whatever they ask."""
        self.api.fail_next(status, times)

    def order_json(self, reference: str) -> dict[str, Any]:
        """The order as ``GET /api/v1/orders/{reference}`` would answer now."""
        return self.api.render_order(self.state.orders[reference])

    def seed_demo(self) -> None:
        """Fill the portal as a Dutch fashion wholesaler's looks on a Monday morning."""
        seed.seed_demo(self)
