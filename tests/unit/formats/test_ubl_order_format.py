"""``ubl.order``: OASIS UBL 2.0/2.1 Orders read into the canonical Order and written back.

The OASIS examples live in /work/shared/standards/ubl-2.1/xml; our own sample
(an internal UBL2.0SIS order with Peppol-style ids, a free-text line, allowances,
a freight charge and tax) is tests/data/ubl/order-ubl20sis.xml.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import Order
from koppel.documents.orders import CostKind, CostLine, Discount, OrderLine
from koppel.documents.parties import Contact, PartyIdentifier
from koppel.formats import Format, default_registry

from .ubl_support import (
    CAC,
    CBC,
    OASIS,
    assert_round_trips,
    assert_xxe_refused,
    needs_oasis,
    read_one,
)

DATA = Path(__file__).parents[2] / "data" / "ubl"
EXAMPLES = (
    "UBL-Order-2.1-Example.xml",
    "UBL-Order-2.0-Example.xml",
    "UBL-Order-2.0-Example-International.xml",
)


@pytest.fixture(scope="module")
def ubl_order() -> Format:
    return default_registry().get("ubl.order")


def _read(fmt: Format, data: bytes, source: str = "order.xml") -> Order:
    return read_one(fmt, data, Order, source)


def _example(fmt: Format, name: str) -> Order:
    return _read(fmt, (OASIS / "xml" / name).read_bytes(), source=name)


def _sample(fmt: Format) -> Order:
    return _read(fmt, (DATA / "order-ubl20sis.xml").read_bytes())


# --- the format ---------------------------------------------------------------------------


def test_the_registry_lists_ubl_order(ubl_order: Format) -> None:
    assert "ubl.order" in default_registry().names()
    assert ubl_order.document_class is Order
    assert ubl_order.can_read
    assert ubl_order.can_write


def test_koppel_formats_lists_ubl_order(capsys: pytest.CaptureFixture[str]) -> None:
    from koppel.cli import main

    assert main(["formats"]) == 0
    assert "ubl.order" in capsys.readouterr().out.split()


# --- the OASIS examples read ------------------------------------------------------------


@needs_oasis
def test_the_ubl_2_1_example_reads(ubl_order: Format) -> None:
    order = _example(ubl_order, "UBL-Order-2.1-Example.xml")
    assert order.order_id == "34"
    assert order.issue_date == date(2010, 1, 20)
    assert order.currency == "SEK"
    assert order.note == "Information text for the whole order"
    assert order.order_type_code is None
    assert order.requested_delivery_date == date(2010, 2, 25)
    assert order.total_amount == Decimal("6225")

    buyer, seller, delivery = order.buyer, order.seller, order.delivery
    assert buyer is not None
    assert seller is not None
    assert delivery is not None
    assert buyer.name == "Johnssons byggvaror"
    assert buyer.id == "7300070011115"
    assert buyer.identifiers == [
        PartyIdentifier(value="7300070011115", scheme="GLN"),
        PartyIdentifier(value="PartyID123"),
    ]
    assert buyer.endpoint_id == PartyIdentifier(value="7300072311115", scheme="GLN")
    assert buyer.vat_number == "SE1234567801"
    assert buyer.address is not None
    assert (buyer.address.street, buyer.address.house_number) == ("Rådhusgatan", "5")
    assert (buyer.address.postal_code, buyer.address.city) == ("11000", "Stockholm")
    assert (buyer.address.region, buyer.address.country) == ("RegionX", "SE")
    assert buyer.contacts == [Contact(email="pelle@johnsson.se", phone="123456")]

    assert seller.name == "Moderna Produkter AB"
    assert seller.id == "SellerPartyID123"
    assert seller.identifiers == [PartyIdentifier(value="SellerPartyID123")]
    assert seller.endpoint_id == PartyIdentifier(value="7302347231111", scheme="GLN")
    assert seller.address is not None
    assert seller.address.street == "Kungsgatan"

    assert delivery.name == "Swedish trucking"
    assert delivery.identifiers == [PartyIdentifier(value="67654328394567", scheme="GLN")]
    assert delivery.address is not None
    assert delivery.address.city == "Stockholm"
    assert delivery.contacts == [Contact(name="Per", email="bill@svetruck.se", phone="987098709")]

    assert order.lines == [
        OrderLine(
            line_id="1",
            quantity=Decimal("120"),
            unit="LTR",
            unit_price=Decimal("50"),
            line_amount=Decimal("6000"),
            supplier_article_code="SItemNo001",
            gtin="1234567890123",
            gtin_scheme="GTIN",
            description="Falu Rödfärg",
            item_description="Red paint",
            requested_delivery_date=date(2010, 2, 25),
            note="Freetext note on line 1",
        ),
        OrderLine(
            line_id="2",
            quantity=Decimal("15"),
            unit="C62",
            unit_price=Decimal("15"),
            line_amount=Decimal("225"),
            supplier_article_code="SItemNo011",
            gtin="123452340123",
            gtin_scheme="GTIN",
            description="Pensel 20 mm",
            item_description="Very good pencils for red paint.",
            requested_delivery_date=date(2010, 2, 25),
            note="Freetext note on line 2",
        ),
    ]
    assert order.costs == [
        CostLine(kind=CostKind.OTHER, amount=Decimal("100"), description="Transport documents"),
        CostLine(
            kind=CostKind.DISCOUNT, amount=Decimal("100"), description="Total order value discount"
        ),
    ]


@needs_oasis
def test_the_ubl_2_0_example_reads(ubl_order: Format) -> None:
    order = _example(ubl_order, "UBL-Order-2.0-Example.xml")
    assert order.order_id == "AEG012345"
    assert order.issue_date == date(2005, 6, 20)
    assert order.currency == "GBP"  # no DocumentCurrencyCode: the first amount's currencyID
    assert order.note == "sample"
    assert order.requested_delivery_date == date(2005, 6, 29)
    buyer, seller, delivery = order.buyer, order.seller, order.delivery
    assert buyer is not None
    assert seller is not None
    assert delivery is not None
    assert buyer.name == "IYT Corporation"
    assert buyer.customer_assigned_account_id == "XFB01"
    assert buyer.supplier_assigned_account_id == "GT00978567"
    assert buyer.identifiers == []
    assert buyer.vat_number == "12356478"
    assert buyer.address is not None
    assert buyer.address.postal_code == "ZZ99 1ZZ"
    assert buyer.contacts[0].name == "Mr Fred Churchill"
    assert seller.name == "Consortial"
    assert seller.customer_assigned_account_id == "CO001"
    assert seller.vat_number == "175 269 2355"
    # UBL 2.0's Delivery/DeliveryAddress is the delivery address.
    assert delivery.address is not None
    assert (delivery.address.street, delivery.address.city) == ("Avon Way", "Bridgtow")
    (line,) = order.lines
    assert line.line_id == "1"
    assert (line.quantity, line.unit) == (Decimal("100"), "KGM")
    assert line.unit_price == Decimal("100.00")
    assert line.line_amount == Decimal("100.00")
    assert line.customer_article_code == "6578489"
    assert line.supplier_article_code == "17589683"
    assert line.gtin is None
    assert (line.description, line.item_description) == ("beeswax", "Acme beeswax")
    assert line.note == "this is an illustrative order line"


@needs_oasis
def test_the_ubl_2_0_international_example_reads(ubl_order: Format) -> None:
    order = _example(ubl_order, "UBL-Order-2.0-Example-International.xml")
    assert order.order_id == "AEG012345"
    assert order.currency == "USD"
    buyer, seller = order.buyer, order.seller
    assert buyer is not None
    assert seller is not None
    assert buyer.name == "IYT Corporation"
    assert buyer.customer_assigned_account_id == "XFB01"
    assert buyer.supplier_assigned_account_id == "GT00978567"
    assert buyer.vat_number is None
    assert seller.name == "Consortial"
    assert seller.customer_assigned_account_id == "CO001"
    assert seller.address is not None
    assert (seller.address.city, seller.address.region, seller.address.country) == (
        "Billerica",
        "Massachusetts",
        "US",
    )
    (line,) = order.lines
    assert (line.line_id, line.quantity, line.unit) == ("1", Decimal("100"), "KGM")
    assert line.unit_price == Decimal("10.00")
    assert line.line_amount == Decimal("1000.00")
    assert (line.customer_article_code, line.supplier_article_code) == ("6578489", "17589683")
    assert (line.description, line.item_description) == ("Acme Beeswax", "Beeswax")


# --- our sample: type code, Peppol ids, free text, allowances, tax ----------------------


def test_an_internal_ubl20sis_order_keeps_its_type_code(ubl_order: Format) -> None:
    order = _sample(ubl_order)
    assert order.order_type_code == "UBL2.0SIS"
    assert order.order_id == "PO-2026-0042"
    assert order.external_reference == "A-PO-42"
    assert order.version_id == "2.0"
    written = ubl_order.write(order, context={})
    assert b"<cbc:OrderTypeCode>UBL2.0SIS</cbc:OrderTypeCode>" in written
    assert b"<cbc:UBLVersionID>2.0</cbc:UBLVersionID>" in written
    assert _read(ubl_order, written).order_type_code == "UBL2.0SIS"


def test_an_order_without_a_version_is_written_as_2_1(ubl_order: Format) -> None:
    order = _sample(ubl_order).model_copy(update={"version_id": None})
    written = ubl_order.write(order, context={})
    assert etree.fromstring(written).findtext(f"{{{CBC}}}UBLVersionID") == "2.1"
    assert _read(ubl_order, written).version_id == "2.1"


def test_gln_0088_identifiers_and_endpoints_keep_their_scheme(ubl_order: Format) -> None:
    order = _sample(ubl_order)
    assert order.buyer is not None
    assert order.seller is not None
    assert order.delivery is not None
    assert order.buyer.endpoint_id == PartyIdentifier(value="8712345000004", scheme="0088")
    assert order.buyer.identifier("0088") == "8712345000004"
    assert order.seller.identifiers == [
        PartyIdentifier(value="8712345000011", scheme="0088"),
        PartyIdentifier(value="12345678", scheme="0106"),
    ]
    assert order.delivery.id == "8712345000028"


def test_a_free_text_line_without_item_ids_reads(ubl_order: Format) -> None:
    line = _sample(ubl_order).lines[1]
    assert line.line_id == "20"
    assert line.description == "Mixing the paint to colour RAL 5015 on site"
    assert line.item_description is None
    assert (line.quantity, line.unit, line.unit_price) == (Decimal("2"), "HUR", Decimal("45.00"))
    assert line.article_key is None
    assert (line.gtin, line.supplier_article_code, line.customer_article_code) == (None,) * 3


def test_gtin_under_scheme_0160_and_gtin_both_land_in_gtin(ubl_order: Format) -> None:
    peppol = _sample(ubl_order).lines[0]
    assert (peppol.gtin, peppol.gtin_scheme) == ("08712345678906", "0160")
    source = (DATA / "order-ubl20sis.xml").read_bytes()
    oasis = _read(ubl_order, source.replace(b'schemeID="0160"', b'schemeID="GTIN"')).lines[0]
    assert (oasis.gtin, oasis.gtin_scheme) == ("08712345678906", "GTIN")


def test_allowances_charges_and_tax_rates(ubl_order: Format) -> None:
    order = _sample(ubl_order)
    line = order.lines[0]
    assert line.discounts == [
        Discount(percentage=Decimal("10"), amount=Decimal("4.00"), reason="Volume")
    ]
    assert line.tax_rate == Decimal("21")
    assert (line.customer_article_code, line.supplier_article_code) == ("A-778", "B-1201")
    assert order.costs == [
        CostLine(
            kind=CostKind.SHIPPING,
            amount=Decimal("12.50"),
            description="Freight",
            tax_rate=Decimal("21"),
        )
    ]


# --- round trip ----------------------------------------------------------------------------


def _round_trip(fmt: Format, original: Order) -> None:
    written = assert_round_trips(fmt, original, "Order")
    root = etree.fromstring(written)
    assert root.findtext(f"{{{CBC}}}UBLVersionID") == (original.version_id or "2.1")


@needs_oasis
@pytest.mark.parametrize("name", EXAMPLES)
def test_each_oasis_example_round_trips(ubl_order: Format, name: str) -> None:
    _round_trip(ubl_order, _example(ubl_order, name))


def test_our_sample_round_trips(ubl_order: Format) -> None:
    _round_trip(ubl_order, _sample(ubl_order))


def test_every_cost_kind_is_written_as_an_allowance_or_charge(ubl_order: Format) -> None:
    order = _sample(ubl_order).model_copy(
        update={
            "costs": [
                CostLine(kind=CostKind.DISCOUNT, amount=Decimal("5")),
                CostLine(kind=CostKind.SHIPPING, amount=Decimal("7")),
                CostLine(kind=CostKind.OTHER, amount=Decimal("3"), description="Pallet"),
            ]
        }
    )
    _round_trip(ubl_order, order)
    # A fee has no UBL kind of its own: it is written as a charge and reads back as "other".
    fee = order.model_copy(update={"costs": [CostLine(kind=CostKind.FEE, amount=Decimal("2"))]})
    back = _read(ubl_order, ubl_order.write(fee, context={}))
    assert back.costs == [CostLine(kind=CostKind.OTHER, amount=Decimal("2"))]


def test_an_order_without_an_issue_date_cannot_be_written(ubl_order: Format) -> None:
    from koppel.formats import DocumentWriteError

    order = _sample(ubl_order).model_copy(update={"issue_date": None})
    with pytest.raises(DocumentWriteError):
        ubl_order.write(order, context={})


# --- hostile input ---------------------------------------------------------------------------


def test_xxe_in_a_ubl_order_yields_only_a_doctype_problem(
    ubl_order: Format, tmp_path: Path
) -> None:
    assert_xxe_refused(ubl_order, "Order", tmp_path)


def test_a_doctype_without_entities_is_refused_too(ubl_order: Format) -> None:
    data = (DATA / "order-ubl20sis.xml").read_bytes()
    data = data.replace(b"<Order ", b"<!DOCTYPE Order>\n<Order ", 1)
    result = ubl_order.read(data, source="doctype.xml")
    assert result.documents == []
    assert [p.code for p in result.problems] == ["xml.doctype"]


def test_a_lone_party_is_not_an_order(ubl_order: Format) -> None:
    data = (
        b'<cac:Party xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:'
        b'CommonAggregateComponents-2"/>'
    )
    result = ubl_order.read(data, source="party.xml")
    assert result.documents == []
    assert [p.code for p in result.problems] == ["xsd.invalid"]


def test_an_order_invalid_against_the_xsd_is_refused(ubl_order: Format) -> None:
    data = (DATA / "order-ubl20sis.xml").read_bytes().replace(b"<cbc:IssueDate>", b"<cbc:Bogus>", 1)
    data = data.replace(b"</cbc:IssueDate>", b"</cbc:Bogus>", 1)
    result = ubl_order.read(data, source="bad.xml")
    assert result.documents == []
    assert result.problems
    assert all(p.code.startswith("xsd") for p in result.problems)


@needs_oasis
@pytest.mark.parametrize(
    ("base", "price"),
    [
        ("1", Decimal("50")),
        ("1.000", Decimal("50")),
        ("100", Decimal("0.5")),
        (None, Decimal("50")),
    ],
)
def test_the_unit_price_is_the_price_amount_per_base_quantity(
    ubl_order: Format, base: str | None, price: Decimal
) -> None:
    data = (OASIS / "xml" / "UBL-Order-2.1-Example.xml").read_bytes()
    original = b'<cbc:BaseQuantity unitCode="LTR">1</cbc:BaseQuantity>'
    assert original in data
    replacement = b"" if base is None else original.replace(b">1<", f">{base}<".encode())
    order = _read(ubl_order, data.replace(original, replacement))
    assert order.lines[0].unit_price == price
    _round_trip(ubl_order, order)


def test_a_line_without_a_price_reads_without_one(ubl_order: Format) -> None:
    data = (DATA / "order-ubl20sis.xml").read_bytes()
    price = (
        b"<cac:Price>\n"
        b'        <cbc:PriceAmount currencyID="EUR">45.00</cbc:PriceAmount>\n'
        b"      </cac:Price>"
    )
    assert price in data
    order = _read(ubl_order, data.replace(price, b""))
    assert order.lines[1].unit_price is None
    _round_trip(ubl_order, order)


# --- blocks written only with their values ------------------------------------------------


def test_no_party_tax_scheme_without_a_vat_number(ubl_order: Format) -> None:
    order = _sample(ubl_order)
    assert order.buyer is not None
    assert order.seller is not None
    buyer = order.buyer.model_copy(update={"vat_number": None})
    seller = order.seller.model_copy(update={"vat_number": "NL123456789B01"})
    written = ubl_order.write(
        order.model_copy(update={"buyer": buyer, "seller": seller}), context={}
    )
    root = etree.fromstring(written)
    ns = {"cac": CAC, "cbc": CBC}
    assert root.find("cac:BuyerCustomerParty/cac:Party/cac:PartyTaxScheme", ns) is None
    seller_scheme = root.find("cac:SellerSupplierParty/cac:Party/cac:PartyTaxScheme", ns)
    assert seller_scheme is not None
    assert seller_scheme.findtext("cbc:CompanyID", namespaces=ns) == "NL123456789B01"
    assert seller_scheme.findtext("cac:TaxScheme/cbc:ID", namespaces=ns) == "VAT"
    assert ubl_order.validate(written, source="written.xml") == []


def test_tax_categories_only_where_there_is_a_tax_rate(ubl_order: Format) -> None:
    order = _sample(ubl_order)
    lines = [order.lines[0], order.lines[1].model_copy(update={"tax_rate": None})]
    costs = [cost.model_copy(update={"tax_rate": None}) for cost in order.costs]
    changed = order.model_copy(update={"lines": lines, "costs": costs})
    written = ubl_order.write(changed, context={})
    root = etree.fromstring(written)
    ns = {"cac": CAC, "cbc": CBC}
    items = root.findall("cac:OrderLine/cac:LineItem/cac:Item", ns)
    assert [item.find("cac:ClassifiedTaxCategory", ns) is not None for item in items] == [
        True,
        False,
    ]
    assert root.find("cac:AllowanceCharge/cac:TaxCategory", ns) is None
    assert ubl_order.validate(written, source="written.xml") == []
    assert _read(ubl_order, written) == changed
