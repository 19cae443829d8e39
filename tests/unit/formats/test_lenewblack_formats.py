"""Le New Black JSON formats: bodies written from IPSoft's master data, order pages read."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from koppel.documents import Address, Order, OrderLine, Party, Price, Product, StockLevel
from koppel.formats import Format, default_registry

DATA = Path(__file__).parents[2] / "data"


def _format(name: str) -> Format:
    return default_registry().get(name)


def _written(name: str, document: Any) -> dict[str, Any]:
    """The body a format writes, after checking it against the format's JSON Schema."""
    fmt = _format(name)
    payload = fmt.write(document, context={})
    assert fmt.validate(payload, source=name) == []
    body: dict[str, Any] = json.loads(payload)
    return body


def test_an_ipsoft_customer_becomes_a_customer_body() -> None:
    page = (DATA / "ipsoft" / "list_customers.xml").read_bytes()
    zoe, jansen = default_registry().get("ipsoft.customers").read(page, source="c").documents
    assert _written("lenewblack.customer", zoe) == {
        "id": "C10023",
        "name": "Boutique Zoë",
        "vat_number": "NL001234567B01",
        "email": "inkoop@boutiquezoe.nl",
        "phone": "+31 20 123 4567",
        "language": "nl",
        "currency": "EUR",
        "price_list_id": "WHOLESALE-EUR",
        "billing_address": {
            "street": "Prinsengracht",
            "house_number": "263",
            "house_number_addition": "A",
            "postal_code": "1016 GV",
            "city": "Amsterdam",
            "country": "NL",
        },
        "buyers": [
            {"name": "Zoë de Vries", "email": "zoe@boutiquezoe.nl", "phone": "+31 6 1234 5678"},
            {"name": "Pieter Bakker", "email": "pieter@boutiquezoe.nl"},
        ],
    }
    body = _written("lenewblack.customer", jansen)
    assert (body["id"], body["buyers"], "email" in body) == ("C10024", [], False)


def test_a_product_body_carries_category_colour_and_composition() -> None:
    product = Product(
        sku="DRS-0457-NVY-38",
        gtin="8712345678906",
        name="Wrap dress Lotte",
        category="Dresses",
        colour="Navy",
        size="38",
        composition="95% viscose, 5% elastane",
        active=False,
    )
    assert _written("lenewblack.product", product) == {
        "sku": "DRS-0457-NVY-38",
        "ean13": "8712345678906",
        "name": "Wrap dress Lotte",
        "category": "Dresses",
        "colour": "Navy",
        "size": "38",
        "composition": "95% viscose, 5% elastane",
        "active": False,
    }


def test_a_bad_ean_fails_the_product_schema() -> None:
    fmt = _format("lenewblack.product")
    payload = fmt.write(Product(sku="B", gtin="87123456", name="Belt"), context={})
    assert [(p.code, p.field) for p in fmt.validate(payload, source="p")] == [
        ("schema.invalid", "ean13")
    ]


@pytest.mark.parametrize(
    ("amount", "min_quantity", "expected"),
    [
        (Decimal("12.50"), Decimal(1), {"amount": "12.50", "min_quantity": "1"}),
        (Decimal("0.1050"), Decimal("12.5"), {"amount": "0.1050", "min_quantity": "12.5"}),
        (Decimal("1E+1"), Decimal("1.0"), {"amount": "10", "min_quantity": "1.0"}),
    ],
)
def test_price_decimals_are_exact_json_strings(
    amount: Decimal, min_quantity: Decimal, expected: dict[str, str]
) -> None:
    price = Price(
        price_list_id="WHOLESALE-EUR",
        sku="DRS-0457-NVY-38",
        currency="EUR",
        amount=amount,
        min_quantity=min_quantity,
    )
    body = _written("lenewblack.price", price)
    assert body == {"sku": "DRS-0457-NVY-38", "currency": "EUR", **expected}
    assert list(body) == ["sku", "amount", "currency", "min_quantity"]


def test_a_stock_body_is_the_available_quantity() -> None:
    level = StockLevel(sku="A", quantity=Decimal("-2.000"), as_of=datetime(2025, 3, 14, tzinfo=UTC))
    assert _written("lenewblack.stock", level) == {"sku": "A", "available": "-2.000"}
    with_warehouse = level.model_copy(update={"warehouse": "AMS", "quantity": Decimal(12)})
    assert _written("lenewblack.stock", with_warehouse) == {
        "sku": "A",
        "available": "12",
        "warehouse": "AMS",
    }


def test_an_orders_page_becomes_orders() -> None:
    result = _format("lenewblack.orders").read(
        (DATA / "lenewblack" / "orders_page.json").read_bytes(), source="page.json"
    )
    assert result.problems == []
    assert result.documents == [
        Order(
            order_id="LNB-100045",
            issue_date=date(2025, 3, 14),
            issue_time=datetime(2025, 3, 14, 23, 30, tzinfo=timezone(timedelta(hours=1))),
            currency="EUR",
            buyer=Party(id="4711", name="Boutique Zoë", erp_reference="C10023"),
            delivery=Party(
                name="Boutique Zoë (winkel)",
                address=Address(
                    street="Prinsengracht",
                    house_number="263",
                    house_number_addition="A",
                    postal_code="1016 GV",
                    city="Amsterdam",
                    country="NL",
                ),
            ),
            lines=[
                OrderLine(
                    line_id="1",
                    sku="DRS-0457-NVY-38",
                    quantity=Decimal(2),
                    unit_price=Decimal("49.95"),
                ),
                OrderLine(
                    line_id="2",
                    sku="BLT-0012-BRN-90",
                    quantity=Decimal("12.5"),
                    unit_price=Decimal("0.10"),
                ),
            ],
            note="Levering na 10:00",
        ),
        Order(
            order_id="LNB-100046",
            issue_date=date(2025, 3, 15),
            issue_time=datetime(2025, 3, 15, 9, 0, tzinfo=UTC),
            currency="EUR",
            buyer=Party(id="4712", name="Modehuis Jansen"),
            lines=[
                OrderLine(
                    line_id="1",
                    sku="DRS-0457-NVY-38",
                    quantity=Decimal(1),
                    unit_price=Decimal("49.95"),
                )
            ],
        ),
    ]


def test_an_order_read_from_lnb_can_be_written_for_ipsoft() -> None:
    result = _format("lenewblack.orders").read(
        (DATA / "lenewblack" / "orders_page.json").read_bytes(), source="page.json"
    )
    fmt = _format("ipsoft.create_order")
    payload = fmt.write(result.documents[0], context={})
    assert fmt.validate(payload, source="o") == []
    assert b"<Quantity>12.5</Quantity>" in payload


def test_an_orders_page_against_its_schema() -> None:
    page: dict[str, Any] = json.loads((DATA / "lenewblack" / "orders_page.json").read_bytes())
    page["orders"][0]["lines"][1]["quantity"] = 12.5
    del page["orders"][1]["customer"]["erp_reference"]
    result = _format("lenewblack.orders").read(json.dumps(page).encode(), source="p.json")
    assert result.documents == []
    assert sorted((p.code, p.field) for p in result.problems) == [
        ("schema.invalid", "orders[0].lines[1].quantity"),
        ("schema.invalid", "orders[1].customer"),
    ]
