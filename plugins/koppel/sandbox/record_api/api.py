"""The record APIs' behaviour without HTTP: auth, listing, one record, export marks.

A webshop and a CRM differ in their records, not in how Koppel talks to
them: the same paging, filters, export marks and error answers as Le New
Black's conventions, so one hook base serves all three. This module is that
behaviour once; the per-system packages only name their collections.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft202012Validator

from koppel.config.document_types import DOCUMENT_TYPES
from koppel.sandbox.json_http import Answer, ApiError
from koppel.sandbox.lenewblack.routing import API_PREFIX
from koppel.sandbox.record_api.contract import request_body
from koppel.sandbox.record_api.state import RecordedRequest, RecordState, StoredRecord

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
#: The schema every ``POST .../exports`` body must match, in the contract directory.
EXPORT_SCHEMA = "export.schema.json"

_PATH = re.compile(
    rf"{re.escape(API_PREFIX)}/(?P<collection>[a-z_]+)"
    r"(?:/(?P<reference>[^/]+)(?P<exports>/exports)?)?"
)


@dataclass(frozen=True)
class Collection:
    """One collection of an API: its name in the path, its statuses, its not-found code."""

    name: str
    statuses: tuple[str, ...]
    not_found_code: str


class RecordApi:
    """One ``handle`` call per request, under the state's lock; ``fail_next`` injects failures."""

    def __init__(
        self,
        token: str,
        state: RecordState,
        collections: Sequence[Collection],
        validators: dict[str, Draft202012Validator],
    ) -> None:
        self.token = token
        self.state = state
        self.collections = {collection.name: collection for collection in collections}
        self.requests: list[RecordedRequest] = []
        self._export_validator = validators[EXPORT_SCHEMA]
        self._failures: list[int] = []
        self._failures_lock = threading.Lock()

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (before auth), then behave again."""
        with self._failures_lock:
            self._failures.extend([status] * count)

    def handle(self, method: str, target: str, authorization: str | None, raw: bytes) -> Answer:
        """Answer one request: the status and the JSON body to send."""
        with self.state.lock:
            self.requests.append(RecordedRequest(method, target, _loads_or_none(raw)))
            try:
                return self._dispatch(method, target, authorization, raw)
            except ApiError as exc:
                return exc.status, {"error": {"code": exc.code, "message": exc.message}}

    def _dispatch(self, method: str, target: str, authorization: str | None, raw: bytes) -> Answer:
        with self._failures_lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            raise ApiError(failure, "SERVICE_UNAVAILABLE", "injected failure, try again")
        if authorization != f"Bearer {self.token}":
            raise ApiError(401, "UNAUTHORIZED", "missing or invalid bearer token")
        url = urlsplit(target)
        match = _PATH.fullmatch(url.path)
        collection = self.collections.get(match["collection"]) if match else None
        if match is None or collection is None:
            raise ApiError(404, "NOT_FOUND", f"no such endpoint: {url.path}")
        reference = unquote(match["reference"]) if match["reference"] else None
        expected = "POST" if match["exports"] else "GET"
        if method != expected:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} {url.path}: use {expected}")
        if reference is None:
            return self._list(collection, parse_qs(url.query))
        record = self._record(collection, reference)
        if not match["exports"]:
            return 200, record.render()
        return self._mark_exported(record, request_body(self._export_validator, raw))

    def _list(self, collection: Collection, raw_query: dict[str, list[str]]) -> Answer:
        query = {key: values[-1] for key, values in raw_query.items()}
        statuses = _choices(query, "status", collection.statuses)
        not_exported_as = _choice(query, "not_exported_as", DOCUMENT_TYPES)
        since = _query_datetime(query, "updated_since")
        page = _query_int(query, "page", 1, 1, None)
        page_size = _query_int(query, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        selected = sorted(
            (
                record
                for record in self.state.collections[collection.name].values()
                if (statuses is None or record.status in statuses)
                and (not_exported_as is None or not_exported_as not in record.exports)
                and (since is None or record.updated_at >= since)
            ),
            key=lambda record: (record.updated_at, record.reference),
        )
        chunk = selected[(page - 1) * page_size : page * page_size]
        return 200, {
            "page": page,
            "page_size": page_size,
            "total_pages": ceil(len(selected) / page_size),
            "total_count": len(selected),
            collection.name: [record.summary() for record in chunk],
        }

    def _record(self, collection: Collection, reference: str) -> StoredRecord:
        record = self.state.collections[collection.name].get(reference)
        if record is None:
            raise ApiError(
                404,
                collection.not_found_code,
                f"no {collection.name.removesuffix('s')} {reference!r}",
            )
        return record

    @staticmethod
    def _mark_exported(record: StoredRecord, body: dict[str, str]) -> Answer:
        """Remember the ERP's number for one document type; the same pair again changes nothing.

        Neither the status nor ``updated_at`` moves: a mark is Koppel's note,
        not a change a user made, so it must not make the record look new.
        """
        document_type, number = body["document_type"], body["erp_document_number"]
        known = record.exports.get(document_type)
        if known is not None and known != number:
            raise ApiError(
                409,
                "EXPORT_CONFLICT",
                f"{record.reference} was exported as {document_type} {known}, not {number}",
            )
        record.exports[document_type] = number
        return 200, {"reference": record.reference, "exports": dict(record.exports)}


def _choice(query: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be one of {', '.join(allowed)}")
    return value


def _choices(query: dict[str, str], name: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    """One value or several, comma-separated (``status=shipped,refunded``); None when not given."""
    value = query.get(name)
    if value is None:
        return None
    chosen = frozenset(v.strip() for v in value.split(","))
    if not chosen <= set(allowed):
        raise ApiError(
            400, "INVALID_REQUEST", f"{name} must be one or more of {', '.join(allowed)}"
        )
    return chosen


def _query_int(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be an integer {bounds}: {value!r}")
    return int(value)


def _query_datetime(query: dict[str, str], name: str) -> datetime | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(400, "INVALID_REQUEST", f"{name} is not ISO 8601: {value!r}") from exc
    if moment.tzinfo is None:
        raise ApiError(400, "INVALID_REQUEST", f"{name} needs a UTC offset: {value!r}")
    return moment


def _loads_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")
