"""The CRM contract and its emulator, over real HTTP with ``requests``.

Quotes and deals share the webshop's conventions (the same record API), so
these tests use the webshop tests' ``ContractClient``: every answer is
checked against the CRM contract's own JSON Schemas.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from koppel.sandbox.crm import (
    DEMO_DEALS,
    DEMO_QUOTES,
    SCHEMA_DIR,
    CrmServer,
    QuoteLine,
    ServiceLine,
    crm_deal,
    crm_quote,
    schema_validators,
)
from tests.fixtures.crm import CRM_CONN_ID
from tests.integration.test_webshop_api import (
    ContractClient,
    assert_openapi_names_every_schema,
    openapi_refs,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
SALES_INVOICE = {"document_type": "sales_invoice", "erp_document_number": "VF-2026-0042"}


@pytest.fixture
def crm(crm_server: CrmServer) -> ContractClient:
    """A client of the empty CRM emulator."""
    return ContractClient(crm_server, schema_validators())


@pytest.fixture
def demo(crm_server: CrmServer) -> CrmServer:
    """The CRM emulator with the demo quotes and deals."""
    crm_server.seed_demo()
    return crm_server


def test_the_openapi_document_names_every_schema_file() -> None:
    assert_openapi_names_every_schema(SCHEMA_DIR)
    document, _ = openapi_refs(SCHEMA_DIR)
    assert set(document["paths"]) == {
        f"/{collection}{suffix}"
        for collection in ("quotes", "deals")
        for suffix in ("", "/{reference}", "/{reference}/exports")
    }


def test_the_crm_needs_its_token(crm: ContractClient, demo: CrmServer) -> None:
    for path in ("quotes", "deals/D-2026-0001"):
        answer = crm.call("GET", path, schema="", expect=401, token="not-the-token")
        assert crm.error_code(answer) == "UNAUTHORIZED"
    assert json.loads(demo.airflow_connection())["password"] == demo.token
    assert (demo.conn_id, demo.host) == (CRM_CONN_ID, "127.0.0.1")


def test_every_demo_record_matches_its_schema(crm: ContractClient, demo: CrmServer) -> None:
    for reference in DEMO_QUOTES:
        quote = crm.get(f"quotes/{reference}", "quote.schema.json")
        assert quote == demo.record_json("quotes", reference)
    for reference in DEMO_DEALS:
        assert crm.get(f"deals/{reference}", "deal.schema.json")["reference"] == reference
    assert crm.get("quotes/Q-2026-0001", "quote.schema.json")["valid_until"] == "2026-12-31"
    open_deal = crm.get("deals/D-2026-0002", "deal.schema.json")
    assert (open_deal["status"], open_deal["closed_on"]) == ("open", None)


def test_deal_lines_are_services_without_a_product_code(
    crm: ContractClient, demo: CrmServer
) -> None:
    deal = crm.get("deals/D-2026-0001", "deal.schema.json")
    assert deal["lines"] == [
        {
            "line_number": 1,
            "description": "Consultancy inrichting B2B-portaal (uren)",
            "quantity": "7.5",
            "unit_price": "95.00",
            "tax_rate": "21",
            "line_total": "712.50",
        },
        {
            "line_number": 2,
            "description": "Workshop collectiebeheer, vaste prijs",
            "quantity": "1",
            "unit_price": "1250.00",
            "tax_rate": "21",
            "line_total": "1250.00",
        },
    ]
    # 712.50 x 21 % = 149.625 -> 149.63, plus 262.50: per line 412.13, not 412.125.
    assert deal["tax_lines"] == [
        {"rate": "21", "taxable_amount": "1962.50", "tax_amount": "412.13"}
    ]
    assert (deal["total"], deal["closed_on"], deal["status"]) == ("2374.63", "2026-11-20", "won")


def test_quotes_page_in_three(crm: ContractClient, crm_server: CrmServer) -> None:
    for n in range(5):
        crm_server.add_quote(
            crm_quote(
                f"Q-{n}",
                lines=[QuoteLine("NZ2401-NAVY-M", "T-shirt", "1", "10.00")],
                valid_until=date(2026, 12, 31),
                created_at=T0 + timedelta(hours=4 - n),
            )
        )
    pages = [crm.get("quotes", "quotes_page.schema.json", page=n, page_size=2) for n in (1, 2, 3)]
    assert {(p["total_pages"], p["total_count"]) for p in pages} == {(3, 5)}
    assert [q["reference"] for p in pages for q in p["quotes"]] == [
        f"Q-{n}" for n in range(4, -1, -1)
    ]
    assert crm.get("deals", "deals_page.schema.json")["total_pages"] == 0


def test_filters_by_status_and_export_mark(crm: ContractClient, demo: CrmServer) -> None:
    won = crm.get("deals", "deals_page.schema.json", status="won")
    assert [d["reference"] for d in won["deals"]] == ["D-2026-0001"]
    assert crm.get("quotes", "", expect=400, status="won")["error"]["code"] == "INVALID_REQUEST"
    crm.mark("deals/D-2026-0001", SALES_INVOICE)
    pending = crm.get("deals", "deals_page.schema.json", not_exported_as="sales_invoice")
    assert [d["reference"] for d in pending["deals"]] == ["D-2026-0002"]
    sent = crm.get("quotes", "quotes_page.schema.json", status="sent", not_exported_as="quote")
    assert [q["reference"] for q in sent["quotes"]] == list(DEMO_QUOTES)


def test_unknown_records_have_their_own_404_codes(crm: ContractClient, demo: CrmServer) -> None:
    assert crm.error_code(crm.get("quotes/Q-0", "", expect=404)) == "QUOTE_NOT_FOUND"
    assert crm.error_code(crm.get("deals/D-0", "", expect=404)) == "DEAL_NOT_FOUND"
    assert crm.error_code(crm.mark("deals/D-0", SALES_INVOICE, 404)) == "DEAL_NOT_FOUND"
    assert crm.error_code(crm.get("orders", "", expect=404)) == "NOT_FOUND"


def test_export_marks_are_idempotent_conflict_and_keep_updated_at(
    crm: ContractClient, demo: CrmServer
) -> None:
    before = crm.get("deals/D-2026-0001", "deal.schema.json")
    assert crm.mark("deals/D-2026-0001", SALES_INVOICE) == {
        "reference": "D-2026-0001",
        "exports": {"sales_invoice": "VF-2026-0042"},
    }
    assert crm.mark("deals/D-2026-0001", SALES_INVOICE)["exports"] == {
        "sales_invoice": "VF-2026-0042"
    }
    other = {**SALES_INVOICE, "erp_document_number": "VF-2026-0043"}
    assert crm.error_code(crm.mark("deals/D-2026-0001", other, 409)) == "EXPORT_CONFLICT"
    after = crm.get("deals/D-2026-0001", "deal.schema.json")
    assert (after["updated_at"], after["status"]) == (before["updated_at"], before["status"])
    assert after["exports"] == {"sales_invoice": "VF-2026-0042"}


@pytest.mark.parametrize(
    "body",
    [b"{", {"document_type": "quote"}, {"document_type": "offer", "erp_document_number": "1"}],
)
def test_an_invalid_export_body_is_400(crm: ContractClient, demo: CrmServer, body: object) -> None:
    assert crm.error_code(crm.mark("quotes/Q-2026-0001", body, 400)) == "INVALID_REQUEST"
    with demo.state.lock:
        assert demo.state.quotes["Q-2026-0001"].exports == {}


def test_a_crm_user_accepting_a_quote_moves_updated_at(
    crm: ContractClient, demo: CrmServer
) -> None:
    before = crm.get("quotes/Q-2026-0002", "quote.schema.json")["updated_at"]
    demo.set_status("Q-2026-0002", "accepted")
    after = crm.get("quotes/Q-2026-0002", "quote.schema.json")
    assert after["status"] == "accepted"
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(before)


def test_yen_and_dinar_deals_round_to_their_currency(
    crm: ContractClient, crm_server: CrmServer
) -> None:
    crm_server.add_deal(
        crm_deal(
            "D-JPY",
            currency="JPY",
            lines=[ServiceLine("Consulting", "2.5", "12345", "10")],
            closed_on=date(2026, 11, 2),
            created_at=T0,
        )
    )
    crm_server.add_deal(
        crm_deal(
            "D-BHD",
            currency="BHD",
            lines=[
                ServiceLine("Consulting", "1.5", "20.1235", "10"),
                ServiceLine("Training", "1", "0.0055", "10"),
            ],
            closed_on=date(2026, 11, 2),
            created_at=T0,
        )
    )
    yen = crm.get("deals/D-JPY", "deal.schema.json")
    # 2.5 x 12345 = 30862.5 -> 30863; tax 3086.3 -> 3086.
    assert (yen["lines"][0]["line_total"], yen["total"]) == ("30863", "33949")
    assert yen["tax_lines"] == [{"rate": "10", "taxable_amount": "30863", "tax_amount": "3086"}]
    dinar = crm.get("deals/D-BHD", "deal.schema.json")
    # 30.18525 -> 30.185 (tax 3.0185 -> 3.019); 0.0055 -> 0.006 (tax 0.0006 -> 0.001).
    assert [line["line_total"] for line in dinar["lines"]] == ["30.185", "0.006"]
    assert dinar["tax_lines"] == [{"rate": "10", "taxable_amount": "30.191", "tax_amount": "3.020"}]
    assert dinar["total"] == "33.211"


def test_tax_inclusive_quotes_hold_the_tax_within(
    crm: ContractClient, crm_server: CrmServer
) -> None:
    crm_server.add_quote(
        crm_quote(
            "Q-INCL",
            lines=[
                QuoteLine("NZ2401-NAVY-M", "T-shirt", "1", "10.00", "21"),
                QuoteLine("NZ2401-NAVY-L", "T-shirt", "1", "10.00", "21"),
                QuoteLine("NZ2403-OKER-OS", "Sjaal", "1", "5.45", "9"),
            ],
            valid_until=date(2026, 12, 1),
            prices_include_tax=True,
        )
    )
    quote = crm.get("quotes/Q-INCL", "quote.schema.json")
    # 10.00 x 21 / 121 = 1.7355 -> 1.74 twice (per rate: 20.00 -> 3.47); 5.45 x 9 / 109 = 0.45.
    assert quote["tax_lines"] == [
        {"rate": "21", "taxable_amount": "16.52", "tax_amount": "3.48"},
        {"rate": "9", "taxable_amount": "5.00", "tax_amount": "0.45"},
    ]
    assert quote["total"] == "25.45"


def test_failures_and_requests_are_observable(crm: ContractClient, demo: CrmServer) -> None:
    demo.fail_next()
    assert crm.error_code(crm.get("deals", "", expect=503)) == "SERVICE_UNAVAILABLE"
    crm.get("deals", "deals_page.schema.json", status="won")
    assert [(r.method, r.path) for r in demo.requests] == [
        ("GET", "/api/v1/deals"),
        ("GET", "/api/v1/deals?status=won"),
    ]
