"""The IPSoft SOAP contract, its emulator and the hook, end to end through real zeep and HTTP."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
import zeep
from lxml import etree

from koppel import INCLUDE_DIR
from koppel.documents import Order
from koppel.errors import ConfigError, TransportError
from koppel.formats import default_registry
from koppel.hooks.ipsoft import (
    IPSoftFaultError,
    IPSoftHook,
    IPSoftOptions,
    IPSoftServerFaultError,
    parse_extras,
)
from koppel.rules.document_types import prepare_document
from koppel.sandbox.ipsoft import (
    UNKNOWN_CUSTOMER_NUMBER,
    Address,
    Customer,
    IPSoftServer,
    Product,
)
from koppel.sandbox.webshop.seed import demo_orders

pytestmark = pytest.mark.integration

NS = {"ips": "urn:koppel:ipsoft:erp:1", "soap": "http://schemas.xmlsoap.org/soap/envelope/"}
WSDL_FILE = INCLUDE_DIR / "schemas" / "ipsoft" / "ipsoft.wsdl"
XSD_FILE = INCLUDE_DIR / "schemas" / "ipsoft" / "ipsoft.xsd"
BASE = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
CONN_ID = "ipsoft_test"
EMPTY = pytest.mark.parametrize("ipsoft_server", ["empty"], indirect=True)


def _use_connection(monkeypatch: pytest.MonkeyPatch, **connection: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))


def _connection(server: IPSoftServer, **changes: Any) -> dict[str, Any]:
    connection: dict[str, Any] = json.loads(server.airflow_connection())
    extra = {**connection["extra"], **changes.pop("extra", {})}
    return {**connection, **changes, "extra": extra}


def _add_customers(server: IPSoftServer, count: int) -> None:
    for i in range(count):
        customer = Customer(
            number=f"C{20000 + i:05d}",
            name=f"Winkel {i}",
            currency="EUR",
            billing_address=Address("Dorpsstraat", str(i + 1), "1234 AB", "Zwolle", "NL"),
        )
        server.state.put(customer, at=BASE + timedelta(seconds=i))


def _numbers(envelope: bytes) -> list[str]:
    found = etree.fromstring(envelope).xpath("//ips:Customer/ips:CustomerNumber", namespaces=NS)
    return [str(element.text) for element in found]


def _order_request(reference: str, customer: str = "C10023", sku: str = "NZ2401-NAVY-M") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ips:CreateOrderRequest xmlns:ips="urn:koppel:ipsoft:erp:1">
  <ips:Order>
    <ips:PortalOrderReference>{reference}</ips:PortalOrderReference>
    <ips:CustomerNumber>{customer}</ips:CustomerNumber>
    <ips:OrderDate>2025-03-04</ips:OrderDate>
    <ips:Currency>EUR</ips:Currency>
    <ips:DeliveryAddress>
      <ips:Name>Boutique Lotte</ips:Name>
      <ips:Street>Haarlemmerstraat</ips:Street>
      <ips:HouseNumber>112</ips:HouseNumber>
      <ips:HouseNumberAddition>A</ips:HouseNumberAddition>
      <ips:PostalCode>1013 EX</ips:PostalCode>
      <ips:City>Amsterdam</ips:City>
      <ips:CountryCode>NL</ips:CountryCode>
    </ips:DeliveryAddress>
    <ips:Lines>
      <ips:Line>
        <ips:LineNumber>1</ips:LineNumber>
        <ips:Sku>{sku}</ips:Sku>
        <ips:Quantity>2</ips:Quantity>
        <ips:UnitPrice>34.50</ips:UnitPrice>
      </ips:Line>
    </ips:Lines>
    <ips:Remarks>Graag voor vrijdag</ips:Remarks>
  </ips:Order>
</ips:CreateOrderRequest>""".encode()


def _soap_post(
    server: IPSoftServer, body: str, *, password: str | None = None
) -> requests.Response:
    envelope = (
        f'<soap:Envelope xmlns:soap="{NS["soap"]}" xmlns:ips="{NS["ips"]}"><soap:Body>'
        f"{body}</soap:Body></soap:Envelope>"
    )
    return requests.post(
        server.url,
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        auth=(server.username, password or server.password),
        timeout=5,
    )


def _fault_code(response: requests.Response) -> str:
    code: str = etree.fromstring(response.content).findtext(".//ips:ErrorCode", namespaces=NS)
    return code


# --------------------------------------------------------------------------- contract


