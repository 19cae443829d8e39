"""IPSoft SOAP formats: list responses read into documents, orders written for CreateOrder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import (
    Address,
    Contact,
    CostKind,
    CostLine,
    Order,
    OrderLine,
    Party,
    Price,
    Product,
    StockLevel,
)
from koppel.formats import DocumentWriteError, Format, default_registry

DATA = Path(__file__).parents[2] / "data" / "ipsoft"
IPS = "urn:koppel:ipsoft:erp:1"


def _format(name: str) -> Format:
    return default_registry().get(name)


def _read(name: str, sample: str) -> list[object]:
    result = _format(name).read((DATA / sample).read_bytes(), source=sample)
    assert result.problems == []
    return list(result.documents)


def test_customers_bring_billing_address_and_buyers() -> None:
    assert _read("ipsoft.customers", "list_customers.xml") == [
        Party(
            id="C10023",
            erp_reference="C10023",
            name="Boutique Zoë",
            vat_number="NL001234567B01",
            language="nl",
            currency="EUR",
            price_list_id="WHOLESALE-EUR",
            billing_address=Address(
                street="Prinsengracht",
                house_number="263",
                house_number_addition="A",
                postal_code="1016 GV",
                city="Amsterdam",
                country="NL",
            ),
            contacts=[
                Contact(
                    name="Boutique Zoë",
                    email="inkoop@boutiquezoe.nl",
                    phone="+31 20 123 4567",
                    role="customer",
                ),
                Contact(
                    name="Zoë de Vries",
                    email="zoe@boutiquezoe.nl",
                    phone="+31 6 1234 5678",
                    role="buyer",
                ),
                Contact(name="Pieter Bakker", email="pieter@boutiquezoe.nl", role="buyer"),
            ],
        ),
        Party(
            id="C10024",
            erp_reference="C10024",
            name="Modehuis Jansen",
            currency="EUR",
            billing_address=Address(
                street="Grote Markt",
                house_number="1",
                postal_code="9711 LV",
                city="Groningen",
                country="NL",
            ),
            contacts=[Contact(name="Modehuis Jansen", role="customer")],
        ),
    ]


def test_products_without_sku_or_with_a_bad_ean_are_still_read() -> None:
    assert _read("ipsoft.products", "list_products.xml") == [
        Product(
            sku="DRS-0457-NVY-38",
            gtin="8712345678906",
            name="Wrap dress Lotte",
            description="Wrap dress with long sleeves",
            category="Dresses",
            colour="Navy",
            size="38",
            composition="95% viscose, 5% elastane",
            season="SS25",
            brand="Studio Noord",
            active=True,
        ),
        Product(gtin="8712345678913", name="Scarf Mila (no SKU)", active=True),
        Product(sku="BLT-0012-BRN-90", gtin="87123456", name="Leather belt", active=False),
    ]


def test_prices_keep_every_decimal() -> None:
    assert _read("ipsoft.prices", "list_prices.xml") == [
        Price(
            price_list_id="WHOLESALE-EUR",
            sku="DRS-0457-NVY-38",
            currency="EUR",
            amount=Decimal("49.95"),
            min_quantity=Decimal(1),
            valid_from=date(2025, 1, 1),
        ),
        Price(
            price_list_id="WHOLESALE-EUR",
            sku="DRS-0457-NVY-38",
            currency="EUR",
            amount=Decimal("44.9550"),
            min_quantity=Decimal("12.5"),
        ),
    ]


def test_stock_is_available_to_sell_as_of_its_modification() -> None:
    assert _read("ipsoft.stock", "list_stock.xml") == [
        StockLevel(
            sku="DRS-0457-NVY-38",
            quantity=Decimal(12),
            warehouse="AMS",
            as_of=datetime(2025, 3, 14, 6, 0, tzinfo=UTC),
        ),
        StockLevel(
            sku="BLT-0012-BRN-90",
            quantity=Decimal("-2.000"),
            as_of=datetime(2025, 3, 14, 6, 5, tzinfo=timezone(timedelta(hours=1))),
        ),
    ]


def test_the_response_inside_the_envelope_is_checked_against_the_xsd() -> None:
    data = (DATA / "list_customers.xml").read_bytes().replace(b">C10024<", b">10024<")
    result = _format("ipsoft.customers").read(data, source="page.xml")
    assert result.documents == []
    (problem,) = result.problems
    assert (problem.code, problem.file, problem.line) == ("xsd.invalid", "page.xml", 42)
    assert "CustomerNumber" in problem.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "found 0"),
        (b"<ips:ListStockResponse/><ips:ListStockResponse/>", "found 2"),
    ],
)
def test_a_body_without_exactly_one_response_is_refused(body: bytes, message: str) -> None:
    data = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:ips="urn:koppel:ipsoft:erp:1"><soap:Body>' + body + b"</soap:Body></soap:Envelope>"
    )
    (problem,) = _format("ipsoft.stock").read(data, source="s").problems
    assert problem.code == "xsd.invalid"
    assert message in problem.message


def test_a_soap_fault_is_not_a_list_response() -> None:
    data = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
<soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>no</faultstring>
</soap:Fault></soap:Body></soap:Envelope>"""
    result = _format("ipsoft.prices").read(data, source="f")
    assert result.documents == []
    (problem,) = result.problems
    assert problem.code == "xsd.wrong_root"
    assert problem.message.startswith(
        "the document is a <Fault> in namespace http://schemas.xmlsoap.org/soap/envelope/, "
        "but format ipsoft.prices expects one of <ListCustomersRequest>, "
    )


