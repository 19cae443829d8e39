"""A stateful IPSoft SOAP service on 127.0.0.1 for tests and the demo.

IPSoft's real WSDL is not public, so the project's own contract
(``include/schemas/ipsoft/``) is served as a static file and a small lxml WSGI
handler answers it: a hand-written handler keeps the emulator exactly on the
contract, where a SOAP framework would generate its own idea of it. Requests
are parsed with Koppel's hardened parser and validated against ``ipsoft.xsd``
as the real service refuses a malformed one; every answer is validated too, so
the emulator cannot drift from the schema the flows are built on.

Test knobs: :meth:`IPSoftServer.fail_next` answers the next call with a fault,
:meth:`IPSoftServer.delay_next` processes a call but answers late (to provoke a
client timeout after the order was created), and :attr:`IPSoftServer.calls`
lists what was received.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from socketserver import ThreadingMixIn
from typing import Any, TypeVar
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lxml import etree

from koppel import INCLUDE_DIR
from koppel.formats.schema import load_schema, validate
from koppel.formats.xml import XmlDocumentError, parse_xml
from koppel.sandbox.lifecycle import LocalServer

IPS_NS = "urn:koppel:ipsoft:erp:1"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SCHEMA_DIR = INCLUDE_DIR / "schemas" / "ipsoft"
#: A customer number no IPSoft state holds: what a portal customer with a stale reference has.
UNKNOWN_CUSTOMER_NUMBER = "C99999"

_MAX_REQUEST_BYTES = 5 * 1024 * 1024
#: How often the serving loop checks for shutdown: stop() waits at most this long.
_POLL_SECONDS = 0.05
_WSDL_PATHS = frozenset({"/ipsoft", "/ipsoft/"})
_XSD_PATHS = frozenset({"/ipsoft.xsd", "/ipsoft/ipsoft.xsd"})


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Address:
    """A billing or delivery address; ``name`` only on delivery addresses."""

    street: str
    house_number: str
    postal_code: str
    city: str
    country_code: str
    house_number_addition: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Buyer:
    """A person ordering for a customer."""

    name: str
    email: str
    phone: str | None = None


@dataclass(frozen=True)
class Customer:
    """A customer, keyed by IPSoft's customer number."""

    number: str
    name: str
    currency: str
    billing_address: Address
    buyers: tuple[Buyer, ...] = ()
    vat_number: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    price_list_id: str | None = None
    modified_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.number


@dataclass(frozen=True)
class Product:
    """An article, keyed by IPSoft's internal article id (SKU and EAN13 may be missing)."""

    article_id: str
    name: str
    sku: str | None = None
    ean13: str | None = None
    description: str | None = None
    category: str | None = None
    colour: str | None = None
    size: str | None = None
    composition: str | None = None
    season: str | None = None
    brand: str | None = None
    active: bool = True
    modified_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.article_id


@dataclass(frozen=True)
class PriceList:
    """A price list; not paged and carries no modification time."""

    id: str
    name: str
    currency: str

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class Price:
    """A price of one SKU in one list from a minimum quantity on."""

    price_list_id: str
    sku: str
    currency: str
    amount: Decimal
    min_quantity: Decimal = Decimal(1)
    valid_from: date | None = None
    modified_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, Decimal]:
        return (self.price_list_id, self.sku, self.min_quantity)


@dataclass(frozen=True)
class StockItem:
    """Available-to-sell quantity of a SKU in a warehouse."""

    sku: str
    available: Decimal
    warehouse: str | None = None
    modified_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.warehouse or "")


@dataclass(frozen=True)
class OrderLine:
    """One line of a created order."""

    line_number: int
    sku: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class Order:
    """An order created through CreateOrder, keyed by the portal's reference."""

    order_number: str
    reference: str
    customer_number: str
    order_date: date
    currency: str
    delivery_address: Address
    lines: tuple[OrderLine, ...]
    remarks: str | None
    created_at: datetime


Record = Customer | Product | Price | StockItem
_R = TypeVar("_R", Customer, Product, Price, StockItem)


# --------------------------------------------------------------------------- state