def test_xsd_compiles_and_wsdl_loads_from_the_project_file() -> None:
    etree.XMLSchema(etree.parse(str(XSD_FILE)))
    client = zeep.Client(str(WSDL_FILE))  # type: ignore[no-untyped-call]
    operations = set(client.wsdl.bindings[f"{{{NS['ips']}}}IPSoftBinding"]._operations)
    assert operations == {
        "ListCustomers",
        "ListProducts",
        "ListPrices",
        "ListStock",
        "ListPriceLists",
        "CreateOrder",
        "GetOrder",
        "FindProducts",
        "CreateQuote",
        "CreateInvoice",
        "CreateDirectInvoice",
        "CreateSalesInvoice",
        "CreateJournalEntry",
        "GetDocument",
    }


def test_wsdl_from_the_server_names_the_server_as_address(ipsoft_server: IPSoftServer) -> None:
    client = zeep.Client(ipsoft_server.wsdl_url)  # type: ignore[no-untyped-call]
    port = client.wsdl.services["IPSoftService"].ports["IPSoftPort"]
    assert port.binding_options["address"] == ipsoft_server.url


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("/ipsoft?wsdl", "definitions"),
        ("/ipsoft/ipsoft.wsdl", "definitions"),
        ("/ipsoft/ipsoft.xsd", "schema"),
        ("/ipsoft.xsd", "schema"),  # where the WSDL's relative import resolves from /ipsoft?wsdl
    ],
)
def test_the_contract_is_served(ipsoft_server: IPSoftServer, path: str, root: str) -> None:
    base = ipsoft_server.url.removesuffix("/ipsoft")
    response = requests.get(base + path, timeout=5)
    assert response.status_code == 200
    assert etree.QName(etree.fromstring(response.content)).localname == root


# --------------------------------------------------------------------------- paging


@EMPTY
def test_450_customers_come_in_three_pages_in_modification_order(
    ipsoft_server: IPSoftServer,
) -> None:
    _add_customers(ipsoft_server, 450)
    pages = list(
        IPSoftHook(CONN_ID).list_pages(
            "ListCustomers", modified_since=BASE, modified_until=None, page_size=200
        )
    )
    assert [(p.number, p.total_pages) for p in pages] == [(1, 3), (2, 3), (3, 3)]
    assert [len(_numbers(p.envelope)) for p in pages] == [200, 200, 50]
    numbers = [n for p in pages for n in _numbers(p.envelope)]
    assert numbers == [f"C{20000 + i:05d}" for i in range(450)]


@EMPTY
@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (100, 150, range(100, 150)),  # the upper bound is exclusive
        (440, None, range(440, 450)),  # open-ended
        (500, None, range(0)),  # nothing changed: one empty page
    ],
)
def test_the_window_selects_by_modification_time(
    ipsoft_server: IPSoftServer, since: int, until: int | None, expected: range
) -> None:
    _add_customers(ipsoft_server, 450)
    pages = list(
        IPSoftHook(CONN_ID).list_pages(
            "ListCustomers",
            modified_since=BASE + timedelta(seconds=since),
            modified_until=None if until is None else BASE + timedelta(seconds=until),
        )
    )
    assert len(pages) == 1
    assert _numbers(pages[0].envelope) == [f"C{20000 + i:05d}" for i in expected]


@EMPTY
def test_a_modified_record_moves_to_the_end_of_the_window(ipsoft_server: IPSoftServer) -> None:
    _add_customers(ipsoft_server, 3)
    first = ipsoft_server.state.customers["C20000"]
    ipsoft_server.state.modify(first, at=BASE + timedelta(hours=1), name="Winkel nul")
    (page,) = IPSoftHook(CONN_ID).list_pages(
        "ListCustomers", modified_since=BASE, modified_until=None
    )
    assert _numbers(page.envelope) == ["C20001", "C20002", "C20000"]


def test_the_envelope_is_the_exact_response(ipsoft_server: IPSoftServer) -> None:
    since = datetime(2000, 1, 1, tzinfo=UTC)
    (page,) = IPSoftHook(CONN_ID).list_pages(
        "ListProducts", modified_since=since, modified_until=None, page_size=50
    )
    raw = _soap_post(
        ipsoft_server,
        "<ips:ListProductsRequest><ips:ModifiedSince>2000-01-01T00:00:00Z</ips:ModifiedSince>"
        "<ips:Page>1</ips:Page><ips:PageSize>50</ips:PageSize></ips:ListProductsRequest>",
    )
    assert raw.status_code == 200
    assert page.envelope == raw.content
    products = etree.fromstring(page.envelope).xpath("//ips:Product", namespaces=NS)
    assert len(products) == len(ipsoft_server.state.products)


