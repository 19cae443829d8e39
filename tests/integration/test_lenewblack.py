"""The Le New Black contract, its emulator and ``LeNewBlackHook``, over real HTTP.

Every call goes through the hook and the Airflow connection
``AIRFLOW_CONN_LENEWBLACK_TEST`` to the emulator on 127.0.0.1; assertions look
at the emulator's state and at what the hook returns or raises.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator

from koppel.errors import ConfigError, TransportError
from koppel.hooks.lenewblack import LeNewBlackError, LeNewBlackHook, PutResult, api_path
from koppel.sandbox.lenewblack import (
    SCHEMA_DIR,
    LeNewBlackServer,
    Versioned,
    schema_validators,
)
from tests.fixtures.lenewblack import LENEWBLACK_CONN_ID

pytestmark = pytest.mark.integration

SKU = "JL-DRESS-001-BLK-M"
T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def hook(lenewblack_server: LeNewBlackServer) -> LeNewBlackHook:
    """A hook on the emulator that retries at once (no waiting in tests)."""
    return LeNewBlackHook(LENEWBLACK_CONN_ID, retry_wait_seconds=0)


@pytest.fixture
def demo(lenewblack_server: LeNewBlackServer) -> LeNewBlackServer:
    lenewblack_server.seed_demo()
    return lenewblack_server


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


CUSTOMER = {
    "id": "C10050",
    "name": "Mode & Zo",
    "vat_number": "NL001234567B01",
    "email": "inkoop@modeenzo.nl",
    "phone": None,
    "language": "nl",
    "currency": "EUR",
    "price_list_id": "WHOLESALE-EUR",
    "billing_address": {
        "street": "Vismarkt",
        "house_number": "14",
        "house_number_addition": "bis",
        "postal_code": "9712 CB",
        "city": "Groningen",
        "country": "NL",
    },
    "buyers": [{"name": "Sanne Bakker", "email": "sanne@modeenzo.nl", "phone": None}],
}
PRODUCT = {
    "sku": SKU,
    "ean13": "8712345678906",
    "name": "Jurk Lola zwart M",
    "description": "Midi-jurk van viscose",
    "category": "Jurken",
    "colour": "Zwart",
    "size": "M",
    "composition": "100% viscose",
    "season": "SS25",
    "brand": "Jacky Luxury",
    "active": True,
}
PRICE = {"sku": SKU, "amount": "49.95", "currency": "EUR", "min_quantity": "1"}
STOCK = {"sku": SKU, "available": "12", "warehouse": "Tilburg"}


# -- the contract ---------------------------------------------------------------------------


def test_every_json_schema_is_a_valid_draft_2020_12_schema() -> None:
    paths = sorted(SCHEMA_DIR.glob("*.schema.json"))
    assert {path.name for path in paths} >= {
        "customer.schema.json",
        "product.schema.json",
        "price.schema.json",
        "stock.schema.json",
        "order.schema.json",
        "orders_page.schema.json",
    }
    for path in paths:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False, path.name


def test_openapi_references_only_existing_schemas_and_components() -> None:
    document = yaml.safe_load((SCHEMA_DIR / "openapi.yaml").read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    refs = re.findall(r"'\$ref': '([^']+)'", str(document))
    assert refs
    for ref in refs:
        if ref.startswith("#/"):
            node: Any = document
            for part in ref[2:].split("/"):
                node = node[part]
        else:
            assert (SCHEMA_DIR / ref).is_file(), ref
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    ("schema", "body", "fragment"),
    [
        ("price.schema.json", {**PRICE, "amount": 49.95}, "is not of type 'string'"),
        ("price.schema.json", {**PRICE, "amount": "49,95"}, "does not match"),
        ("stock.schema.json", {"sku": SKU}, "'available' is a required property"),
        ("product.schema.json", {**PRODUCT, "ean13": "87123"}, "does not match"),
        ("customer.schema.json", {**CUSTOMER, "colour": "red"}, "Additional properties"),
        ("customer.schema.json", {"name": "No id"}, "'id' is a required property"),
    ],
)
def test_schemas_refuse_what_the_contract_forbids(
    schema: str, body: dict[str, Any], fragment: str
) -> None:
    validator = schema_validators()[schema]
    messages = [error.message for error in validator.iter_errors(body)]
    assert any(fragment in message for message in messages), messages


def test_emulator_answers_match_the_schemas(demo: LeNewBlackServer, hook: LeNewBlackHook) -> None:
    validators = schema_validators()
    hook.put(api_path("customers", "C10050"), _json(CUSTOMER))
    answers = {
        "orders_page.schema.json": hook.get_json(api_path("orders")),
        "order.schema.json": hook.get_json(api_path("orders", "LNB-100045")),
        "customer_view.schema.json": hook.get_json(api_path("customers", "C10050")),
        "price_lists.schema.json": hook.get_json(api_path("price-lists")),
    }
    for schema, answer in answers.items():
        errors = [error.message for error in validators[schema].iter_errors(answer)]
        assert errors == [], schema
    assert len(answers["orders_page.schema.json"]["orders"]) == 5
    assert answers["order.schema.json"] == demo.order_json("LNB-100045")


# -- master data PUTs -----------------------------------------------------------------------

PUTS: list[tuple[str, dict[str, Any], dict[str, Any], Callable[[LeNewBlackServer], Versioned]]] = [
    (
        api_path("customers", "C10050"),
        CUSTOMER,
        {"name": "Mode & Zo B.V.", "buyers": []},
        lambda s: s.state.customers["C10050"],
    ),
    (api_path("products", SKU), PRODUCT, {"active": False}, lambda s: s.state.products[SKU]),
    (
        api_path("price-lists", "WHOLESALE-EUR", "prices", SKU),
        PRICE,
        {"amount": "47.50"},
        lambda s: s.state.prices["WHOLESALE-EUR"][SKU],
    ),
    (api_path("stock", SKU), STOCK, {"available": "0"}, lambda s: s.state.stock[SKU]),
]


@pytest.mark.parametrize(
    ("path", "body", "change", "stored"), PUTS, ids=["customer", "product", "price", "stock"]
)
def test_put_creates_then_replaces_and_counts_versions(
    demo: LeNewBlackServer,
    hook: LeNewBlackHook,
    path: str,
    body: dict[str, Any],
    change: dict[str, Any],
    stored: Callable[[LeNewBlackServer], Versioned],
) -> None:
    assert hook.put(path, _json(body)) == PutResult(201, created=True)
    assert stored(demo).version == 1
    changed = {**body, **change}
    assert hook.put(path, _json(changed)) == PutResult(200, created=False)

    record = stored(demo)
    assert record.version == 2
    assert {key: record.body[key] for key in changed} == changed


def test_put_path_may_leave_out_the_api_prefix(
    lenewblack_server: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    assert hook.put(f"stock/{SKU}", _json(STOCK)).created
    assert lenewblack_server.requests[-1].path == f"/api/v1/stock/{SKU}"


def test_imported_customer_is_linked_to_ipsoft_and_readable(
    lenewblack_server: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    hook.put(api_path("customers", "C10050"), _json(CUSTOMER))

    customer = hook.customer("C10050")
    assert customer is not None
    assert customer["erp_reference"] == "C10050"
    assert customer["buyers"] == CUSTOMER["buyers"]
    assert hook.customer("C99999") is None


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        (
            api_path("products", SKU),
            {**PRODUCT, "ean13": "87123"},
            "$.ean13: '87123' does not match",
        ),
        (api_path("stock", SKU), {**STOCK, "available": 12}, "$.available: 12 is not of type"),
        (api_path("stock", "OTHER-SKU"), STOCK, "differs from the path's 'OTHER-SKU'"),
        (api_path("customers", "C10050"), {"id": "C10050"}, "'name' is a required property"),
    ],
    ids=["ean13-pattern", "decimal-as-number", "path-mismatch", "required-name"],
)
def test_body_refused_by_the_schema_is_a_fatal_error_with_the_reason(
    lenewblack_server: LeNewBlackServer,
    hook: LeNewBlackHook,
    path: str,
    body: dict[str, Any],
    fragment: str,
) -> None:
    with pytest.raises(LeNewBlackError) as caught:
        hook.put(path, _json(body))

    assert (caught.value.status, caught.value.code) == (400, "INVALID_BODY")
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"Le New Black PUT {path}: 400 INVALID_BODY: ")
    assert lenewblack_server.state.products == {}
    assert lenewblack_server.state.stock == {}
    assert len(lenewblack_server.requests) == 1, "a 4xx is never retried"


def test_price_for_an_unknown_price_list_is_refused(
    demo: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    path = api_path("price-lists", "OUTLET-EUR", "prices", SKU)
    with pytest.raises(LeNewBlackError) as caught:
        hook.put(path, _json(PRICE))

    assert str(caught.value).startswith(
        f"Le New Black PUT /api/v1/price-lists/OUTLET-EUR/prices/{SKU}: 404 PRICE_LIST_NOT_FOUND: "
    )
    assert "OUTLET-EUR" not in demo.state.prices
    assert hook.price_list_ids() == {"WHOLESALE-EUR", "RETAIL-EUR"}


def test_price_in_another_currency_than_its_list_is_refused(
    demo: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    demo.add_price_list("WHOLESALE-GBP", "Wholesale GBP", "GBP")
    path = api_path("price-lists", "WHOLESALE-GBP", "prices", SKU)
    with pytest.raises(LeNewBlackError, match="422 CURRENCY_MISMATCH"):
        hook.put(path, _json(PRICE))


# -- orders ---------------------------------------------------------------------------------


@pytest.fixture
def shop(lenewblack_server: LeNewBlackServer) -> LeNewBlackServer:
    """Six orders of one customer, changed an hour apart: 1-4 confirmed, 5 draft, 6 exported."""
    lenewblack_server.add_customer("C10023", "Boutique Lotte", erp_reference="C10023")
    statuses = ["confirmed"] * 4 + ["draft", "exported"]
    for number, status in enumerate(statuses, start=1):
        lenewblack_server.add_order(
            f"LNB-10000{number}",
            customer_id="C10023",
            lines=[(SKU, "2", "49.95")],
            status=status,
            created_at=T0 + timedelta(hours=number),
        )
    return lenewblack_server


def _references(pages: list[Any]) -> list[str]:
    return [order["reference"] for page in pages for order in json.loads(page.body)["orders"]]


def test_orders_are_listed_in_pages_oldest_change_first(
    shop: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    pages = list(hook.list_orders(status=None, updated_since=None, page_size=4))

    assert [(page.number, page.total_pages) for page in pages] == [(1, 2), (2, 2)]
    assert _references(pages) == [f"LNB-10000{number}" for number in range(1, 7)]


@pytest.mark.parametrize(
    ("status", "since_hours", "expected"),
    [
        ("confirmed", None, ["LNB-100001", "LNB-100002", "LNB-100003", "LNB-100004"]),
        ("confirmed", 3, ["LNB-100003", "LNB-100004"]),
        ("draft", None, ["LNB-100005"]),
        (None, 6, ["LNB-100006"]),
        ("confirmed", 7, []),
    ],
)
def test_orders_filter_by_status_and_inclusive_updated_since(
    shop: LeNewBlackServer,
    hook: LeNewBlackHook,
    status: str | None,
    since_hours: int | None,
    expected: list[str],
) -> None:
    since = None if since_hours is None else T0 + timedelta(hours=since_hours)
    pages = list(hook.list_orders(status=status, updated_since=since, page_size=1))

    assert _references(pages) == expected
    assert len(pages) == max(1, len(expected))


def test_updated_since_keeps_its_offset_on_the_wire(
    shop: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    amsterdam = T0.astimezone(ZoneInfo("Europe/Amsterdam"))
    pages = list(hook.list_orders(status=None, updated_since=amsterdam + timedelta(hours=5)))

    assert _references(pages) == ["LNB-100005", "LNB-100006"]
    with pytest.raises(ValueError, match="timezone-aware"):
        next(hook.list_orders(status=None, updated_since=datetime(2025, 3, 10)))


def test_page_bytes_are_exactly_what_the_server_sent(
    shop: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    (page,) = hook.list_orders(status="draft", updated_since=None)

    query: dict[str, str | int] = {"page_size": 100, "status": "draft", "page": 1}
    direct = requests.get(
        f"{shop.base_url}/api/v1/orders",
        params=query,
        headers={"Authorization": f"Bearer {shop.token}"},
        timeout=10,
    )
    assert page.body == direct.content
    assert json.loads(page.body)["orders"][0]["lines"] == [
        {"line_number": 1, "sku": SKU, "quantity": "2", "unit_price": "49.95"}
    ]


def test_order_shows_the_customers_reference_as_it_is_now(
    demo: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    path = api_path("orders", "LNB-100046")
    assert hook.get_json(path)["customer"] == {
        "id": "LNB-4711",
        "name": "Studio Noor",
        "erp_reference": None,
    }

    answer = requests.patch(
        f"{demo.base_url}{api_path('customers', 'LNB-4711')}",
        json={"erp_reference": "C10044"},
        headers={"Authorization": f"Bearer {demo.token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert hook.get_json(path)["customer"]["erp_reference"] == "C10044"
    assert hook.get_json(api_path("orders", "LNB-100048"))["customer"]["erp_reference"] == "12345"


def test_mark_exported_is_idempotent_and_refuses_another_number(
    demo: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    hook.mark_exported("LNB-100045", "SO-2025-00042")
    order = demo.state.orders["LNB-100045"]
    exported_at = order.updated_at
    assert (order.status, order.erp_order_number) == ("exported", "SO-2025-00042")

    hook.mark_exported("LNB-100045", "SO-2025-00042")
    assert order.updated_at == exported_at

    with pytest.raises(LeNewBlackError) as caught:
        hook.mark_exported("LNB-100045", "SO-2025-00099")
    assert (caught.value.status, caught.value.code) == (409, "ALREADY_EXPORTED")
    assert order.erp_order_number == "SO-2025-00042"


@pytest.mark.parametrize(
    ("reference", "status", "code"),
    [("LNB-100049", 409, "ORDER_NOT_CONFIRMED"), ("LNB-999999", 404, "ORDER_NOT_FOUND")],
)
def test_mark_exported_refuses_drafts_and_unknown_orders(
    demo: LeNewBlackServer, hook: LeNewBlackHook, reference: str, status: int, code: str
) -> None:
    with pytest.raises(LeNewBlackError) as caught:
        hook.mark_exported(reference, "SO-2025-00042")
    assert (caught.value.status, caught.value.code) == (status, code)


def test_changed_after_export_is_listed_again_but_stays_exported(
    demo: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    hook.mark_exported("LNB-100047", "SO-2025-00043")
    later = datetime.now(UTC) + timedelta(minutes=5)
    demo.change_order("LNB-100047", remarks="Toch 3 jassen", at=later)

    (page,) = hook.list_orders(status=None, updated_since=later)
    (order,) = json.loads(page.body)["orders"]
    assert (order["reference"], order["status"], order["remarks"]) == (
        "LNB-100047",
        "exported",
        "Toch 3 jassen",
    )


# -- auth, errors and retries -----------------------------------------------------------------


def test_wrong_token_is_a_clear_error_that_never_shows_the_token(
    lenewblack_server: LeNewBlackServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    connection = json.loads(lenewblack_server.airflow_connection())
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{LENEWBLACK_CONN_ID.upper()}",
        json.dumps({**connection, "password": "wrong-token-s3cr3t"}),
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LeNewBlackError) as caught:
        LeNewBlackHook(LENEWBLACK_CONN_ID).price_list_ids()

    assert (caught.value.status, caught.value.code) == (401, "UNAUTHORIZED")
    assert "wrong-token-s3cr3t" not in str(caught.value)
    assert "wrong-token-s3cr3t" not in caplog.text
    assert LeNewBlackHook(LENEWBLACK_CONN_ID).test_connection() == (
        False,
        "Le New Black GET /api/v1/price-lists: 401 UNAUTHORIZED: missing or invalid bearer token",
    )


def test_connection_test_makes_an_authenticated_call(demo: LeNewBlackServer) -> None:
    assert LeNewBlackHook(LENEWBLACK_CONN_ID).test_connection() == (
        True,
        "Connected to Le New Black: 2 price list(s)",
    )
    assert demo.requests[-1].path == "/api/v1/price-lists"


def test_connection_without_token_or_missing_is_a_config_error(
    lenewblack_server: LeNewBlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = json.loads(lenewblack_server.airflow_connection())
    del connection["password"]
    monkeypatch.setenv("AIRFLOW_CONN_LENEWBLACK_NOTOKEN", json.dumps(connection))

    with pytest.raises(ConfigError, match="no password"):
        LeNewBlackHook("lenewblack_notoken").price_list_ids()
    with pytest.raises(ConfigError, match="'lenewblack_absent' is missing"):
        LeNewBlackHook("lenewblack_absent").price_list_ids()


def test_unknown_endpoint_and_bad_query_are_fatal(
    lenewblack_server: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    with pytest.raises(LeNewBlackError, match="404 NOT_FOUND"):
        hook.get_json("/api/v1/invoices")
    with pytest.raises(LeNewBlackError, match="400 INVALID_QUERY: page_size"):
        hook.get_json(api_path("orders"), params={"page_size": 0})


def test_server_errors_are_retried_until_success(
    lenewblack_server: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    lenewblack_server.fail_next(503, times=2)

    assert hook.put(api_path("stock", SKU), _json(STOCK)).created

    assert [request.method for request in lenewblack_server.requests] == ["PUT"] * 3
    assert lenewblack_server.state.stock[SKU].version == 1


def test_server_errors_beyond_the_attempts_are_a_transport_error(
    lenewblack_server: LeNewBlackServer, hook: LeNewBlackHook
) -> None:
    lenewblack_server.fail_next(502, times=3)

    with pytest.raises(TransportError) as caught:
        hook.put(api_path("stock", SKU), _json(STOCK))

    message = str(caught.value)
    assert f"{lenewblack_server.base_url}/api/v1/stock/{SKU}" in message
    assert "502 SERVICE_UNAVAILABLE" in message
    assert lenewblack_server.token not in message
    assert lenewblack_server.state.stock == {}
    assert len(lenewblack_server.requests) == 3


def test_unreachable_server_is_a_transport_error_naming_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connection = {"conn_type": "http", "host": "127.0.0.1", "port": port, "password": "tok"}
    monkeypatch.setenv("AIRFLOW_CONN_LENEWBLACK_DOWN", json.dumps(connection))

    hook = LeNewBlackHook("lenewblack_down", attempts=2, retry_wait_seconds=0)
    with pytest.raises(TransportError, match=rf"http://127.0.0.1:{port}/api/v1/price-lists"):
        hook.price_list_ids()


def test_demo_state_has_the_cases_the_flows_must_handle(demo: LeNewBlackServer) -> None:
    assert set(demo.state.price_lists) == {"WHOLESALE-EUR", "RETAIL-EUR"}
    references = {cid: c.body["erp_reference"] for cid, c in demo.state.customers.items()}
    assert references["LNB-4711"] is None
    assert references["LNB-4712"] == "12345"
    confirmed = {o.customer_id for o in demo.state.orders.values() if o.status == "confirmed"}
    assert {"LNB-4711", "C10023"} <= confirmed
    assert Path(SCHEMA_DIR / "openapi.yaml").is_file()
