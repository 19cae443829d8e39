"""Airflow's door to IPSoft's SOAP API: a zeep client from an Airflow connection.

The connection (type ``http``) holds the SOAP endpoint in its host field
(scheme, port and path included), the HTTP Basic user and password, and these
extras, read by :func:`parse_extras`: ``wsdl`` (a URL or a local path; default
``<endpoint>?wsdl``), ``timeout`` seconds per request (default 30), ``retries``
after the first attempt (default 3), ``retry_backoff`` seconds (default 1,
doubled per retry) and ``verify`` (TLS certificate check, default true).

Only transport failures are retried (refused connections, timeouts, HTTP 502,
503 and 504): a SOAP fault is IPSoft's considered answer and repeating the call
cannot change it. Retrying a timed-out CreateOrder is safe because IPSoft
creates at most one order per PortalOrderReference; the same holds for every
document :meth:`IPSoftHook.create_document` sends (quotes, invoices, direct
invoices, sales invoices, journal entries), each idempotent on its
SourceReference, and :meth:`IPSoftHook.document_number` recovers the number of
any of them after a lost answer. List responses are handed
back as the raw envelope bytes, exactly as received, because Koppel stores raw
payloads before parsing them with its own hardened parser and mappings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import requests
import zeep
import zeep.exceptions
from airflow.sdk import BaseHook, Connection
from lxml import etree
from zeep.helpers import serialize_object
from zeep.proxy import ServiceProxy
from zeep.transports import Transport

from koppel.config.document_types import DOCUMENT_TARGETS
from koppel.errors import ConfigError, FatalSyncError, TransportError
from koppel.formats.xml import XmlDocumentError, parse_xml

IPS_NS = "urn:koppel:ipsoft:erp:1"
_BINDING = f"{{{IPS_NS}}}IPSoftBinding"
_RETRIABLE_STATUS = frozenset({502, 503, 504})
_T = TypeVar("_T")

PagedOperation = Literal["ListCustomers", "ListProducts", "ListPrices", "ListStock"]

#: Seed 001's document types -> the IPSoft operation that creates one (the flows' table).
DOCUMENT_OPERATIONS: dict[str, str] = {
    kind: operation for kind, (operation, _) in DOCUMENT_TARGETS["ipsoft"].items()
}

#: Create operation -> (its request's document element, its answer's main number, its key).
_CREATES: dict[str, tuple[str, str, str]] = {
    "CreateOrder": ("Order", "OrderNumber", "PortalOrderReference"),
    "CreateQuote": ("Quote", "QuoteNumber", "SourceReference"),
    "CreateInvoice": ("Invoice", "InvoiceNumber", "SourceReference"),
    "CreateDirectInvoice": ("DirectInvoice", "InvoiceNumber", "SourceReference"),
    "CreateSalesInvoice": ("SalesInvoice", "InvoiceNumber", "SourceReference"),
    "CreateJournalEntry": ("JournalEntry", "EntryNumber", "SourceReference"),
}

#: FindProducts takes at most this many SKUs per call (ipsoft.xsd).
FIND_PRODUCTS_CHUNK = 500


class IPSoftFaultError(FatalSyncError):
    """IPSoft answered with a SOAP fault that repeating the call will not change.

    Attributes:
        operation: The SOAP operation called.
        code: IPSoft's ``ErrorCode`` (e.g. ``UNKNOWN_CUSTOMER``), or the faultcode without detail.
        fault_message: IPSoft's message.
    """

    def __init__(self, operation: str, code: str, fault_message: str) -> None:
        super().__init__(f"IPSoft {operation} fault {code}: {fault_message}")
        self.operation = operation
        self.code = code
        self.fault_message = fault_message


class IPSoftServerFaultError(TransportError):
    """A ``soap:Server`` fault (``INTERNAL_ERROR``): IPSoft's own trouble, worth a later try.

    It is a :class:`TransportError`, not an :class:`IPSoftFaultError`, because
    the pipeline marks a message whose delivery hit a transport error as
    failed-and-retried, and one that hit a fatal error as rejected: an order
    must not be rejected because IPSoft had a bad minute. The hook itself does
    not repeat it (the call may have been half done); the next run does.
    """

    def __init__(self, operation: str, code: str, fault_message: str) -> None:
        super().__init__(f"IPSoft {operation} server fault {code}: {fault_message}")
        self.operation = operation
        self.code = code
        self.fault_message = fault_message


@dataclass(frozen=True)
class IPSoftOptions:
    """The connection extras the hook understands, typed."""

    wsdl: str | None = None
    timeout: float = 30.0
    retries: int = 3
    retry_backoff: float = 1.0
    verify: bool = True


@dataclass(frozen=True)
class SoapPage:
    """One page of a list operation: its number, how many there are, and the raw response."""

    number: int
    total_pages: int
    envelope: bytes


@dataclass(frozen=True)
class CreateOrderResult:
    """IPSoft's answer to CreateOrder; ``created`` is false when the reference already existed."""

    order_number: str
    reference: str
    created: bool