def _order(**changes: object) -> Order:
    order = Order(
        order_id="LNB-100045",
        issue_date=date(2025, 3, 14),
        currency="EUR",
        buyer=Party(id="4711", name="Boutique Zoë", erp_reference="C10023"),
        delivery=Party(
            name="Boutique Zoë (winkel)",
            address=Address(
                street="Prinsengracht",
                house_number="263",
                postal_code="1016 GV",
                city="Amsterdam",
                country="NL",
            ),
        ),
        lines=[
            OrderLine(
                line_id="1", sku="DRS-0457-NVY-38", quantity=Decimal(2), unit_price=Decimal("49.95")
            ),
            OrderLine(
                line_id="2",
                sku="BLT-0012-BRN-90",
                quantity=Decimal("12.5"),
                unit_price=Decimal("0.1050"),
            ),
        ],
        note="Levering na 10:00",
    )
    return order.model_copy(update=changes)


def _text(root: etree._Element, path: str) -> list[str]:
    return [str(t) for t in root.xpath(f"{path}/text()", namespaces={"ips": IPS})]


def test_an_order_becomes_a_valid_create_order_request() -> None:
    fmt = _format("ipsoft.create_order")
    payload = fmt.write(_order(), context={})
    assert fmt.validate(payload, source="o") == []
    root = etree.fromstring(payload)
    assert root.tag == f"{{{IPS}}}CreateOrderRequest"
    order = "/ips:CreateOrderRequest/ips:Order"
    assert _text(root, f"{order}/ips:PortalOrderReference") == ["LNB-100045"]
    assert _text(root, f"{order}/ips:CustomerNumber") == ["C10023"]
    assert _text(root, f"{order}/ips:OrderDate") == ["2025-03-14"]
    assert _text(root, f"{order}/ips:DeliveryAddress/ips:Name") == ["Boutique Zoë (winkel)"]
    assert (
        root.xpath(f"{order}/ips:DeliveryAddress/ips:HouseNumberAddition", namespaces={"ips": IPS})
        == []
    )
    assert _text(root, f"{order}/ips:Lines/ips:Line/ips:Sku") == [
        "DRS-0457-NVY-38",
        "BLT-0012-BRN-90",
    ]
    assert _text(root, f"{order}/ips:Lines/ips:Line/ips:Quantity") == ["2", "12.5"]
    assert _text(root, f"{order}/ips:Lines/ips:Line/ips:UnitPrice") == ["49.95", "0.1050"]
    assert _text(root, f"{order}/ips:Remarks") == ["Levering na 10:00"]


def test_an_order_without_customer_reference_cannot_be_written() -> None:
    buyer = Party(id="4712", name="Modehuis Jansen")
    with pytest.raises(DocumentWriteError) as caught:
        _format("ipsoft.create_order").write(_order(buyer=buyer, delivery=None), context={})
    assert {(p.code, p.field) for p in caught.value.problems} >= {
        ("mapping.required", "buyer.erp_reference"),
        ("mapping.required", "delivery.name"),
    }


def test_an_invalid_customer_reference_fails_the_xsd() -> None:
    fmt = _format("ipsoft.create_order")
    payload = fmt.write(_order(buyer=Party(erp_reference="10023")), context={})
    (problem,) = fmt.validate(payload, source="o")
    assert (problem.code, problem.field) == (
        "xsd.invalid",
        "/CreateOrderRequest/Order/CustomerNumber",
    )


def test_a_net_order_states_tax_rates_line_amounts_and_charges() -> None:
    """What the rule step document_type makes of a webshop order: net lines and costs."""
    fmt = _format("ipsoft.create_order")
    lines = [
        OrderLine(
            line_id="1",
            sku="NZ2401-NAVY-L",
            quantity=Decimal(3),
            unit_price=Decimal("0.2767"),
            tax_rate=Decimal(21),
            line_amount=Decimal("0.83"),
        )
    ]
    costs = [
        CostLine(kind=CostKind.DISCOUNT, amount=Decimal("0.83"), tax_rate=Decimal(21)),
        CostLine(kind=CostKind.SHIPPING, amount=Decimal("4.09"), description="PostNL"),
    ]
    payload = fmt.write(_order(lines=lines, costs=costs), context={})
    assert fmt.validate(payload, source="o") == []
    root = etree.fromstring(payload)
    line = "/ips:CreateOrderRequest/ips:Order/ips:Lines/ips:Line"
    assert _text(root, f"{line}/ips:UnitPrice") == ["0.2767"]
    assert _text(root, f"{line}/ips:TaxRate") == ["21"]
    assert _text(root, f"{line}/ips:LineAmount") == ["0.83"]
    charge = "/ips:CreateOrderRequest/ips:Order/ips:Charges/ips:Charge"
    assert _text(root, f"{charge}/ips:Kind") == ["discount", "shipping"]
    assert _text(root, f"{charge}/ips:Amount") == ["0.83", "4.09"]
    assert _text(root, f"{charge}/ips:Description") == ["PostNL"]
    # Charges come before Remarks, as the XSD's sequence says.
    assert [etree.QName(c).localname for c in root[0]][-3:] == ["Lines", "Charges", "Remarks"]