@pytest.mark.parametrize(
    ("operation", "item"),
    [("ListProducts", "Product"), ("ListPrices", "Price"), ("ListStock", "StockItem")],
)
def test_every_list_operation_answers_valid_items(
    ipsoft_server: IPSoftServer, operation: Any, item: str
) -> None:
    pages = list(
        IPSoftHook(CONN_ID).list_pages(
            operation, modified_since=datetime(2000, 1, 1, tzinfo=UTC), modified_until=None
        )
    )
    items = etree.fromstring(pages[0].envelope).xpath(f"//ips:{item}", namespaces=NS)
    assert items, f"{operation} returned no {item}"


def test_demo_catalogue_holds_the_awkward_articles(ipsoft_server: IPSoftServer) -> None:
    products = list(ipsoft_server.state.products.values())
    assert any(p.sku is None for p in products)
    assert any(p.sku is not None and p.ean13 is None for p in products)
    assert any(p.ean13 is not None and not _valid_ean13(p.ean13) for p in products)
    assert any(k[0] == "OUTLET-EUR" for k in ipsoft_server.state.prices)
    assert UNKNOWN_CUSTOMER_NUMBER not in ipsoft_server.state.customers


def _valid_ean13(code: str) -> bool:
    digits = [int(d) for d in code]
    return (
        len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    )


def test_price_lists(ipsoft_server: IPSoftServer) -> None:
    assert IPSoftHook(CONN_ID).price_lists() == [
        {"id": "OUTLET-EUR", "name": "Outlet EUR", "currency": "EUR"},
        {"id": "RETAIL-EUR", "name": "Adviesverkoopprijs EUR", "currency": "EUR"},
        {"id": "WHOLESALE-EUR", "name": "Groothandel EUR", "currency": "EUR"},
    ]


# --------------------------------------------------------------------------- orders


def test_create_order_is_idempotent_on_the_portal_reference(ipsoft_server: IPSoftServer) -> None:
    hook = IPSoftHook(CONN_ID)
    first = hook.create_order(_order_request("LNB-100045"))
    again = hook.create_order(_order_request("LNB-100045"))
    assert first.created is True
    assert first.reference == "LNB-100045"
    assert first.order_number.startswith("SO-")
    assert (again.order_number, again.created) == (first.order_number, False)
    assert list(ipsoft_server.state.orders) == ["LNB-100045"]
    stored = ipsoft_server.state.orders["LNB-100045"]
    assert stored.customer_number == "C10023"
    assert [(line.sku, line.quantity, line.unit_price) for line in stored.lines] == [
        ("NZ2401-NAVY-M", Decimal(2), Decimal("34.50"))
    ]


def test_get_order_returns_the_created_order_or_none(ipsoft_server: IPSoftServer) -> None:
    hook = IPSoftHook(CONN_ID)
    created = hook.create_order(_order_request("LNB-100046"))
    order = hook.get_order("LNB-100046")
    assert order is not None
    assert order["OrderNumber"] == created.order_number
    assert order["DeliveryAddress"]["City"] == "Amsterdam"
    assert order["Lines"]["Line"][0]["UnitPrice"] == Decimal("34.50")
    assert hook.get_order("LNB-999999") is None


def test_order_number_is_found_by_the_portal_reference(ipsoft_server: IPSoftServer) -> None:
    """What recovers a number whose recording a crash lost (GetOrder is keyed by reference)."""
    hook = IPSoftHook(CONN_ID)
    created = hook.create_order(_order_request("LNB-100047"))
    assert hook.order_number("LNB-100047") == created.order_number
    assert hook.order_number("LNB-999999") is None


