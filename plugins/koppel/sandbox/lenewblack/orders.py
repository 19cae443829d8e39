"""The order endpoints: listing, reading and exporting orders placed in Le New Black.

Orders flow the other way from master data: Koppel polls them (paged, by
status and ``updated_since``) and marks each exported with its ERP number, so
this module holds the paging, the query checks and the export rules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from math import ceil
from typing import Any

from koppel.sandbox.json_http import Answer, ApiError
from koppel.sandbox.lenewblack.routing import RouteSpec, api_pattern
from koppel.sandbox.lenewblack.state import LeNewBlackState, StoredOrder

ORDER_STATUSES = ("draft", "confirmed", "exported")
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class Orders:
    """The order handlers over one state; the caller holds the lock."""

    def __init__(self, state: LeNewBlackState) -> None:
        self.state = state

    def routes(self) -> list[RouteSpec]:
        """The order routes, in the order they are matched."""
        return [
            ("GET", api_pattern(r"orders"), None, self._list_orders),
            ("GET", api_pattern(r"orders/(?P<ref>[^/]+)"), None, self._get_order),
            (
                "POST",
                api_pattern(r"orders/(?P<ref>[^/]+)/export"),
                "order_export",
                self._export_order,
            ),
        ]

    def render_order(self, order: StoredOrder) -> dict[str, Any]:
        """The order's JSON, with the customer's name and reference as they are now."""
        customer = self.state.customers[order.customer_id].body
        return {
            "reference": order.reference,
            "status": order.status,
            "created_at": _iso(order.created_at),
            "updated_at": _iso(order.updated_at),
            "currency": order.currency,
            "customer": {
                "id": order.customer_id,
                "name": customer["name"],
                "erp_reference": customer.get("erp_reference"),
            },
            "delivery_address": order.delivery_address,
            "lines": order.lines,
            "remarks": order.remarks,
        }

    def _list_orders(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        status = query.get("status")
        if status is not None and status not in ORDER_STATUSES:
            raise ApiError(
                400, "INVALID_QUERY", f"status must be one of {', '.join(ORDER_STATUSES)}"
            )
        since = _query_datetime(query, "updated_since")
        page = _query_int(query, "page", 1, 1, None)
        page_size = _query_int(query, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        selected = sorted(
            (
                order
                for order in self.state.orders.values()
                if (status is None or order.status == status)
                and (since is None or order.updated_at >= since)
            ),
            key=lambda order: (order.updated_at, order.reference),
        )
        chunk = selected[(page - 1) * page_size : page * page_size]
        return 200, {
            "orders": [self.render_order(order) for order in chunk],
            "page": page,
            "total_pages": max(1, ceil(len(selected) / page_size)),
        }

    def _get_order(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        return 200, self.render_order(self._order(params["ref"]))

    def _export_order(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        order = self._order(params["ref"])
        number = body["erp_order_number"]
        if order.status == "exported" and order.erp_order_number != number:
            raise ApiError(
                409,
                "ALREADY_EXPORTED",
                f"order {order.reference} was exported as {order.erp_order_number}, not {number}",
            )
        if order.status == "draft":
            raise ApiError(409, "ORDER_NOT_CONFIRMED", f"order {order.reference} is a draft")
        if order.status == "confirmed":
            order.status, order.erp_order_number = "exported", number
            order.updated_at = datetime.now(UTC)
        return 200, self.render_order(order)

    def _order(self, reference: str) -> StoredOrder:
        order = self.state.orders.get(reference)
        if order is None:
            raise ApiError(404, "ORDER_NOT_FOUND", f"no order {reference!r}")
        return order


def _query_int(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ApiError(400, "INVALID_QUERY", f"{name} must be an integer {bounds}, not {text!r}")
    return int(text)


def _query_datetime(query: dict[str, str], name: str) -> datetime | None:
    text = query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(
            400, "INVALID_QUERY", f"{name} is not an ISO 8601 date-time: {text!r}"
        ) from exc
    if value.tzinfo is None:
        raise ApiError(400, "INVALID_QUERY", f"{name} needs a UTC offset: {text!r}")
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