@dataclass
class IPSoftState:
    """What the emulated IPSoft company holds; every change stamps ``modified_at``."""

    customers: dict[str, Customer] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    price_lists: dict[str, PriceList] = field(default_factory=dict)
    prices: dict[tuple[str, str, Decimal], Price] = field(default_factory=dict)
    stock: dict[tuple[str, str], StockItem] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def put(self, record: _R, at: datetime | None = None) -> _R:
        """Add or replace ``record``; ``modified_at`` becomes ``at``, its own, or now."""
        stamped = replace(record, modified_at=_utc(at or record.modified_at or _now()))
        with self.lock:
            self._table(stamped)[stamped.key] = stamped
        return stamped

    def modify(self, record: _R, at: datetime | None = None, **changes: Any) -> _R:
        """Change fields of a stored record, as a user editing it in IPSoft at ``at`` (or now)."""
        return self.put(replace(record, **changes), at=at or _now())

    def add_price_list(self, price_list: PriceList) -> PriceList:
        """Add or replace a price list."""
        with self.lock:
            self.price_lists[price_list.id] = price_list
        return price_list

    def window(self, kind: str, since: datetime, until: datetime | None) -> list[Record]:
        """Records of ``kind`` modified in [since, until), ordered by (modified_at, key)."""
        with self.lock:
            records: list[Record] = list(self._tables()[kind].values())
        selected = [
            r
            for r in records
            if r.modified_at is not None
            and since <= r.modified_at
            and (until is None or r.modified_at < until)
        ]
        return sorted(selected, key=lambda r: (r.modified_at, str(r.key)))

    def sku_exists(self, sku: str) -> bool:
        """Whether any article carries this SKU."""
        with self.lock:
            return any(p.sku == sku for p in self.products.values())

    def _tables(self) -> dict[str, dict[Any, Any]]:
        return {
            "customers": self.customers,
            "products": self.products,
            "prices": self.prices,
            "stock": self.stock,
        }

    def _table(self, record: Record) -> dict[Any, Any]:
        kinds: dict[type, str] = {
            Customer: "customers",
            Product: "products",
            Price: "prices",
            StockItem: "stock",
        }
        return self._tables()[kinds[type(record)]]


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    """Naive times are read as UTC, so comparisons never mix naive and aware values."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --------------------------------------------------------------------------- XML helpers


def _q(name: str) -> str:
    return f"{{{IPS_NS}}}{name}"


def _add(parent: etree._Element, name: str, value: object) -> etree._Element | None:
    """Append ``<ips:name>value</ips:name>``; ``None`` values are left out (optional elements)."""
    if value is None:
        return None
    child = etree.SubElement(parent, _q(name))
    child.text = _xml_text(value)
    return child


def _xml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _text(element: etree._Element, name: str) -> str | None:
    child = element.find(_q(name))
    return None if child is None else (child.text or "")


def _required(element: etree._Element, name: str) -> str:
    value = _text(element, name)
    if value is None:  # the XSD was checked first; this only guards the handler's assumptions
        raise _FaultError("INVALID_REQUEST", f"{name} is missing")
    return value.strip()


def _address(parent: etree._Element, name: str, address: Address) -> None:
    element = etree.SubElement(parent, _q(name))
    _add(element, "Name", address.name)
    _add(element, "Street", address.street)
    _add(element, "HouseNumber", address.house_number)
    _add(element, "HouseNumberAddition", address.house_number_addition)
    _add(element, "PostalCode", address.postal_code)
    _add(element, "City", address.city)
    _add(element, "CountryCode", address.country_code)


def _customer_xml(parent: etree._Element, c: Customer) -> None:
    element = etree.SubElement(parent, _q("Customer"))
    for name, value in (
        ("CustomerNumber", c.number),
        ("Name", c.name),
        ("VatNumber", c.vat_number),
        ("Email", c.email),
        ("Phone", c.phone),
        ("Language", c.language),
        ("Currency", c.currency),
        ("PriceListId", c.price_list_id),
    ):
        _add(element, name, value)
    _address(element, "BillingAddress", c.billing_address)
    buyers = etree.SubElement(element, _q("Buyers"))
    for buyer in c.buyers:
        entry = etree.SubElement(buyers, _q("Buyer"))
        _add(entry, "Name", buyer.name)
        _add(entry, "Email", buyer.email)
        _add(entry, "Phone", buyer.phone)
    _add(element, "ModifiedAt", c.modified_at)


def _product_xml(parent: etree._Element, p: Product) -> None:
    element = etree.SubElement(parent, _q("Product"))
    for name, value in (
        ("Sku", p.sku),
        ("Ean13", p.ean13),
        ("Name", p.name),
        ("Description", p.description),
        ("Category", p.category),
        ("Colour", p.colour),
        ("Size", p.size),
        ("Composition", p.composition),
        ("Season", p.season),
        ("Brand", p.brand),
        ("Active", p.active),
        ("ModifiedAt", p.modified_at),
    ):
        _add(element, name, value)


def _price_xml(parent: etree._Element, p: Price) -> None:
    element = etree.SubElement(parent, _q("Price"))
    for name, value in (
        ("PriceListId", p.price_list_id),
        ("Sku", p.sku),
        ("Currency", p.currency),
        ("Amount", p.amount),
        ("MinQuantity", p.min_quantity),
        ("ValidFrom", p.valid_from),
        ("ModifiedAt", p.modified_at),
    ):
        _add(element, name, value)


def _stock_xml(parent: etree._Element, s: StockItem) -> None:
    element = etree.SubElement(parent, _q("StockItem"))
    for name, value in (
        ("Sku", s.sku),
        ("AvailableToSell", s.available),
        ("Warehouse", s.warehouse),
        ("ModifiedAt", s.modified_at),
    ):
        _add(element, name, value)


def _order_xml(parent: etree._Element, o: Order) -> None:
    element = etree.SubElement(parent, _q("Order"))
    for name, value in (
        ("PortalOrderReference", o.reference),
        ("CustomerNumber", o.customer_number),
        ("OrderDate", o.order_date),
        ("Currency", o.currency),
    ):
        _add(element, name, value)
    _address(element, "DeliveryAddress", o.delivery_address)
    lines = etree.SubElement(element, _q("Lines"))
    for line in o.lines:
        entry = etree.SubElement(lines, _q("Line"))
        _add(entry, "LineNumber", line.line_number)
        _add(entry, "Sku", line.sku)
        _add(entry, "Quantity", line.quantity)
        _add(entry, "UnitPrice", line.unit_price)
    _add(element, "Remarks", o.remarks)
    _add(element, "OrderNumber", o.order_number)


#: Paged operation -> (state table, items wrapper element, item writer).
_PAGED: dict[str, tuple[str, str, Callable[[etree._Element, Any], None]]] = {
    "ListCustomers": ("customers", "Customers", _customer_xml),
    "ListProducts": ("products", "Products", _product_xml),
    "ListPrices": ("prices", "Prices", _price_xml),
    "ListStock": ("stock", "StockItems", _stock_xml),
}


# --------------------------------------------------------------------------- faults


class _FaultError(Exception):
    """A SOAP fault to answer: an IPSoft error code, a message, and whose fault it is."""

    def __init__(self, code: str, message: str, *, server: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.server = server


def _envelope(payload: etree._Element) -> bytes:
    envelope = etree.Element(
        f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soap": SOAP_ENV_NS, "ips": IPS_NS}
    )
    etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body").append(payload)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def _fault_envelope(fault: _FaultError) -> bytes:
    element = etree.Element(f"{{{SOAP_ENV_NS}}}Fault", nsmap={"soap": SOAP_ENV_NS})
    etree.SubElement(element, "faultcode").text = "soap:Server" if fault.server else "soap:Client"
    etree.SubElement(element, "faultstring").text = fault.message
    error = etree.SubElement(
        etree.SubElement(element, "detail"), _q("Error"), nsmap={"ips": IPS_NS}
    )
    _add(error, "ErrorCode", fault.code)
    _add(error, "Message", fault.message)
    return _envelope(element)


# --------------------------------------------------------------------------- the service


class IPSoftService:
    """The SOAP operations over one :class:`IPSoftState`, free of HTTP."""

    def __init__(self, state: IPSoftState) -> None:
        self.state = state
        self._order_counter = 0

    def handle(self, operation: str, request: etree._Element) -> etree._Element:
        """Answer one validated request element with its response element."""
        if operation in _PAGED:
            return self._list_page(operation, request)
        handlers: dict[str, Callable[[etree._Element], etree._Element]] = {
            "ListPriceLists": self._price_lists,
            "CreateOrder": self._create_order,
            "GetOrder": self._get_order,
        }
        return handlers[operation](request)

    def _list_page(self, operation: str, request: etree._Element) -> etree._Element:
        kind, wrapper, write = _PAGED[operation]
        since = _utc(datetime.fromisoformat(_required(request, "ModifiedSince")))
        until_text = _text(request, "ModifiedUntil")
        until = _utc(datetime.fromisoformat(until_text.strip())) if until_text else None
        page, size = int(_required(request, "Page")), int(_required(request, "PageSize"))
        records = self.state.window(kind, since, until)
        response = etree.Element(_q(f"{operation}Response"), nsmap={"ips": IPS_NS})
        for name, value in (
            ("Page", page),
            ("PageSize", size),
            ("TotalPages", math.ceil(len(records) / size)),
            ("TotalCount", len(records)),
        ):
            _add(response, name, value)
        items = etree.SubElement(response, _q(wrapper))
        for record in records[(page - 1) * size : page * size]:
            write(items, record)
        return response

    def _price_lists(self, request: etree._Element) -> etree._Element:
        response = etree.Element(_q("ListPriceListsResponse"), nsmap={"ips": IPS_NS})
        lists = etree.SubElement(response, _q("PriceLists"))
        with self.state.lock:
            price_lists = sorted(self.state.price_lists.values(), key=lambda p: p.id)
        for price_list in price_lists:
            entry = etree.SubElement(lists, _q("PriceList"))
            _add(entry, "PriceListId", price_list.id)
            _add(entry, "Name", price_list.name)
            _add(entry, "Currency", price_list.currency)
        return response

    def _create_order(self, request: etree._Element) -> etree._Element:
        order_element = request.find(_q("Order"))
        assert order_element is not None
        with self.state.lock:
            reference = _required(order_element, "PortalOrderReference")
            existing = self.state.orders.get(reference)
            created = existing is None
            order = existing or self._new_order(order_element)
            if created:
                self.state.orders[reference] = order
        response = etree.Element(_q("CreateOrderResponse"), nsmap={"ips": IPS_NS})
        _add(response, "OrderNumber", order.order_number)
        _add(response, "PortalOrderReference", order.reference)
        _add(response, "Created", created)
        return response

    def _new_order(self, element: etree._Element) -> Order:
        """Read and check an order; unknown customers and SKUs are refused, as IPSoft does."""
        customer = _required(element, "CustomerNumber")
        if customer not in self.state.customers:
            raise _FaultError("UNKNOWN_CUSTOMER", f"customer {customer} does not exist")
        lines = tuple(_order_line(line) for line in element.iter(_q("Line")))
        for line in lines:
            if not self.state.sku_exists(line.sku):
                raise _FaultError(
                    "UNKNOWN_SKU", f"line {line.line_number}: SKU {line.sku} does not exist"
                )
        self._order_counter += 1
        now = _now()
        delivery = element.find(_q("DeliveryAddress"))
        assert delivery is not None
        return Order(
            order_number=f"SO-{now.year}-{self._order_counter:05d}",
            reference=_required(element, "PortalOrderReference"),
            customer_number=customer,
            order_date=date.fromisoformat(_required(element, "OrderDate")),
            currency=_required(element, "Currency"),
            delivery_address=_read_address(delivery),
            lines=lines,
            remarks=_text(element, "Remarks"),
            created_at=now,
        )

    def _get_order(self, request: etree._Element) -> etree._Element:
        reference = _required(request, "PortalOrderReference")
        with self.state.lock:
            order = self.state.orders.get(reference)
        if order is None:
            raise _FaultError("ORDER_NOT_FOUND", f"no order with portal reference {reference}")
        response = etree.Element(_q("GetOrderResponse"), nsmap={"ips": IPS_NS})
        _order_xml(response, order)
        return response


def _order_line(element: etree._Element) -> OrderLine:
    return OrderLine(
        line_number=int(_required(element, "LineNumber")),
        sku=_required(element, "Sku"),
        quantity=Decimal(_required(element, "Quantity")),
        unit_price=Decimal(_required(element, "UnitPrice")),
    )


def _read_address(element: etree._Element) -> Address:
    return Address(
        name=_text(element, "Name"),
        street=_required(element, "Street"),
        house_number=_required(element, "HouseNumber"),
        house_number_addition=_text(element, "HouseNumberAddition"),
        postal_code=_required(element, "PostalCode"),
        city=_required(element, "City"),
        country_code=_required(element, "CountryCode"),
    )


def _check(element: etree._Element, schema: etree.XMLSchema, operation: str) -> list[str]:
    """Validate one element (a request or response, out of its envelope) against the XSD."""
    problems = validate(etree.ElementTree(copy.deepcopy(element)), schema, source=operation)
    return [f"{problem.field or ''} {problem.message}".strip() for problem in problems]


def _request_args(request: etree._Element) -> dict[str, str]:
    """The request's leaf values by local name (first occurrence wins), for the call log."""
    args: dict[str, str] = {}
    for element in request.iterdescendants():
        if len(element) == 0 and isinstance(element.tag, str):
            args.setdefault(etree.QName(element).localname, (element.text or "").strip())
    return args