@dataclass(frozen=True)
class CreatedDocument:
    """IPSoft's answer to any Create operation.

    Attributes:
        number: The main number IPSoft gave the document (order, quote,
            invoice or journal entry number).
        reference: The source reference the document is keyed by.
        created: False when the reference already had a document: nothing new was made.
        operation: The operation that was called, e.g. ``CreateInvoice``.
    """

    number: str
    reference: str
    created: bool
    operation: str


def parse_extras(extra: Mapping[str, Any]) -> IPSoftOptions:
    """Read the connection extras, which the Airflow UI and env URIs deliver as strings.

    Raises:
        ConfigError: a value is not of its type (e.g. ``timeout: "soon"``) or out of range.
    """
    try:
        options = IPSoftOptions(
            wsdl=str(extra["wsdl"]) if extra.get("wsdl") else None,
            timeout=float(extra.get("timeout", IPSoftOptions.timeout)),
            retries=int(extra.get("retries", IPSoftOptions.retries)),
            retry_backoff=float(extra.get("retry_backoff", IPSoftOptions.retry_backoff)),
            verify=_boolean(extra.get("verify", IPSoftOptions.verify)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"IPSoft connection extras are invalid: {exc}") from exc
    if options.timeout <= 0 or options.retries < 0 or options.retry_backoff < 0:
        raise ConfigError("IPSoft connection extras: timeout must be > 0, retries and backoff >= 0")
    return options


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def endpoint_url(conn: Connection) -> str:
    """The SOAP endpoint: the host field when it is a URL, else ``<schema>://host[:port]``.

    Raises:
        ConfigError: the connection has no host.
    """
    host = (conn.host or "").strip()
    if not host:
        raise ConfigError(f"connection {conn.conn_id!r}: the IPSoft endpoint (host) is missing")
    if "://" in host:
        return host
    port = f":{conn.port}" if conn.port else ""
    return f"{conn.schema or 'https'}://{host}{port}"


class _RecordingTransport(Transport):
    """zeep's transport, keeping the bytes of the last response exactly as received."""

    last_response: bytes = b""

    def post(self, address: str, message: Any, headers: Any) -> requests.Response:
        response: requests.Response = super().post(address, message, headers)  # type: ignore[no-untyped-call]
        self.last_response = response.content
        return response


def _transport(conn: Connection, options: IPSoftOptions) -> _RecordingTransport:
    """An HTTP Basic session with the connection's credentials and the timeouts of its extras."""
    session = requests.Session()
    session.auth = (conn.login or "", conn.password or "")
    session.verify = options.verify
    return _RecordingTransport(  # type: ignore[no-untyped-call]
        session=session, timeout=options.timeout, operation_timeout=options.timeout
    )


class IPSoftHook(BaseHook):
    """Call IPSoft's SOAP API through the Airflow connection ``ipsoft_conn_id``.

    Args:
        ipsoft_conn_id: The Airflow connection with the endpoint, user and password.
    """

    conn_name_attr = "ipsoft_conn_id"
    default_conn_name = "ipsoft_default"
    conn_type = "http"
    hook_name = "IPSoft (SOAP)"

    def __init__(self, ipsoft_conn_id: str = default_conn_name) -> None:
        """Remember the connection id; nothing is loaded until the client is asked for."""
        super().__init__()
        self.ipsoft_conn_id = ipsoft_conn_id
        self._client: zeep.Client | None = None
        self._service: ServiceProxy | None = None
        self._transport: _RecordingTransport | None = None
        self._endpoint = ""
        self._options = IPSoftOptions()

    def get_conn(self) -> zeep.Client:
        """Return the zeep client, built on first use from the connection and then reused."""
        if self._client is None:
            conn = self.get_connection(self.ipsoft_conn_id)
            self._options = parse_extras(conn.extra_dejson)
            self._endpoint = endpoint_url(conn)
            self._transport = _transport(conn, self._options)
            client = self._retrying("load WSDL", self._load_client)
            self._service = client.create_service(_BINDING, self._endpoint)  # type: ignore[no-untyped-call]
            self._client = client
        return self._client

    def _load_client(self) -> zeep.Client:
        """Load the WSDL with zeep's hardened settings (no DTDs, no entities)."""
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
        wsdl = self._wsdl_location()
        return zeep.Client(wsdl, transport=self._transport, settings=settings)  # type: ignore[no-untyped-call]

    def _wsdl_location(self) -> str:
        """The WSDL to load: the extra (URL or existing local path), else the endpoint's own."""
        wsdl = self._options.wsdl
        if wsdl is None:
            return f"{self._endpoint}?wsdl"
        if "://" not in wsdl and not Path(wsdl).is_file():
            raise ConfigError(
                f"connection {self.ipsoft_conn_id!r}: WSDL file {wsdl} does not exist"
            )
        return wsdl

    @property
    def service(self) -> ServiceProxy:
        """The operations, bound to the connection's endpoint whatever address the WSDL names."""
        self.get_conn()
        assert self._service is not None
        return self._service

    def list_pages(
        self,
        operation: PagedOperation,
        *,
        modified_since: datetime,
        modified_until: datetime | None,
        page_size: int = 200,
    ) -> Iterator[SoapPage]:
        """Every page of a list operation over [modified_since, modified_until), first to last.

        The first page is always yielded, even when nothing matched
        (``total_pages`` 0), so a caller can store what IPSoft said.
        """
        number = 1
        while True:
            arguments: dict[str, Any] = {
                "ModifiedSince": modified_since,
                "Page": number,
                "PageSize": page_size,
            }
            if modified_until is not None:
                arguments["ModifiedUntil"] = modified_until
            result = self._call(operation, **arguments)
            total = int(result.TotalPages)
            yield SoapPage(number=number, total_pages=total, envelope=self._last_response())
            if number >= total:
                return
            number += 1

    def price_lists(self) -> list[dict[str, str]]:
        """The price lists IPSoft knows, as ``{"id", "name", "currency"}``."""
        entries = self._call("ListPriceLists") or []  # zeep unwraps the single-child response
        return [
            {"id": entry.PriceListId, "name": entry.Name, "currency": entry.Currency}
            for entry in entries
        ]

    def create_order(self, request_xml: bytes) -> CreateOrderResult:
        """Send a ``<ips:CreateOrderRequest>`` (written and XSD-checked by Koppel) as CreateOrder.

        A call that timed out is repeated; IPSoft answers the repeat with the
        order the first call created (``created`` false) instead of a second one.

        Raises:
            FatalSyncError: ``request_xml`` is not a CreateOrderRequest.
            IPSoftFaultError: e.g. ``UNKNOWN_CUSTOMER``, ``UNKNOWN_SKU``, ``INVALID_REQUEST``.
            TransportError: IPSoft stayed unreachable through every retry.
        """
        root = self._request_root(request_xml, "CreateOrder")
        expected = f"{{{IPS_NS}}}CreateOrderRequest"
        if root.tag != expected:
            raise FatalSyncError(
                f"IPSoft CreateOrder request has root {root.tag}, expected {expected}"
            )
        result = self._create(root, "CreateOrder")
        return CreateOrderResult(
            order_number=result.number, reference=result.reference, created=result.created
        )

    def create_document(self, request_xml: bytes) -> CreatedDocument:
        """Send any ``<ips:Create…Request>`` Koppel wrote, as the operation its root names.

        One entry for every document type of seed 001 (CreateOrder too), so a
        flow hands over what its mapping wrote without knowing the operation.
        Every Create operation is idempotent on the document's source
        reference: a call that timed out is repeated and answered with the
        document the first call made (``created`` false).

        Raises:
            FatalSyncError: ``request_xml`` is not XML or not a Create request IPSoft has.
            IPSoftFaultError: e.g. ``UNKNOWN_CUSTOMER``, ``UNKNOWN_SKU``,
                ``ORDER_NOT_FOUND``, ``UNBALANCED_ENTRY``, ``UNKNOWN_ACCOUNT``.
            TransportError: IPSoft stayed unreachable through every retry.
        """
        root = self._request_root(request_xml, "Create")
        local = root.tag.removeprefix(f"{{{IPS_NS}}}")
        operation = local.removesuffix("Request")
        if local == root.tag or not local.endswith("Request") or operation not in _CREATES:
            known = ", ".join(f"{name}Request" for name in _CREATES)
            raise FatalSyncError(
                f"IPSoft request has root {root.tag}, expected one of {known} in namespace {IPS_NS}"
            )
        return self._create(root, operation)

    def _request_root(self, request_xml: bytes, operation: str) -> etree._Element:
        """The request's root element, read with Koppel's hardened parser."""
        try:
            return parse_xml(request_xml, source=f"{operation}Request").getroot()
        except XmlDocumentError as exc:
            raise FatalSyncError(f"IPSoft {operation} request is not XML: {exc}") from exc

    def _create(self, root: etree._Element, operation: str) -> CreatedDocument:
        """Parse ``root`` with zeep into the operation's document and send it."""
        element, number, reference = _CREATES[operation]
        client = self.get_conn()
        request = client.get_element(root.tag).parse(root, client.wsdl.types)  # type: ignore[no-untyped-call]
        result = self._call(operation, **{element: getattr(request, element)})
        return CreatedDocument(
            number=str(getattr(result, number)),
            reference=str(getattr(result, reference)),
            created=bool(result.Created),
            operation=operation,
        )

    def known_skus(self, skus: Iterable[str]) -> set[str]:
        """Which of ``skus`` IPSoft has articles for (FindProducts, in chunks of 500).

        What a flow checks before sending a quote, order or invoice, so an
        order with an article IPSoft lacks is refused in validation rather
        than by a fault (seed 001: "Als een product niet bestaat, gooien we
        een fout in het validatieproces"). No call at all for no SKUs.
        """
        wanted = list(dict.fromkeys(sku for sku in skus if sku and sku.strip()))
        known: set[str] = set()
        for start in range(0, len(wanted), FIND_PRODUCTS_CHUNK):
            chunk = wanted[start : start + FIND_PRODUCTS_CHUNK]
            found = self._call("FindProducts", Sku=chunk) or []  # zeep unwraps Products
            known.update(str(product.Sku) for product in found)
        return known

    def document_number(self, document_type: str, reference: str) -> str | None:
        """IPSoft's number for the document of ``document_type`` made for ``reference``.

        ``None`` when IPSoft has none (GetDocument's ``DOCUMENT_NOT_FOUND``):
        recovers a number whose recording was lost, for every type of
        :data:`DOCUMENT_OPERATIONS`.

        Raises:
            ValueError: ``document_type`` is not one of :data:`DOCUMENT_OPERATIONS`.
        """
        if document_type not in DOCUMENT_OPERATIONS:
            raise ValueError(
                f"unknown IPSoft document type {document_type!r}; "
                f"known: {sorted(DOCUMENT_OPERATIONS)}"
            )
        try:
            result = self._call(
                "GetDocument", DocumentType=document_type, SourceReference=reference
            )
        except IPSoftFaultError as exc:
            if exc.code == "DOCUMENT_NOT_FOUND":
                return None
            raise
        return str(result.DocumentNumber)

    def get_order(self, reference: str) -> dict[str, Any] | None:
        """The order IPSoft holds for a portal reference, or ``None`` when there is none."""
        try:
            order = self._call("GetOrder", PortalOrderReference=reference)
        except IPSoftFaultError as exc:
            if exc.code == "ORDER_NOT_FOUND":
                return None
            raise
        serialized: dict[str, Any] = serialize_object(order, target_cls=dict)  # type: ignore[no-untyped-call]
        return serialized

    def order_number(self, reference: str) -> str | None:
        """IPSoft's order number for a portal reference, or ``None`` when IPSoft has no such order.

        GetOrder is keyed by the portal reference CreateOrder was called with,
        so this recovers a number whose recording was lost (a crash right
        after the order was created).
        """
        order = self.get_order(reference)
        return None if order is None else str(order["OrderNumber"])

    def test_connection(self) -> tuple[bool, str]:
        """Check from the Airflow UI that IPSoft answers with these credentials."""
        try:
            self.price_lists()
        except (ConfigError, FatalSyncError, TransportError) as exc:
            return False, str(exc)
        return True, "Connection successfully tested"

    # -- calling

    def _call(self, operation: str, **arguments: Any) -> Any:
        method = getattr(self.service, operation)
        return self._retrying(operation, lambda: method(**arguments))

    def _last_response(self) -> bytes:
        assert self._transport is not None
        return self._transport.last_response

    def _retrying(self, operation: str, call: Callable[[], _T]) -> _T:
        """Run ``call``; repeat it on transport failures only, with doubling pauses."""
        attempts = self._options.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except zeep.exceptions.Fault as fault:
                raise _fault_error(operation, fault) from fault
            except (requests.RequestException, zeep.exceptions.TransportError) as exc:
                if not _retriable(exc) or attempt == attempts:
                    raise TransportError(
                        f"IPSoft {operation} at {self._endpoint} failed after {attempt} "
                        f"attempt(s): {type(exc).__name__}: {_status_or_reason(exc)}"
                    ) from exc
                pause = self._options.retry_backoff * 2 ** (attempt - 1)
                self.log.warning(
                    "IPSoft %s attempt %d/%d failed (%s); retrying in %.1f s",
                    operation, attempt, attempts, type(exc).__name__, pause,
                )  # fmt: skip
                time.sleep(pause)
        raise AssertionError("unreachable: the loop returns or raises")


def _retriable(exc: Exception) -> bool:
    """Connection failures, timeouts and gateway errors may pass; anything else will not."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    status = getattr(exc, "status_code", None)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
    return status in _RETRIABLE_STATUS


def _status_or_reason(exc: Exception) -> str:
    """A short reason that can name no URL or credential: the status, or what went wrong."""
    status = getattr(exc, "status_code", None)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
    if status is not None:
        return f"HTTP {status}"
    if isinstance(exc, requests.Timeout):
        return "no answer within the timeout"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    return str(exc)


def _fault_error(operation: str, fault: zeep.exceptions.Fault) -> FatalSyncError | TransportError:
    """Map a SOAP fault to Koppel's errors, reading IPSoft's ErrorCode from the detail."""
    code, message = (fault.code or "soap:Fault"), (fault.message or "")
    if fault.detail is not None:
        error = fault.detail.find(f"{{{IPS_NS}}}Error")
        if error is not None:
            code = error.findtext(f"{{{IPS_NS}}}ErrorCode") or code
            message = error.findtext(f"{{{IPS_NS}}}Message") or message
    if (fault.code or "").endswith("Server"):
        return IPSoftServerFaultError(operation, code, message)
    return IPSoftFaultError(operation, code, message)


__all__ = [
    "DOCUMENT_OPERATIONS",
    "FIND_PRODUCTS_CHUNK",
    "CreateOrderResult",
    "CreatedDocument",
    "IPSoftFaultError",
    "IPSoftHook",
    "IPSoftOptions",
    "IPSoftServerFaultError",
    "SoapPage",
    "endpoint_url",
    "parse_extras",
]
