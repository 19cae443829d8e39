"""The API's behaviour without HTTP: authenticate, route, validate, answer.

Kept free of sockets so the rules can be read in one place and so the HTTP
handler stays a thin pipe; ``fail_next`` makes the next answers fail to
exercise a client's retries.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from koppel.sandbox.json_http import Answer, ApiError
from koppel.sandbox.lenewblack.contract import schema_validators, validated_body
from koppel.sandbox.lenewblack.master_data import MasterData
from koppel.sandbox.lenewblack.orders import Orders
from koppel.sandbox.lenewblack.routing import RouteSpec
from koppel.sandbox.lenewblack.state import LeNewBlackState, RecordedRequest, StoredOrder


class LeNewBlackApi:
    """The API's behaviour, without HTTP: one ``handle`` call per request, under one lock."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.state = LeNewBlackState()
        self.requests: list[RecordedRequest] = []
        self._validators = schema_validators()
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._orders = Orders(self.state)
        self._routes: list[RouteSpec] = [*MasterData(self.state).routes(), *self._orders.routes()]

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

    def render_order(self, order: StoredOrder) -> dict[str, Any]:
        """The order's JSON, with the customer's name and reference as they are now."""
        return self._orders.render_order(order)

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
            validator = self._validators[f"{schema}.schema.json"] if schema else None
            body = validated_body(validator, raw) if validator is not None else None
            return route(params, query, body)
        if allowed:
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", f"{method} {url.path}: use {', '.join(allowed)}"
            )
        raise ApiError(404, "NOT_FOUND", f"no such endpoint: {url.path}")


def _loads_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")