# --------------------------------------------------------------------------- HTTP


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request, so a delayed answer never blocks the next call."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: tests assert on :attr:`IPSoftServer.calls` instead."""

    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class _Knobs:
    """Pending test knobs; each applies once."""

    fault: _FaultError | None = None
    delays: dict[str, float] = field(default_factory=dict)


class IPSoftServer(LocalServer):
    """The emulated IPSoft SOAP endpoint; use as a context manager.

    Attributes:
        state: The company's records; tests add and modify them directly.
        username: The only HTTP Basic user accepted.
        password: That user's password.
        conn_id: The Airflow connection id this server is meant to back.
        calls: Every SOAP call received with valid credentials, valid or not against the
            XSD, as (operation, leaf values).
    """

    def __init__(
        self,
        state: IPSoftState | None = None,
        *,
        username: str = "koppel",
        password: str = "ipsoft-sandbox",
        conn_id: str = "ipsoft_default",
    ) -> None:
        """Prepare (but do not start) a server over ``state`` (empty when not given)."""
        self.state = state or IPSoftState()
        self.username = username
        self.password = password
        self.conn_id = conn_id
        self.host = "127.0.0.1"
        self.port = 0
        self.calls: list[tuple[str, dict[str, str]]] = []
        self._service = IPSoftService(self.state)
        self._schema = load_schema(SCHEMA_DIR / "ipsoft.xsd")
        self._knobs = _Knobs()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The SOAP endpoint."""
        return f"http://{self.host}:{self.port}/ipsoft"

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL is served (its service address rewritten to :attr:`url`)."""
        return f"{self.url}?wsdl"

    def airflow_connection(self, *, timeout: float = 5, retries: int = 2) -> str:
        """The connection as JSON for ``AIRFLOW_CONN_<ID>``: an HTTP connection to the endpoint."""
        connection = {
            "conn_type": "http",
            "host": self.url,
            "login": self.username,
            "password": self.password,
            "extra": {"timeout": timeout, "retries": retries, "retry_backoff": 0.05},
        }
        return json.dumps(connection)

    def fail_next(self, code: str, message: str, *, server: bool = True) -> None:
        """Answer the next SOAP call with this fault, without processing it."""
        with self._lock:
            self._knobs.fault = _FaultError(code, message, server=server)

    def delay_next(self, seconds: float, operation: str) -> None:
        """Process the next ``operation`` call, then wait ``seconds`` before answering it."""
        with self._lock:
            self._knobs.delays[operation] = seconds

    def start(self) -> IPSoftServer:
        """Listen on a free port in a daemon thread; return self once clients can connect."""
        if self._thread is not None:
            raise RuntimeError("the IPSoft server is already running")
        self._stopping.clear()
        server = make_server(
            self.host, 0, self._app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._server, self.port = server, server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="koppel-ipsoft-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed answers and release the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        self._server = self._thread = None

    # -- WSGI

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if (method == "GET" and path in _WSDL_PATHS and "wsdl" in query) or (
            method == "GET" and path == "/ipsoft/ipsoft.wsdl"
        ):
            status, body, content_type = "200 OK", self._wsdl(), "text/xml; charset=utf-8"
        elif method == "GET" and path in _XSD_PATHS:
            status, body = "200 OK", (SCHEMA_DIR / "ipsoft.xsd").read_bytes()
            content_type = "text/xml; charset=utf-8"
        elif method == "POST" and path in _WSDL_PATHS:
            status, body = self._soap(environ)
            content_type = "text/xml; charset=utf-8"
        else:
            status, body, content_type = "404 Not Found", b"not found", "text/plain"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    def _wsdl(self) -> bytes:
        """The project's WSDL with the service address pointing at this server."""
        tree = parse_xml((SCHEMA_DIR / "ipsoft.wsdl").read_bytes(), source="ipsoft.wsdl")
        for address in tree.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"):
            address.set("location", self.url)
        return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))

    def _soap(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        """Answer one SOAP POST: a response envelope (200) or a fault (500, as SOAP 1.1 says)."""
        try:
            if not self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
                raise _FaultError("AUTHENTICATION_FAILED", "user name or password is wrong")
            operation, request = self._read_request(environ)
            self.calls.append((operation, _request_args(request)))
            problems = _check(request, self._schema, operation)
            if problems:
                raise _FaultError("INVALID_REQUEST", "; ".join(problems))
            with self._lock:
                fault, self._knobs.fault = self._knobs.fault, None
                delay = self._knobs.delays.pop(operation, 0.0)
            if fault is not None:
                raise fault
            body = self._answer(operation, request)
        except _FaultError as fault:
            return "500 Internal Server Error", _fault_envelope(fault)
        if delay:
            self._stopping.wait(delay)
        return "200 OK", body

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.username.encode()) and hmac.compare_digest(
            password.encode(), self.password.encode()
        )

    def _read_request(self, environ: dict[str, Any]) -> tuple[str, etree._Element]:
        """The operation and its request element, parsed with the hardened parser."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > _MAX_REQUEST_BYTES:
            raise _FaultError("INVALID_REQUEST", f"request of {length} bytes is too large")
        data = environ["wsgi.input"].read(length)
        try:
            tree = parse_xml(data, source="request", max_bytes=_MAX_REQUEST_BYTES)
        except XmlDocumentError as exc:
            raise _FaultError("INVALID_REQUEST", str(exc.problem)) from exc
        body = tree.getroot().find(f"{{{SOAP_ENV_NS}}}Body")
        request = body[0] if body is not None and len(body) else None
        if request is None or not isinstance(request.tag, str):
            raise _FaultError(
                "INVALID_REQUEST", "not a SOAP 1.1 envelope with a request in its Body"
            )
        name = etree.QName(request)
        operation = name.localname.removesuffix("Request")
        if name.namespace != IPS_NS or not name.localname.endswith("Request"):
            raise _FaultError("INVALID_REQUEST", f"unknown operation element {request.tag}")
        return operation, request

    def _answer(self, operation: str, request: etree._Element) -> bytes:
        """Run the operation and check the answer against the contract before sending it."""
        try:
            response = self._service.handle(operation, request)
        except _FaultError:
            raise
        except Exception as exc:
            raise _FaultError(
                "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", server=True
            ) from exc
        problems = _check(response, self._schema, operation)
        if problems:
            message = "emulator answer violates ipsoft.xsd: " + "; ".join(problems)
            raise _FaultError("INTERNAL_ERROR", message, server=True)
        return _envelope(response)


# --------------------------------------------------------------------------- demo data


def ean13(first_twelve: str) -> str:
    """Append the GS1 check digit to twelve digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


