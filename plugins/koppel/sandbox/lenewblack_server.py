"""A stateful Le New Black API on 127.0.0.1: what tests and the demo push master data to.

Le New Black's API is not public, so the project documents the part it uses
in ``include/schemas/lenewblack/`` and this emulator implements exactly that
contract: every request body is validated against the same JSON Schemas
Koppel's own output is checked with, so a body the emulator accepts is one the
contract allows. State is plain Python objects that tests inspect directly;
every PUT bumps a version counter, so a test can tell "sent again" from "sent
once". ``fail_next`` makes the next answers fail to exercise retries.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from math import ceil
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from koppel import INCLUDE_DIR
from koppel.sandbox.lifecycle import LocalServer

SCHEMA_DIR = INCLUDE_DIR / "schemas" / "lenewblack"
API_PREFIX = "/api/v1"
ORDER_STATUSES = ("draft", "confirmed", "exported")
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
#: How often the serving thread looks for ``stop()``: short, so a test's teardown is quick.
_POLL_SECONDS = 0.05


def schema_validators() -> dict[str, Draft202012Validator]:
    """A validator per ``*.schema.json`` file, by file name, resolving ``$ref`` between them."""
    schemas = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMA_DIR.glob("*.schema.json"))
    }
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return {
        name: Draft202012Validator(schema, registry=registry) for name, schema in schemas.items()
    }


@dataclass
class Versioned:
    """A record as last PUT, and how many times it was PUT (1 after the first)."""

    body: dict[str, Any]
    version: int = 1


@dataclass
class StoredOrder:
    """An order as Le New Black keeps it; the customer is referenced, never copied."""

    reference: str
    customer_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    currency: str
    lines: list[dict[str, Any]]
    delivery_address: dict[str, Any] | None = None
    remarks: str | None = None
    erp_order_number: str | None = None


@dataclass
class LeNewBlackState:
    """Everything the emulator holds; ``prices`` is keyed by price list, then SKU."""

    customers: dict[str, Versioned] = field(default_factory=dict)
    products: dict[str, Versioned] = field(default_factory=dict)
    price_lists: dict[str, dict[str, str]] = field(default_factory=dict)
    prices: dict[str, dict[str, Versioned]] = field(default_factory=dict)
    stock: dict[str, Versioned] = field(default_factory=dict)
    orders: dict[str, StoredOrder] = field(default_factory=dict)


class RecordedRequest(NamedTuple):
    """One request as received: ``path`` includes the query; ``body`` is the parsed JSON or None."""

    method: str
    path: str
    body: Any


class ApiError(Exception):
    """An error answer: the status and the body ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


Answer = tuple[int, Any]
Route = Callable[[dict[str, str], dict[str, str], Any], Answer]


class LeNewBlackApi:
    """The API's behaviour, without HTTP: one ``handle`` call per request, under one lock."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.state = LeNewBlackState()
        self.requests: list[RecordedRequest] = []
        self._validators = schema_validators()
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], str | None, Route]] = [
            ("GET", _path(r"customers/(?P<id>[^/]+)"), None, self._get_customer),
            ("PUT", _path(r"customers/(?P<id>[^/]+)"), "customer", self._put_customer),
            ("PATCH", _path(r"customers/(?P<id>[^/]+)"), "customer_patch", self._patch_customer),
            ("PUT", _path(r"products/(?P<sku>[^/]+)"), "product", self._put_product),
            ("GET", _path(r"price-lists"), None, self._get_price_lists),
            (
                "PUT",
                _path(r"price-lists/(?P<list>[^/]+)/prices/(?P<sku>[^/]+)"),
                "price",
                self._put_price,
            ),
            ("PUT", _path(r"stock/(?P<sku>[^/]+)"), "stock", self._put_stock),
            ("GET", _path(r"orders"), None, self._list_orders),
            ("GET", _path(r"orders/(?P<ref>[^/]+)"), None, self._get_order),
            ("POST", _path(r"orders/(?P<ref>[^/]+)/export"), "order_export", self._export_order),
        ]

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (before auth), then behave again."""
        with self._lock:
            self._failures.extend([status] * times)

    def handle(self, method: str, target: str, authorization: str | None, raw: bytes) -> Answer:
        """Answer one request: the status and the JSON body to send."""
        with self._lock:
            self.requests.append(RecordedRequest(method, target, _loads_or_none(raw)))
            try:
                return self._dispatch(method, target, authorization, raw)
            except ApiError as exc:
                return exc.status, {"error": {"code": exc.code, "message": exc.message}}

    def _dispatch(self, method: str, target: str, authorization: str | None, raw: bytes) -> Answer:
        if self._failures:
            status = self._failures.pop(0)
            raise ApiError(status, "SERVICE_UNAVAILABLE", "injected failure, try again")
        if authorization != f"Bearer {self.token}":
            raise ApiError(401, "UNAUTHORIZED", "missing or invalid bearer token")
        url = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        allowed = []
        for route_method, pattern, schema, route in self._routes:
            match = pattern.fullmatch(url.path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            body = self._body(schema, raw) if schema else None
            return route(params, query, body)
        if allowed:
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", f"{method} {url.path}: use {', '.join(allowed)}"
            )
        raise ApiError(404, "NOT_FOUND", f"no such endpoint: {url.path}")

    def _body(self, schema: str, raw: bytes) -> Any:
        """The parsed body, or INVALID_BODY naming the first schema violation and where it is."""
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "INVALID_BODY", f"body is not JSON: {exc}") from exc
        error = best_match(self._validators[f"{schema}.schema.json"].iter_errors(body))
        if error is not None:
            raise ApiError(400, "INVALID_BODY", f"{error.json_path}: {error.message}")
        return body

    # -- master data ------------------------------------------------------------------------

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

    # -- orders -----------------------------------------------------------------------------

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


