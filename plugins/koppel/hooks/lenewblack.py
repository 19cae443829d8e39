"""Talk to Le New Black's HTTP/JSON API through an Airflow HTTP connection.

The conventions (bearer token, retries, errors, paging) are those of every
HTTP/JSON API Koppel talks to (:mod:`koppel.hooks.json_api`); this hook adds
Le New Black's own resources: PUT upserts of master data, its price lists,
its customers with their ERP references, and its orders, marked exported with
the ERP's order number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from koppel.errors import KoppelError
from koppel.hooks.json_api import (
    API_PREFIX,
    DEFAULT_TIMEOUT,
    JsonApiError,
    JsonApiHook,
    JsonPage,
    PutResult,
    api_path,
)


class LeNewBlackError(JsonApiError):
    """Le New Black refused a request (4xx): sending it again unchanged gives the same answer."""

    system: ClassVar[str] = "Le New Black"


class LeNewBlackHook(JsonApiHook):
    """Le New Black's API on the Airflow HTTP connection ``lenewblack_conn_id``.

    The connection's host (and port and schema) point at the portal's root and
    its password is the API token; login stays empty.

    Args:
        lenewblack_conn_id: The Airflow connection id.
        timeout: Seconds to connect and to read, per attempt.
        attempts: How many times a request is tried when it fails transiently.
        retry_wait_seconds: The first wait between attempts; it doubles each time, up to 30 s.
    """

    conn_name_attr = "lenewblack_conn_id"
    default_conn_name = "lenewblack_default"
    hook_name = "Le New Black"
    system: ClassVar[str] = "Le New Black"
    error_class: ClassVar[type[JsonApiError]] = LeNewBlackError

    def __init__(
        self,
        lenewblack_conn_id: str = default_conn_name,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        attempts: int = 3,
        retry_wait_seconds: float = 1.0,
    ) -> None:
        super().__init__(
            lenewblack_conn_id,
            timeout=timeout,
            attempts=attempts,
            retry_wait_seconds=retry_wait_seconds,
        )
        self.lenewblack_conn_id = lenewblack_conn_id

    def test_connection(self) -> tuple[bool, str]:
        """What the Airflow UI's "Test" button shows: an authenticated call, not a bare POST."""
        try:
            count = len(self.price_list_ids())
        except KoppelError as exc:
            return False, str(exc)
        return True, f"Connected to Le New Black: {count} price list(s)"

    def list_orders(
        self,
        *,
        status: str | None,
        updated_since: datetime | None,
        page_size: int = 100,
    ) -> Iterator[JsonPage]:
        """Every page of orders with ``status`` changed at or after ``updated_since``, one by one.

        See :meth:`~koppel.hooks.json_api.JsonApiHook.list_pages`: store every
        page before acting on any order.

        Raises:
            ValueError: ``updated_since`` has no time zone (the API would guess one).
        """
        params: dict[str, Any] = {}
        if status is not None:
            params["status"] = status
        if updated_since is not None:
            if updated_since.tzinfo is None:
                raise ValueError("updated_since must be timezone-aware")
            params["updated_since"] = updated_since.isoformat()
        return self.list_pages("orders", params, page_size=page_size)

    def price_list_ids(self) -> set[str]:
        """The ids of the price lists configured in Le New Black."""
        body = self.get_json(api_path("price-lists"))
        return {str(price_list["id"]) for price_list in body["price_lists"]}

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """The customer as Le New Black knows it (with ``erp_reference``), or None if unknown."""
        try:
            body: dict[str, Any] = self.get_json(api_path("customers", customer_id))
        except LeNewBlackError as exc:
            if exc.code == "CUSTOMER_NOT_FOUND":
                return None
            raise
        return body

    def mark_exported(self, reference: str, erp_order_number: str) -> None:
        """Mark an order exported with the ERP's order number; repeating it is harmless."""
        body = json.dumps({"erp_order_number": erp_order_number}).encode()
        self._request("POST", api_path("orders", reference, "export"), body=body)


__all__ = [
    "API_PREFIX",
    "LeNewBlackError",
    "LeNewBlackHook",
    "PutResult",
    "api_path",
]