def seed_demo(state: IPSoftState, *, at: datetime | None = None) -> IPSoftState:
    """Fill ``state`` with a Dutch fashion wholesaler's catalogue and customers.

    The data holds what the Le New Black flows must cope with: articles
    without an EAN13, one whose EAN13 has a wrong check digit, one without a
    SKU, and a price in the list ``OUTLET-EUR`` that Le New Black is not
    configured with. :data:`UNKNOWN_CUSTOMER_NUMBER` is deliberately absent.
    Records are stamped a minute apart from ``at`` (default: a day ago).
    """
    start = _utc(at or _now() - timedelta(days=1))
    moments = (start + timedelta(minutes=i) for i in range(10_000))
    for price_list in (
        PriceList("WHOLESALE-EUR", "Groothandel EUR", "EUR"),
        PriceList("RETAIL-EUR", "Adviesverkoopprijs EUR", "EUR"),
        PriceList("OUTLET-EUR", "Outlet EUR", "EUR"),
    ):
        state.add_price_list(price_list)
    for customer in _demo_customers():
        state.put(customer, at=next(moments))
    for product in _demo_products():
        state.put(product, at=next(moments))
        if product.sku is None:
            continue
        wholesale = _DEMO_PRICES.get(product.sku.split("-")[0], Decimal("29.95"))
        state.put(Price("WHOLESALE-EUR", product.sku, "EUR", wholesale), at=next(moments))
        retail = (wholesale * Decimal("2.2")).quantize(Decimal("0.01"))
        state.put(Price("RETAIL-EUR", product.sku, "EUR", retail), at=next(moments))
        state.put(
            StockItem(product.sku, Decimal(len(product.sku) % 7 * 4), "ZAANDAM"), at=next(moments)
        )
    outlet = Price(
        "OUTLET-EUR", "NZ2401-NAVY-M", "EUR", Decimal("19.95"), valid_from=date(2025, 1, 1)
    )
    state.put(outlet, at=next(moments))
    return state