class LeNewBlackServer(LocalServer):
    """The emulated API over HTTP on a free port of 127.0.0.1, with test and demo helpers.

    Args:
        conn_id: The Airflow connection id tests and the demo register it under.
        token: The bearer token it accepts; a random one by default.
    """

    def __init__(self, *, conn_id: str = "lenewblack_default", token: str | None = None) -> None:
        self.conn_id = conn_id
        self.api = LeNewBlackApi(token or secrets.token_urlsafe(24))
        self._http = _HTTPServer(("127.0.0.1", 0), _Handler, self.api)
        self.host = "127.0.0.1"
        self.port = int(self._http.server_address[1])
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="lenewblack-emulator",
            daemon=True,
        )

    @property
    def token(self) -> str:
        """The bearer token the server accepts."""
        return self.api.token

    @property
    def base_url(self) -> str:
        """The server root; the API lives under ``/api/v1``."""
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> LeNewBlackState:
        """Everything the server holds now."""
        return self.api.state

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        return list(self.api.requests)

    def start(self) -> LeNewBlackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def airflow_connection(self) -> str:
        """The connection as JSON for ``AIRFLOW_CONN_<ID>``; the token is the password."""
        connection = {
            "conn_type": "http",
            "host": self.host,
            "port": self.port,
            "schema": "http",
            "password": self.token,
        }
        return json.dumps(connection)

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status``, whatever they ask."""
        self.api.fail_next(status, times)

    def add_price_list(self, price_list_id: str, name: str, currency: str = "EUR") -> None:
        """Configure a price list, as the account manager does in Le New Black."""
        self.state.price_lists[price_list_id] = {
            "id": price_list_id,
            "name": name,
            "currency": currency,
        }

    def add_customer(
        self,
        customer_id: str,
        name: str,
        *,
        erp_reference: str | None = None,
        billing_address: Mapping[str, Any] | None = None,
        price_list_id: str | None = None,
        currency: str = "EUR",
    ) -> Versioned:
        """Create a customer in Le New Black itself (a sales rep's), with the reference given."""
        record = Versioned(
            {
                "id": customer_id,
                "name": name,
                "currency": currency,
                "price_list_id": price_list_id,
                "billing_address": dict(billing_address) if billing_address else None,
                "buyers": [],
                "erp_reference": erp_reference,
            },
            version=0,
        )
        self.state.customers[customer_id] = record
        return record

    def add_order(
        self,
        reference: str,
        *,
        customer_id: str,
        lines: Sequence[tuple[str, Decimal | str, Decimal | str]],
        status: str = "confirmed",
        currency: str = "EUR",
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        delivery_address: Mapping[str, Any] | None = None,
        remarks: str | None = None,
    ) -> StoredOrder:
        """Place an order for an existing customer; ``lines`` are (SKU, quantity, unit price).

        The delivery address defaults to the customer's name and billing address.
        """
        if customer_id not in self.state.customers:
            raise KeyError(f"add the customer {customer_id!r} before its orders")
        created = created_at or datetime.now(UTC)
        order = StoredOrder(
            reference=reference,
            customer_id=customer_id,
            status=status,
            created_at=created,
            updated_at=updated_at or created,
            currency=currency,
            lines=_order_lines(lines),
            delivery_address=(
                dict(delivery_address) if delivery_address else self._default_delivery(customer_id)
            ),
            remarks=remarks,
        )
        self.state.orders[reference] = order
        return order

    def change_order(
        self,
        reference: str,
        *,
        lines: Sequence[tuple[str, Decimal | str, Decimal | str]] | None = None,
        remarks: str | None = None,
        at: datetime | None = None,
    ) -> StoredOrder:
        """Change an order in Le New Black (e.g. after its export), moving its ``updated_at``."""
        order = self.state.orders[reference]
        if lines is not None:
            order.lines = _order_lines(lines)
        if remarks is not None:
            order.remarks = remarks
        order.updated_at = at or datetime.now(UTC)
        return order

    def order_json(self, reference: str) -> dict[str, Any]:
        """The order as ``GET /api/v1/orders/{reference}`` would answer now."""
        return self.api.render_order(self.state.orders[reference])

    def _default_delivery(self, customer_id: str) -> dict[str, Any] | None:
        customer = self.state.customers[customer_id].body
        address = customer.get("billing_address")
        return {"name": customer["name"], **address} if address else None

    def seed_demo(self) -> None:
        """Fill the portal as a Dutch fashion wholesaler's looks on a Monday morning.

        Two price lists (no OUTLET-EUR: prices for it must fail), two customers
        imported from IPSoft earlier, one a sales rep created at a trade fair
        without an IPSoft reference and one with a mistyped reference, and
        confirmed orders for each, plus a draft that must not be exported.
        """
        self.add_price_list("WHOLESALE-EUR", "Wholesale EUR")
        self.add_price_list("RETAIL-EUR", "Adviesverkoopprijzen EUR")
        for customer_id, name, reference, address in _DEMO_CUSTOMERS:
            self.add_customer(
                customer_id,
                name,
                erp_reference=reference,
                billing_address=address,
                price_list_id="WHOLESALE-EUR",
            )
        for reference, customer_id, status, created, lines, remarks in _DEMO_ORDERS:
            self.add_order(
                reference,
                customer_id=customer_id,
                lines=lines,
                status=status,
                created_at=created,
                remarks=remarks,
            )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: LeNewBlackApi
    ) -> None:
        super().__init__(address, handler)
        self.api = api


