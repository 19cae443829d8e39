"""The webshop contract and its emulator, over real HTTP with ``requests``.

Every answer is checked against the contract's own JSON Schemas (the
validators the emulator uses for request bodies), so the emulator and its
contract cannot drift apart. ``ContractClient`` is shared with the CRM tests.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator

from koppel.sandbox.record_api import RecordServer
from koppel.sandbox.webshop import (
    DEMO_REFERENCES,
    SCHEMA_DIR,
    ShopCharge,
    ShopLine,
    WebshopServer,
    schema_validators,
    webshop_order,
)
from tests.fixtures.webshop import WEBSHOP_CONN_ID

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@dataclass
class ContractClient:
    """``requests`` against an emulator, checking each answer against the contract's schemas."""

    server: RecordServer
    validators: dict[str, Draft202012Validator]

    def call(
        self,
        method: str,
        path: str,
        *,
        schema: str,
        expect: int = 200,
        token: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """The answer's JSON after asserting its status and that it matches ``schema``."""
        headers = {"Authorization": f"Bearer {token or self.server.token}"}
        answer = requests.request(
            method, f"{self.server.base_url}/api/v1/{path}", headers=headers, timeout=10, **kwargs
        )
        assert answer.status_code == expect, answer.text
        assert answer.headers["Content-Type"].startswith("application/json")
        body = answer.json()
        expected = schema if expect < 400 else "error.schema.json"
        errors = [error.message for error in self.validators[expected].iter_errors(body)]
        assert errors == [], (expected, body)
        return body

    def get(self, path: str, schema: str, expect: int = 200, **params: Any) -> Any:
        """GET ``path`` with query ``params``."""
        return self.call("GET", path, schema=schema, expect=expect, params=params)

    def mark(self, path: str, body: Any, expect: int = 200) -> Any:
        """POST an export mark (``body`` as JSON, or raw bytes as they are)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.call(
            "POST",
            f"{path}/exports",
            schema="exports.schema.json",
            expect=expect,
            data=data,
        )

    def error_code(self, answer: Any) -> str:
        """The code of an error answer."""
        code: str = answer["error"]["code"]
        return code


def openapi_refs(schema_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """The parsed ``openapi.yaml`` of a contract and every ``$ref`` it makes."""
    document = yaml.safe_load((schema_dir / "openapi.yaml").read_text(encoding="utf-8"))
    return document, re.findall(r"'\$ref': '([^']+)'", str(document))


def assert_openapi_names_every_schema(schema_dir: Path) -> None:
    """``openapi.yaml`` is 3.1, resolves every ``$ref`` and names every schema file."""
    document, refs = openapi_refs(schema_dir)
    assert document["openapi"].startswith("3.1")
    for ref in refs:
        if ref.startswith("#/"):
            node: Any = document
            for part in ref[2:].split("/"):
                node = node[part]
        else:
            assert (schema_dir / ref).is_file(), ref
    files = {path.name for path in schema_dir.glob("*.schema.json")}
    assert files == {ref for ref in refs if not ref.startswith("#")}
    for name in files:
        schema = json.loads((schema_dir / name).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False, name
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.fixture
def shop(webshop_server: WebshopServer) -> ContractClient:
    """A client of the empty webshop emulator."""
    return ContractClient(webshop_server, schema_validators())


@pytest.fixture
def demo(webshop_server: WebshopServer) -> WebshopServer:
    """The webshop emulator with the demo orders."""
    webshop_server.seed_demo()
    return webshop_server


def _order(reference: str, at: datetime, status: str = "paid") -> Any:
    return webshop_order(
        reference,
        lines=[ShopLine("NZ2401-NAVY-M", "T-shirt", "1", "10.00")],
        status=status,
        created_at=at,
    )


def test_the_openapi_document_names_every_schema_file() -> None:
    assert_openapi_names_every_schema(SCHEMA_DIR)
    document, _ = openapi_refs(SCHEMA_DIR)
    assert set(document["paths"]) == {
        "/orders",
        "/orders/{reference}",
        "/orders/{reference}/exports",
    }


def test_a_wrong_or_missing_token_is_401(
    shop: ContractClient, webshop_server: WebshopServer
) -> None:
    webshop_server.seed_demo()
    answer = shop.call("GET", "orders", schema="", expect=401, token="wrong")
    assert shop.error_code(answer) == "UNAUTHORIZED"
    bare = requests.get(f"{webshop_server.base_url}/api/v1/orders/W-1001", timeout=10)
    assert (bare.status_code, bare.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert bare.json()["error"]["code"] == "UNAUTHORIZED"


def test_the_server_listens_on_loopback_behind_an_airflow_connection(
    webshop_server: WebshopServer,
) -> None:
    connection = json.loads(webshop_server.airflow_connection())
    assert connection == {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": webshop_server.port,
        "schema": "http",
        "password": webshop_server.token,
    }
    assert webshop_server.conn_id == WEBSHOP_CONN_ID
    with socket.create_connection(("127.0.0.1", webshop_server.port), timeout=5):
        pass


def test_every_demo_order_matches_the_order_schema(
    shop: ContractClient, demo: WebshopServer
) -> None:
    for reference in DEMO_REFERENCES:
        order = shop.get(f"orders/{reference}", "order.schema.json")
        assert order == demo.order_json(reference)
    refund = shop.get("orders/R-1001", "order.schema.json")
    assert (refund["kind"], refund["original_reference"], refund["status"]) == (
        "refund",
        "W-1001",
        "refunded",
    )


def test_listing_pages_through_every_order_oldest_change_first(
    shop: ContractClient, demo: WebshopServer
) -> None:
    pages = [
        shop.get("orders", "orders_page.schema.json", page=n, page_size=2) for n in (1, 2, 3, 4)
    ]
    assert [(p["page"], p["page_size"], p["total_pages"], p["total_count"]) for p in pages] == [
        (n, 2, 3, 6) for n in (1, 2, 3, 4)
    ]
    references = [order["reference"] for page in pages for order in page["orders"]]
    assert references == list(DEMO_REFERENCES)
    assert pages[3]["orders"] == []
    assert pages[0]["orders"][0] == {
        "reference": "W-1001",
        "status": "paid",
        "updated_at": "2026-11-23T09:12:00Z",
        "exports": {},
    }


def test_ties_on_updated_at_are_ordered_by_reference(
    shop: ContractClient, webshop_server: WebshopServer
) -> None:
    for reference in ("W-3", "W-1", "W-2"):
        webshop_server.add_order(_order(reference, T0))
    page = shop.get("orders", "orders_page.schema.json")
    assert [order["reference"] for order in page["orders"]] == ["W-1", "W-2", "W-3"]


def test_nothing_to_list_is_zero_pages(shop: ContractClient) -> None:
    assert shop.get("orders", "orders_page.schema.json") == {
        "page": 1,
        "page_size": 100,
        "total_pages": 0,
        "total_count": 0,
        "orders": [],
    }


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": "0"},
        {"page_size": "1001"},
        {"page_size": "ten"},
        {"page": "0"},
        {"status": "lost"},
        {"status": "shipped,lost"},
        {"not_exported_as": "packing_slip"},
        {"updated_since": "yesterday"},
        {"updated_since": "2026-11-01T08:00:00"},
    ],
)
def test_a_bad_query_is_400(shop: ContractClient, params: dict[str, str]) -> None:
    answer = shop.get("orders", "", expect=400, **params)
    assert shop.error_code(answer) == "INVALID_REQUEST"


def test_a_page_of_a_thousand_is_allowed(shop: ContractClient, demo: WebshopServer) -> None:
    assert shop.get("orders", "orders_page.schema.json", page_size=1000)["total_count"] == 6


def test_the_status_filter_keeps_one_status(shop: ContractClient, demo: WebshopServer) -> None:
    paid = shop.get("orders", "orders_page.schema.json", status="paid")
    assert [order["reference"] for order in paid["orders"]] == ["W-1001", "W-1002", "W-1003"]
    shipped = shop.get("orders", "orders_page.schema.json", status="shipped")
    assert [order["reference"] for order in shipped["orders"]] == ["W-1005"]
    assert shop.get("orders", "orders_page.schema.json", status="cancelled")["total_pages"] == 0


def test_the_status_filter_takes_several_comma_separated(
    shop: ContractClient, demo: WebshopServer
) -> None:
    """What the postings flow asks for: shipped orders and refunds, in one listing."""
    both = shop.get("orders", "orders_page.schema.json", status="shipped,refunded")
    assert [order["reference"] for order in both["orders"]] == ["W-1005", "R-1001"]


def test_not_exported_as_leaves_out_orders_marked_with_that_type(
    shop: ContractClient, demo: WebshopServer
) -> None:
    shop.mark("orders/W-1001", {"document_type": "order", "erp_document_number": "SO-1"})
    shop.mark("orders/W-1005", {"document_type": "invoice", "erp_document_number": "INV-1"})
    not_ordered = shop.get("orders", "orders_page.schema.json", not_exported_as="order")
    assert [o["reference"] for o in not_ordered["orders"]] == [
        "W-1002",
        "W-1003",
        "W-1004",
        "W-1005",
        "R-1001",
    ]
    both = shop.get("orders", "orders_page.schema.json", not_exported_as="invoice", status="paid")
    assert [o["reference"] for o in both["orders"]] == ["W-1001", "W-1002", "W-1003"]
    assert both["orders"][0]["exports"] == {"order": "SO-1"}


def test_updated_since_is_inclusive(shop: ContractClient, demo: WebshopServer) -> None:
    since = shop.get("orders", "orders_page.schema.json", updated_since="2026-11-24T08:20:00+00:00")
    assert [o["reference"] for o in since["orders"]] == ["W-1005", "R-1001"]


def test_unknown_orders_and_paths_are_404(shop: ContractClient, demo: WebshopServer) -> None:
    assert shop.error_code(shop.get("orders/W-9999", "", expect=404)) == "ORDER_NOT_FOUND"
    missing = shop.mark(
        "orders/W-9999", {"document_type": "order", "erp_document_number": "1"}, 404
    )
    assert shop.error_code(missing) == "ORDER_NOT_FOUND"
    assert shop.error_code(shop.get("customers", "", expect=404)) == "NOT_FOUND"
    wrong = shop.call("POST", "orders/W-1001", schema="", expect=405, data=b"{}")
    assert shop.error_code(wrong) == "METHOD_NOT_ALLOWED"


def test_an_export_mark_is_idempotent_and_a_second_number_conflicts(
    shop: ContractClient, demo: WebshopServer
) -> None:
    mark = {"document_type": "order", "erp_document_number": "SO-2026-00001"}
    first = shop.mark("orders/W-1001", mark)
    assert first == {"reference": "W-1001", "exports": {"order": "SO-2026-00001"}}
    assert shop.mark("orders/W-1001", mark) == first
    conflict = shop.mark("orders/W-1001", {**mark, "erp_document_number": "SO-2026-00002"}, 409)
    assert shop.error_code(conflict) == "EXPORT_CONFLICT"
    invoice = shop.mark("orders/W-1001", {"document_type": "invoice", "erp_document_number": "F-7"})
    assert invoice["exports"] == {"order": "SO-2026-00001", "invoice": "F-7"}
    assert shop.get("orders/W-1001", "order.schema.json")["exports"] == invoice["exports"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        {"document_type": "order"},
        {"document_type": "order", "erp_document_number": ""},
        {"document_type": "packing_slip", "erp_document_number": "1"},
        {"document_type": "order", "erp_document_number": 17},
        {"document_type": "order", "erp_document_number": "1", "note": "extra"},
    ],
)
def test_an_invalid_export_body_is_400_and_changes_nothing(
    shop: ContractClient, demo: WebshopServer, body: Any
) -> None:
    answer = shop.mark("orders/W-1002", body, 400)
    assert shop.error_code(answer) == "INVALID_REQUEST"
    assert answer["error"]["message"]
    assert demo.state.orders["W-1002"].exports == {}


def test_marking_keeps_updated_at_and_status_but_a_shop_user_moves_them(
    shop: ContractClient, demo: WebshopServer
) -> None:
    before = shop.get("orders/W-1005", "order.schema.json")
    shop.mark("orders/W-1005", {"document_type": "invoice", "erp_document_number": "F-1"})
    after = shop.get("orders/W-1005", "order.schema.json")
    assert (after["updated_at"], after["status"]) == (before["updated_at"], before["status"])
    changed = demo.set_status("W-1005", "completed")
    with demo.state.lock:
        assert changed.updated_at > datetime.fromisoformat(before["updated_at"])
    latest = shop.get("orders", "orders_page.schema.json", updated_since=after["updated_at"])
    assert [(o["reference"], o["status"]) for o in latest["orders"]] == [
        ("R-1001", "refunded"),
        ("W-1005", "completed"),
    ]


def test_the_awkward_order_reports_tax_rounded_per_line(
    shop: ContractClient, demo: WebshopServer
) -> None:
    order = shop.get("orders/W-1003", "order.schema.json")
    assert [line["line_total"] for line in order["lines"]] == ["1.00", "1.00", "2.50"]
    assert order["tax_lines"] == [
        {"rate": "21", "taxable_amount": "7.00", "tax_amount": "1.48"},
        {"rate": "9", "taxable_amount": "1.00", "tax_amount": "0.09"},
    ]
    assert order["grand_total"] == "9.57"
    per_rate = (Decimal("7.00") * Decimal("0.21")).quantize(Decimal("0.01"))
    assert per_rate == Decimal("1.47")  # what a per-rate computation gives: a cent less


def test_line_discounts_lower_the_line_total(shop: ContractClient, demo: WebshopServer) -> None:
    line = shop.get("orders/W-1001", "order.schema.json")["lines"][0]
    assert (line["quantity"], line["unit_price"], line["discount_amount"], line["line_total"]) == (
        "2",
        "29.95",
        "5.00",
        "54.90",
    )
    assert line["discounts"] == [{"amount": "5.00", "code": "WELKOM5"}]
    second = shop.get("orders/W-1001", "order.schema.json")["lines"][1]
    assert (second["discount_amount"], second["discounts"]) == ("0.00", [])


def test_tax_inclusive_prices_hold_the_tax_within(
    shop: ContractClient, demo: WebshopServer
) -> None:
    order = shop.get("orders/W-1004", "order.schema.json")
    assert (order["channel"], order["status"], order["prices_include_tax"]) == (
        "pos",
        "completed",
        True,
    )
    # 24.95 x 21 / 121 = 4.3301 -> 4.33; the total is the price paid.
    assert order["tax_lines"] == [{"rate": "21", "taxable_amount": "20.62", "tax_amount": "4.33"}]
    assert order["grand_total"] == "24.95"


def test_yen_and_dinar_orders_round_to_their_currency(
    shop: ContractClient, webshop_server: WebshopServer
) -> None:
    webshop_server.add_order(
        webshop_order(
            "W-JPY",
            currency="JPY",
            lines=[
                ShopLine("NZ2401-NAVY-M", "T-shirt", "3", "333.5", "10"),
                ShopLine("NZ2402-SAND-30", "Chino", "1", "1005", "8"),
            ],
            charges=[ShopCharge("shipping", "550", "10")],
            created_at=T0,
        )
    )
    webshop_server.add_order(
        webshop_order(
            "W-BHD",
            currency="BHD",
            lines=[ShopLine("NZ2401-NAVY-M", "T-shirt", "3", "1.3335", "10")],
            charges=[ShopCharge("discount", "0.105", "10")],
            created_at=T0 + timedelta(minutes=1),
        )
    )
    yen = shop.get("orders/W-JPY", "order.schema.json")
    # 3 x 333.5 = 1000.5 -> 1001; tax 100.1 -> 100, 55 and 80.4 -> 80.
    assert [line["line_total"] for line in yen["lines"]] == ["1001", "1005"]
    assert yen["tax_lines"] == [
        {"rate": "10", "taxable_amount": "1551", "tax_amount": "155"},
        {"rate": "8", "taxable_amount": "1005", "tax_amount": "80"},
    ]
    assert yen["grand_total"] == "2791"
    dinar = shop.get("orders/W-BHD", "order.schema.json")
    # 3 x 1.3335 = 4.0005 -> 4.001; tax 0.4001 -> 0.400, discount tax -0.0105 -> -0.011.
    assert dinar["lines"][0]["line_total"] == "4.001"
    assert dinar["tax_lines"] == [{"rate": "10", "taxable_amount": "3.896", "tax_amount": "0.389"}]
    assert dinar["grand_total"] == "4.285"


def test_injected_failures_answer_503_then_the_api_behaves(
    shop: ContractClient, demo: WebshopServer
) -> None:
    demo.fail_next(2)
    for _ in range(2):
        assert shop.error_code(shop.get("orders", "", expect=503)) == "SERVICE_UNAVAILABLE"
    assert shop.get("orders", "orders_page.schema.json")["total_count"] == 6
    demo.fail_next(1, status=500)
    assert shop.get("orders/W-1001", "", expect=500)["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_every_request_is_recorded(shop: ContractClient, demo: WebshopServer) -> None:
    shop.get("orders", "orders_page.schema.json", status="paid")
    shop.mark("orders/W-1001", {"document_type": "order", "erp_document_number": "SO-9"})
    assert [(r.method, r.path, r.body) for r in demo.requests] == [
        ("GET", "/api/v1/orders?status=paid", None),
        (
            "POST",
            "/api/v1/orders/W-1001/exports",
            {"document_type": "order", "erp_document_number": "SO-9"},
        ),
    ]