def test_a_retry_after_a_timeout_finds_the_order_instead_of_creating_another(
    ipsoft_server: IPSoftServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_connection(monkeypatch, **_connection(ipsoft_server, extra={"timeout": 1}))
    ipsoft_server.delay_next(3, "CreateOrder")
    result = IPSoftHook(CONN_ID).create_order(_order_request("LNB-100047"))
    assert result.created is False  # the first call created it; its answer never arrived
    assert list(ipsoft_server.state.orders) == ["LNB-100047"]
    assert result.order_number == ipsoft_server.state.orders["LNB-100047"].order_number
    assert [op for op, _ in ipsoft_server.calls].count("CreateOrder") == 2


@pytest.mark.parametrize(
    ("customer", "sku", "code", "detail"),
    [
        (UNKNOWN_CUSTOMER_NUMBER, "NZ2401-NAVY-M", "UNKNOWN_CUSTOMER", "C99999"),
        ("C10023", "NZ9999-NONE-XL", "UNKNOWN_SKU", "NZ9999-NONE-XL"),
        ("X1", "NZ2401-NAVY-M", "INVALID_REQUEST", "CustomerNumber"),  # violates ipsoft.xsd
    ],
)
def test_refused_orders_raise_a_clear_fault_and_create_nothing(
    ipsoft_server: IPSoftServer, customer: str, sku: str, code: str, detail: str
) -> None:
    with pytest.raises(IPSoftFaultError) as raised:
        IPSoftHook(CONN_ID).create_order(_order_request("LNB-100048", customer, sku))
    assert raised.value.code == code
    assert str(raised.value).startswith(f"IPSoft CreateOrder fault {code}: ")
    assert detail in str(raised.value)
    assert ipsoft_server.state.orders == {}
    assert [op for op, _ in ipsoft_server.calls].count("CreateOrder") == 1  # never retried


def test_a_server_fault_is_retriable_but_not_repeated_by_the_hook(
    ipsoft_server: IPSoftServer,
) -> None:
    ipsoft_server.fail_next("INTERNAL_ERROR", "database is restarting")
    with pytest.raises(IPSoftServerFaultError, match="INTERNAL_ERROR: database is restarting"):
        IPSoftHook(CONN_ID).price_lists()
    assert [op for op, _ in ipsoft_server.calls] == ["ListPriceLists"]
    assert IPSoftServerFaultError("ListPriceLists", "INTERNAL_ERROR", "x").retriable is True
    assert IPSoftFaultError("CreateOrder", "UNKNOWN_SKU", "x").retriable is False


def test_a_client_fault_from_fail_next_is_fatal(ipsoft_server: IPSoftServer) -> None:
    ipsoft_server.fail_next("INVALID_REQUEST", "page size too large", server=False)
    with pytest.raises(IPSoftFaultError, match="IPSoft ListPriceLists fault INVALID_REQUEST"):
        IPSoftHook(CONN_ID).price_lists()
    assert len(IPSoftHook(CONN_ID).price_lists()) == 3  # the knob applied once


# --------------------------------------------------------------------------- access


def test_a_wrong_password_is_an_authentication_fault(
    ipsoft_server: IPSoftServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_connection(monkeypatch, **_connection(ipsoft_server, password="Geheim-123"))
    with pytest.raises(IPSoftFaultError) as raised:
        IPSoftHook(CONN_ID).price_lists()
    assert raised.value.code == "AUTHENTICATION_FAILED"
    assert "Geheim-123" not in str(raised.value)
    assert ipsoft_server.calls == []


@pytest.mark.parametrize("wsdl", ["file", "default"])
def test_an_unreachable_endpoint_is_a_transport_error_after_retries(
    monkeypatch: pytest.MonkeyPatch, wsdl: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        endpoint = f"http://127.0.0.1:{port}/ipsoft"
        extra: dict[str, Any] = {"retries": "2", "retry_backoff": "0.01", "timeout": "2"}
        if wsdl == "file":
            extra["wsdl"] = str(WSDL_FILE)
        _use_connection(
            monkeypatch,
            conn_type="http",
            host=endpoint,
            login="koppel",
            password="Geheim-123",
            extra=extra,
        )
        with pytest.raises(TransportError) as raised:
            IPSoftHook(CONN_ID).price_lists()
    message = str(raised.value)
    assert endpoint in message
    assert "after 3 attempt(s)" in message
    assert "Geheim-123" not in message


def test_the_project_wsdl_file_works_against_the_connection_endpoint(
    ipsoft_server: IPSoftServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_connection(monkeypatch, **_connection(ipsoft_server, extra={"wsdl": str(WSDL_FILE)}))
    hook = IPSoftHook(CONN_ID)
    assert len(hook.price_lists()) == 3
    assert hook.test_connection() == (True, "Connection successfully tested")


# --------------------------------------------------------------------------- the emulator's guard


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "<ips:ListCustomersRequest><ips:ModifiedSince>2025-01-01T00:00:00Z</ips:ModifiedSince>"
            "<ips:Page>1</ips:Page><ips:PageSize>501</ips:PageSize></ips:ListCustomersRequest>",
            "PageSize",
        ),
        (
            "<ips:ListCustomersRequest><ips:Page>1</ips:Page><ips:PageSize>5</ips:PageSize>"
            "</ips:ListCustomersRequest>",
            "ModifiedSince",
        ),
        ("<ips:DropAllTablesRequest/>", "DropAllTablesRequest"),
    ],
)
def test_a_request_violating_the_xsd_is_refused(
    ipsoft_server: IPSoftServer, body: str, why: str
) -> None:
    response = _soap_post(ipsoft_server, body)
    assert response.status_code == 500
    assert _fault_code(response) == "INVALID_REQUEST"
    assert why in response.text
    assert len(ipsoft_server.calls) == 1


def test_a_request_with_a_doctype_is_refused(ipsoft_server: IPSoftServer) -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b"<x>&e;</x></soap:Body></soap:Envelope>"
    )
    auth = (ipsoft_server.username, ipsoft_server.password)
    response = requests.post(ipsoft_server.url, data=payload, auth=auth, timeout=5)
    assert response.status_code == 500
    assert _fault_code(response) == "INVALID_REQUEST"
    assert "root:" not in response.text