class _Handler(BaseHTTPRequestHandler):
    """HTTP in and out; every decision is the API object's."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, payload = self.server.api.handle(
            self.command, self.path, self.headers.get("Authorization"), raw
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _serve  # noqa: N815 (http.server's names)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and demo output quiet."""


def _path(pattern: str) -> re.Pattern[str]:
    return re.compile(f"{API_PREFIX}/{pattern}")


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


def _order_lines(lines: Sequence[tuple[str, Decimal | str, Decimal | str]]) -> list[dict[str, Any]]:
    return [
        {"line_number": number, "sku": sku, "quantity": str(quantity), "unit_price": str(price)}
        for number, (sku, quantity, price) in enumerate(lines, start=1)
    ]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _loads_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


def _address(street: str, number: str, postal_code: str, city: str) -> dict[str, Any]:
    return {
        "street": street,
        "house_number": number,
        "house_number_addition": None,
        "postal_code": postal_code,
        "city": city,
        "country": "NL",
    }


_DEMO_CUSTOMERS: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("C10023", "Boutique Lotte", "C10023", _address("Oudegracht", "112", "3511 AX", "Utrecht")),
    ("C10031", "Modehuis Van Dijk", "C10031", _address("Hoogstraat", "27", "3011 PJ", "Rotterdam")),
    ("LNB-4711", "Studio Noor", None, _address("Wilhelminastraat", "8", "2011 VM", "Haarlem")),
    ("LNB-4712", "Het Kledinghuis", "12345", _address("Lange Pijp", "3", "9711 DE", "Groningen")),
]

_DEMO_ORDERS: list[
    tuple[str, str, str, datetime, list[tuple[str, Decimal | str, Decimal | str]], str | None]
] = [
    (
        "LNB-100045",
        "C10023",
        "confirmed",
        datetime(2025, 3, 10, 8, 41, tzinfo=UTC),
        [("JL-DRESS-001-BLK-M", "4", "49.95"), ("JL-DRESS-001-BLK-L", "2", "49.95")],
        "Levering graag voor de voorjaarsetalage",
    ),
    (
        "LNB-100046",
        "LNB-4711",
        "confirmed",
        datetime(2025, 3, 10, 9, 5, tzinfo=UTC),
        [("JL-BLOUSE-014-WHT-S", "6", "34.50")],
        "Besteld op de Modefabriek",
    ),
    (
        "LNB-100047",
        "C10031",
        "confirmed",
        datetime(2025, 3, 10, 9, 30, tzinfo=UTC),
        [("JL-JEANS-077-IND-28", "5", "59.00"), ("JL-COAT-230-CAM-M", "2", "129.00")],
        None,
    ),
    (
        "LNB-100048",
        "LNB-4712",
        "confirmed",
        datetime(2025, 3, 10, 10, 12, tzinfo=UTC),
        [("JL-DRESS-001-BLK-M", "3", "49.95")],
        None,
    ),
    (
        "LNB-100049",
        "C10023",
        "draft",
        datetime(2025, 3, 10, 11, 0, tzinfo=UTC),
        [("JL-COAT-230-CAM-M", "1", "129.00")],
        "Nog niet definitief",
    ),
]
