"""The master-data endpoints: customers, products, price lists, prices and stock.

These are what Koppel pushes to Le New Black; each PUT is an upsert that bumps
the record's version, and a price is refused for a price list that does not
exist or is in another currency, as the real portal does.
"""

from __future__ import annotations

from typing import Any

from koppel.sandbox.json_http import Answer, ApiError
from koppel.sandbox.lenewblack.routing import RouteSpec, api_pattern
from koppel.sandbox.lenewblack.state import LeNewBlackState, Versioned


class MasterData:
    """The master-data handlers over one state; the caller holds the lock."""

    def __init__(self, state: LeNewBlackState) -> None:
        self.state = state

    def routes(self) -> list[RouteSpec]:
        """The master-data routes, in the order they are matched."""
        return [
            ("GET", api_pattern(r"customers/(?P<id>[^/]+)"), None, self._get_customer),
            ("PUT", api_pattern(r"customers/(?P<id>[^/]+)"), "customer", self._put_customer),
            (
                "PATCH",
                api_pattern(r"customers/(?P<id>[^/]+)"),
                "customer_patch",
                self._patch_customer,
            ),
            ("PUT", api_pattern(r"products/(?P<sku>[^/]+)"), "product", self._put_product),
            ("GET", api_pattern(r"price-lists"), None, self._get_price_lists),
            (
                "PUT",
                api_pattern(r"price-lists/(?P<list>[^/]+)/prices/(?P<sku>[^/]+)"),
                "price",
                self._put_price,
            ),
            ("PUT", api_pattern(r"stock/(?P<sku>[^/]+)"), "stock", self._put_stock),
        ]

    def _get_customer(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        return 200, self._customer(params["id"]).body

    def _put_customer(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        _same_key(params["id"], body, "id")
        return _upsert(self.state.customers, params["id"], {**body, "erp_reference": params["id"]})

    def _patch_customer(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        customer = self._customer(params["id"])
        customer.body["erp_reference"] = body["erp_reference"]
        return 200, customer.body

    def _customer(self, customer_id: str) -> Versioned:
        customer = self.state.customers.get(customer_id)
        if customer is None:
            raise ApiError(404, "CUSTOMER_NOT_FOUND", f"no customer {customer_id!r}")
        return customer

    def _put_product(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        _same_key(params["sku"], body, "sku")
        return _upsert(self.state.products, params["sku"], body)

    def _get_price_lists(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        return 200, {"price_lists": list(self.state.price_lists.values())}

    def _put_price(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        _same_key(params["sku"], body, "sku")
        price_list = self.state.price_lists.get(params["list"])
        if price_list is None:
            known = ", ".join(sorted(self.state.price_lists)) or "none"
            raise ApiError(
                404,
                "PRICE_LIST_NOT_FOUND",
                f"price list {params['list']!r} does not exist (known: {known}); "
                "price lists are configured in Le New Black by the account manager",
            )
        if body["currency"] != price_list["currency"]:
            raise ApiError(
                422,
                "CURRENCY_MISMATCH",
                f"price in {body['currency']} for price list {params['list']!r} "
                f"in {price_list['currency']}",
            )
        return _upsert(self.state.prices.setdefault(params["list"], {}), params["sku"], body)

    def _put_stock(self, params: dict[str, str], query: dict[str, str], body: Any) -> Answer:
        _same_key(params["sku"], body, "sku")
        return _upsert(self.state.stock, params["sku"], body)


def _upsert(records: dict[str, Versioned], key: str, body: dict[str, Any]) -> Answer:
    """Store ``body`` under ``key``: 201 when new, 200 when it replaced a record."""
    existing = records.get(key)
    if existing is None:
        records[key] = Versioned(body)
        return 201, body
    existing.body = body
    existing.version += 1
    return 200, body


def _same_key(from_path: str, body: dict[str, Any], name: str) -> None:
    if body[name] != from_path:
        raise ApiError(
            400, "INVALID_BODY", f"$.{name}: {body[name]!r} differs from the path's {from_path!r}"
        )