_BRAND, _SEASON = "Noordzee Atelier", "SS25"
_DEMO_PRICES = {"NZ2401": Decimal("34.50"), "NZ2402": Decimal("59.00"), "NZ2403": Decimal("22.75")}


def _demo_customers() -> list[Customer]:
    return [
        Customer(
            number="C10023",
            name="Boutique Lotte",
            currency="EUR",
            vat_number="NL854502130B01",
            email="inkoop@boutiquelotte.nl",
            phone="+31 20 623 4567",
            language="nl",
            price_list_id="WHOLESALE-EUR",
            billing_address=Address("Haarlemmerstraat", "112", "1013 EX", "Amsterdam", "NL", "A"),
            buyers=(Buyer("Lotte de Vries", "lotte@boutiquelotte.nl", "+31 6 1234 5678"),),
        ),
        Customer(
            number="C10031",
            name="Modehuis Van Dijk",
            currency="EUR",
            vat_number="NL001234567B02",
            email="administratie@modehuisvandijk.nl",
            language="nl",
            price_list_id="WHOLESALE-EUR",
            billing_address=Address("Lange Elisabethstraat", "9", "3511 JC", "Utrecht", "NL"),
            buyers=(
                Buyer("Pieter van Dijk", "pieter@modehuisvandijk.nl"),
                Buyer("Sanne Bakker", "sanne@modehuisvandijk.nl", "+31 30 231 0099"),
            ),
        ),
        Customer(
            number="C10047",
            name="Maison Claes",
            currency="EUR",
            vat_number="BE0417497106",
            email="achats@maisonclaes.be",
            language="fr",
            billing_address=Address("Rue Neuve", "45", "1000", "Bruxelles", "BE"),
        ),
    ]


