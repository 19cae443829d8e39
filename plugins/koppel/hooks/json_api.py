"""The HTTP/JSON APIs Koppel talks to, through an Airflow HTTP connection: one hook base.

Le New Black, the webshop and the CRM (seeds 001 and 004) share their
conventions: a root under ``/api/v1``, the connection's password as a bearer
token, JSON bodies, ``{"error": {"code", "message"}}`` errors, and listings in
pages (``page``, ``page_size``, ``total_pages``). The HTTP provider's hook owns
the connection: base URL from host, port and schema, proxies, TLS
verification. This base adds what the three need: the token kept out of
extras (where the UI shows it) and out of every log line and error, JSON
bodies that Koppel has already written and validated, bounded retries of what
may succeed later (connection errors, timeouts, 5xx; never 4xx, which would
only repeat), and errors that name the request and the API's own error code.
A subclass names its system and adds its own resources.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, NamedTuple
from urllib.parse import quote

import requests
import tenacity
from airflow.providers.http.hooks.http import HttpHook

from koppel.errors import ConfigError, FatalSyncError, TransportError

API_PREFIX = "/api/v1"
#: (connect, read) seconds: a portal that accepts the connection but never answers is down.
DEFAULT_TIMEOUT = (10.0, 60.0)


class JsonApiError(FatalSyncError):
    """The API refused a request (4xx): sending it again unchanged gives the same answer."""

    system: ClassVar[str] = "The API"

    def __init__(self, method: str, path: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{self.system} {method} {path}: {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class PutResult(NamedTuple):
    """What a PUT did: the HTTP status, and whether it created the record (201) or replaced it."""

    status: int
    created: bool


class JsonPage(NamedTuple):
    """One page of a listing: its number (from 1), the page count, and the raw response bytes."""

    number: int
    total_pages: int
    body: bytes


def api_path(*segments: str) -> str:
    """The API path of ``segments``, each percent-encoded: ``api_path("stock", sku)``."""
    return "/".join([API_PREFIX, *(quote(segment, safe="") for segment in segments)])


class _BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <token>``; its repr never shows the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<hidden>)"


class _ServerError(Exception):
    """A 5xx answer, raised only so tenacity retries it."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class JsonApiHook(HttpHook):
    """An HTTP/JSON API on an Airflow HTTP connection whose password is the API token.

    The connection's host (and port and schema) point at the API's root; login stays empty.

    Args:
        conn_id: The Airflow connection id.
        timeout: Seconds to connect and to read, per attempt.
        attempts: How many times a request is tried when it fails transiently.
        retry_wait_seconds: The first wait between attempts; it doubles each time, up to 30 s.
    """

    conn_type = "http"
    #: The system's name in errors and log lines.
    system: ClassVar[str] = "The API"
    #: The error a refused request raises: the subclass's, so callers can catch one system.
    error_class: ClassVar[type[JsonApiError]] = JsonApiError

    def __init__(
        self,
        conn_id: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        attempts: int = 3,
        retry_wait_seconds: float = 1.0,
    ) -> None:
        super().__init__(method="GET", http_conn_id=conn_id)
        self.api_conn_id = conn_id
        self.timeout = timeout
        self.attempts = attempts
        self.retry_wait_seconds = retry_wait_seconds
        self._session: requests.Session | None = None

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """The provider's session for the connection, authenticated with the bearer token."""
        session = super().get_conn(headers, extra_options)
        token = self.get_connection(self.api_conn_id).password
        if not token:
            raise ConfigError(
                f"{self.system} connection {self.api_conn_id!r} has no password (the API token)"
            )
        session.auth = _BearerAuth(token)
        session.headers["Accept"] = "application/json"
        return session

    def put(self, path: str, body: bytes) -> PutResult:
        """PUT a JSON body Koppel wrote and validated; tell a created record from a replaced one.

        Args:
            path: The API path, e.g. ``/api/v1/stock/JL-DRESS-001-BLK-M`` (see :func:`api_path`);
                a path without the ``/api/v1`` prefix is taken to be under it.
            body: The JSON document, as bytes.
        """
        response = self._request("PUT", path, body=body)
        return PutResult(response.status_code, response.status_code == 201)

    def get_bytes(self, path: str) -> bytes:
        """GET ``path`` and return the body exactly as received, for Koppel to store first."""
        return self._request("GET", path).content

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (with query ``params``) and return the parsed JSON."""
        return self._json("GET", path, self._request("GET", path, params=params))

    def list_pages(
        self, collection: str, params: Mapping[str, Any], *, page_size: int = 100
    ) -> Iterator[JsonPage]:
        """Every page of a listing of ``collection`` with query ``params``, one by one.

        Each page's raw bytes come back as received, for Koppel to store before
        parsing. Pages are fetched lazily: a caller that changes records while
        iterating a filter shifts the pages after the current one, so store
        every page before acting on any record.
        """
        path, number, total = api_path(collection), 1, 1
        while number <= total:
            query = {**params, "page_size": page_size, "page": number}
            response = self._request("GET", path, params=query)
            total = int(self._json("GET", path, response)["total_pages"])
            yield JsonPage(number, total, response.content)
            number += 1

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        """Send one request, retrying transient failures; raise unless the answer is 2xx/3xx."""
        path = path if path.startswith(API_PREFIX + "/") else f"{API_PREFIX}/{path.lstrip('/')}"
        session = self._connected()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = requests.Request(
            method, self.url_from_endpoint(path), data=body, params=params, headers=headers
        )
        prepared = session.prepare_request(request)
        options = {**self.merged_extra, "timeout": self.timeout, "check_response": False}
        try:
            response = self._retrying()(self._send, session, prepared, options)
        except _ServerError as exc:
            failed = exc.response
            raise TransportError(
                f"{self.system} {method} {prepared.url}: {failed.status_code} "
                f"{_error_text(failed)} after {self.attempts} attempt(s)"
            ) from exc
        except requests.RequestException as exc:
            raise TransportError(
                f"{self.system} {method} {prepared.url}: unreachable after "
                f"{self.attempts} attempt(s): {type(exc).__name__}"
            ) from exc
        if response.status_code >= 400:
            code, message = _error_parts(response)
            raise self.error_class(method, path, response.status_code, code, message)
        return response

    def _send(
        self, session: requests.Session, prepared: requests.PreparedRequest, options: dict[str, Any]
    ) -> requests.Response:
        response: requests.Response = self.run_and_check(session, prepared, options)
        if response.status_code >= 500:
            raise _ServerError(response)
        return response

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential(multiplier=self.retry_wait_seconds, max=30),
            retry=tenacity.retry_if_exception_type(
                (_ServerError, requests.ConnectionError, requests.Timeout)
            ),
            reraise=True,
        )

    def _connected(self) -> requests.Session:
        """One session per hook, opened on first use (the connection is read once)."""
        if self._session is None:
            from airflow.sdk.exceptions import AirflowNotFoundException

            try:
                self._session = self.get_conn(extra_options={"timeout": self.timeout})
            except (AirflowNotFoundException, ValueError) as exc:
                raise ConfigError(
                    f"{self.system} connection {self.api_conn_id!r} is missing or invalid: {exc}"
                ) from exc
        return self._session

    @classmethod
    def _json(cls, method: str, path: str, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise cls.error_class(
                method, path, response.status_code, "INVALID_RESPONSE", f"not JSON: {exc}"
            ) from exc


def _error_parts(response: requests.Response) -> tuple[str, str]:
    """The API's error code and message, or the HTTP reason when the body is not its shape."""
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return "HTTP_ERROR", response.reason or response.text[:200]


def _error_text(response: requests.Response) -> str:
    code, message = _error_parts(response)
    return f"{code}: {message}"