def test_products_without_sku_are_listed_without_one(ipsoft_server: IPSoftServer) -> None:
    ipsoft_server.state.put(Product(article_id="A999", name="Proefmodel"), at=BASE)
    (page,) = IPSoftHook(CONN_ID).list_pages(
        "ListProducts", modified_since=BASE, modified_until=BASE + timedelta(seconds=1)
    )
    (product,) = etree.fromstring(page.envelope).xpath("//ips:Product", namespaces=NS)
    assert product.find("ips:Sku", NS) is None
    assert product.findtext("ips:Name", namespaces=NS) == "Proefmodel"


# --------------------------------------------------------------------------- extras


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, IPSoftOptions()),
        (
            {"timeout": "30", "retries": "0", "retry_backoff": "0.5", "verify": "false"},
            IPSoftOptions(timeout=30.0, retries=0, retry_backoff=0.5, verify=False),
        ),
        ({"verify": "True", "wsdl": "/srv/ipsoft.wsdl"}, IPSoftOptions(wsdl="/srv/ipsoft.wsdl")),
        ({"verify": False, "timeout": 2.5}, IPSoftOptions(timeout=2.5, verify=False)),
        ({"wsdl": ""}, IPSoftOptions()),
    ],
)
def test_parse_extras(extra: dict[str, Any], expected: IPSoftOptions) -> None:
    assert parse_extras(extra) == expected


@pytest.mark.parametrize(
    "extra",
    [{"timeout": "soon"}, {"retries": "-1"}, {"verify": "maybe"}, {"timeout": "0"}],
)
def test_parse_extras_refuses_bad_values(extra: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="IPSoft connection extras"):
        parse_extras(extra)


def test_a_discounted_webshop_order_is_kept_net_with_its_charges(
    ipsoft_server: IPSoftServer,
) -> None:
    """W-1001 (2 x 29.95 less a 5.00 coupon, shipping, a fee) as the orders flow sends it.

    The rule step makes the prices net after discounts, the format writes them,
    and IPSoft keeps (and GetOrder answers) the price, rate, line amount and charges.
    """
    (record,) = [r for r in demo_orders() if r.reference == "W-1001"]
    body = json.dumps(record.render()).encode()
    (order,) = default_registry().get("webshop.order").read(body, source="W-1001").documents
    assert isinstance(order, Order)
    decision = prepare_document(order, "order", known_skus={"NZ2401-NAVY-M", "NZ2402-SAND-32"})
    assert decision.document is not None
    request = default_registry().get("ipsoft.create_order").write(decision.document, context={})
    hook = IPSoftHook(CONN_ID)
    assert hook.create_order(request).created is True
    stored = ipsoft_server.state.orders["W-1001"]
    assert [(ln.unit_price, ln.tax_rate, ln.line_amount) for ln in stored.lines] == [
        (Decimal("27.45"), Decimal(21), Decimal("54.90")),
        (Decimal("59.95"), Decimal(21), Decimal("59.95")),
    ]
    assert [(c.kind, c.amount) for c in stored.charges] == [
        ("shipping", Decimal("4.95")),
        ("fee", Decimal("0.29")),
    ]
    goods = sum((line.amount for line in stored.lines), Decimal(0))
    assert goods + sum((c.amount for c in stored.charges), Decimal(0)) == Decimal("120.09")
    answered = hook.get_order("W-1001")
    assert answered is not None
    assert [line["LineAmount"] for line in answered["Lines"]["Line"]] == [
        Decimal("54.90"),
        Decimal("59.95"),
    ]
    assert [c["Kind"] for c in answered["Charges"]["Charge"]] == ["shipping", "fee"]