def _demo_products() -> list[Product]:
    tees = [
        Product(
            article_id=f"A{100 + i}",
            sku=f"NZ2401-NAVY-{size}",
            ean13=ean13(f"87123450{100 + i:04d}"),
            name=f"Linnen T-shirt navy {size}",
            description="T-shirt van gewassen linnen, losse pasvorm",
            category="Tops",
            colour="Navy",
            size=size,
            composition="100% linnen",
            brand=_BRAND,
            season=_SEASON,
        )
        for i, size in enumerate(("S", "M", "L"))
    ]
    trousers = [
        Product(
            article_id=f"A{200 + i}",
            sku=f"NZ2402-SAND-{size}",
            ean13=None if size in ("30", "32") else ean13(f"87123450{200 + i:04d}"),
            name=f"Chino zand {size}",
            category="Broeken",
            colour="Zand",
            size=size,
            composition="98% katoen, 2% elastaan",
            brand=_BRAND,
            season=_SEASON,
        )
        for i, size in enumerate(("30", "32", "34"))
    ]
    bad_ean = ean13("871234503001")[:-1] + str((int(ean13("871234503001")[-1]) + 1) % 10)
    odd = [
        Product(
            article_id="A300",
            sku="NZ2403-OKER-OS",
            ean13=bad_ean,
            name="Sjaal oker",
            category="Accessoires",
            colour="Oker",
            size="One size",
            composition="100% wol",
            brand=_BRAND,
            season=_SEASON,
        ),
        Product(
            article_id="A301",
            sku=None,
            ean13=ean13("871234503018"),
            name="Tas canvas (nog geen artikelnummer)",
            category="Accessoires",
            colour="Naturel",
            brand=_BRAND,
            season=_SEASON,
        ),
    ]
    return tees + trousers + odd
