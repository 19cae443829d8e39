"""``ubl.despatch_advice``: OASIS UBL 2.0/2.1 DespatchAdvices read into the canonical Waybill and
written back.

The OASIS example lives in /work/shared/standards/ubl-2.1/xml; our own waybill
(seed 003: store B delivers store A's internal order, short on one line, with
lots, serial numbers, a best-before date and purchase prices) is
tests/data/despatch_advices/waybill-t16.xml, a Peppol T16 document, which is
UBL 2.1 too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import Waybill, WaybillLine
from koppel.documents.parties import Address, Contact, Party, PartyIdentifier
from koppel.documents.status import Lot, SerialNumber
from koppel.formats import DocumentWriteError, Format, default_registry

from .ubl_support import (
    OASIS,
    assert_round_trips,
    assert_xxe_refused,
    needs_oasis,
    read_one,
    ubl_namespaces,
)

DATA = Path(__file__).parents[2] / "data" / "despatch_advices"
EXAMPLE = "UBL-DespatchAdvice-2.0-Example.xml"
NS = ubl_namespaces("da", "DespatchAdvice")


@pytest.fixture(scope="module")
def ubl_despatch() -> Format:
    return default_registry().get("ubl.despatch_advice")


def _read(fmt: Format, data: bytes, source: str = "waybill.xml") -> Waybill:
    return read_one(fmt, data, Waybill, source)


def short_delivery() -> Waybill:
    """Seed 003's waybill as Koppel builds it: 3 of 5 delivered (1 outstanding, 1 on
    backorder), lots with and without expiry, serial numbers, a best-before date, prices."""
    return Waybill(
        waybill_id="WB-B-7002",
        order_id="PO-2026-0043",
        issue_date=date(2026, 11, 10),
        despatch_advice_type_code="delivery",
        note="Internal delivery store B to store A",
        despatch_party=Party(
            id="6412345000012",
            name="Store B",
            identifiers=[PartyIdentifier(value="6412345000012", scheme="0088")],
            endpoint_id=PartyIdentifier(value="6412345000012", scheme="0088"),
            address=Address(street="Hämeenkatu", house_number="10", city="Tampere", country="FI"),
            contacts=[Contact(name="Warehouse B", phone="+358 3 1234 567")],
        ),
        delivery_party=Party(
            id="6412345000005",
            name="Store A",
            identifiers=[PartyIdentifier(value="6412345000005", scheme="0088")],
            endpoint_id=PartyIdentifier(value="6412345000005", scheme="0088"),
            address=Address(street="Mannerheimintie 1", postal_code="00100", country="FI"),
        ),
        buyer=Party(
            id="6412345000005",
            name="Store A",
            identifiers=[PartyIdentifier(value="6412345000005", scheme="0088")],
        ),
        seller=Party(name="Store B", vat_number="FI12345671"),
        shipment_id="SHP-89",
        carrier="Internal van",
        tracking_code="TRK-0043",
        despatch_date=date(2026, 11, 10),
        delivery_start_date=date(2026, 11, 11),
        delivery_end_date=date(2026, 11, 12),
        currency="EUR",
        lines=[
            WaybillLine(
                line_id="1",
                order_line_id="10",
                sales_order_line_id="SO-B-56/1",
                line_order_id="PO-2026-0043",
                description="Paint RAL 5015, 2.5 l",
                item_description="Water-based wall paint",
                supplier_article_code="B-1201",
                customer_article_code="A-778",
                gtin="06412345678907",
                gtin_scheme="0160",
                note="Ordered was 5",
                quantity=Decimal("3"),
                unit="C62",
                outstanding_quantity=Decimal("1"),
                outstanding_reason="Follows next week",
                backorder_quantity=Decimal("1"),
                backorder_reason="Out of stock at the factory",
                purchase_price=Decimal("18.40"),
                lots=[
                    Lot(number="L-2026-17", expiry_date=date(2028, 6, 30)),
                    Lot(number="L-2026-18"),
                ],
            ),
            WaybillLine(
                line_id="2",
                order_line_id="20",
                supplier_article_code="B-3300",
                description="Paint mixer",
                quantity=Decimal("2"),
                unit="H87",
                purchase_price=Decimal("120"),
                serial_numbers=[SerialNumber(value="MX-000481"), SerialNumber(value="MX-000482")],
            ),
            WaybillLine(
                line_id="3",
                order_line_id="30",
                supplier_article_code="B-0907",
                description="Filler powder",
                quantity=Decimal("12.5"),
                unit="KGM",
                best_before_date=date(2027, 3, 31),
            ),
        ],
    )


# --- the format ---------------------------------------------------------------------------


def test_the_registry_lists_ubl_despatch_advice(ubl_despatch: Format) -> None:
    assert "ubl.despatch_advice" in default_registry().names()
    assert ubl_despatch.document_class is Waybill
    assert ubl_despatch.can_read
    assert ubl_despatch.can_write
    assert not ubl_despatch.has_rules


def test_koppel_formats_lists_ubl_despatch_advice(capsys: pytest.CaptureFixture[str]) -> None:
    from koppel.cli import main

    assert main(["formats"]) == 0
    assert "ubl.despatch_advice" in capsys.readouterr().out.split()


# --- the OASIS example ---------------------------------------------------------------------


@needs_oasis
def test_the_ubl_2_0_example_reads_field_by_field(ubl_despatch: Format) -> None:
    waybill = _read(ubl_despatch, (OASIS / "xml" / EXAMPLE).read_bytes(), source=EXAMPLE)
    assert waybill.waybill_id == "565899"
    assert waybill.order_id == "AEG012345"
    assert waybill.issue_date == date(2005, 6, 20)
    assert waybill.despatch_advice_type_code == "delivery"
    assert waybill.note == "sample"
    assert waybill.currency is None  # no purchase prices
    assert (waybill.buyer, waybill.seller) == (None, None)

    assert waybill.despatch_party == Party(
        name="Consortial",
        customer_assigned_account_id="CO001",
        vat_number="175 269 2355",
        address=Address(
            street="Busy Street",
            house_number="56A",
            city="Farthing",
            postal_code="AA99 1BB",
            region="Heremouthshire",
            country="GB",
        ),
        contacts=[
            Contact(name="Mrs Bouquet", phone="0158 1233714", email="bouquet@fpconsortial.co.uk")
        ],
    )
    assert waybill.delivery_party == Party(
        name="IYT Corporation",
        customer_assigned_account_id="XFB01",
        supplier_assigned_account_id="GT00978567",
        vat_number="12356478",
        address=Address(
            street="Avon Way",
            house_number="56A",
            city="Bridgtow",
            postal_code="ZZ99 1ZZ",
            region="Avon",
            country="GB",
        ),
        contacts=[
            Contact(
                name="Mr Fred Churchill",
                phone="0127 2653214",
                email="fred@iytcorporation.gov.uk",
            )
        ],
    )

    assert waybill.shipment_id == "1"
    # UBL 2.0 gives the requested delivery period; there is no estimated one.
    assert (waybill.delivery_start_date, waybill.delivery_end_date) == (
        date(2005, 6, 20),
        date(2005, 6, 21),
    )
    assert (waybill.carrier, waybill.tracking_code, waybill.despatch_date) == (None,) * 3

    assert waybill.lines == [
        WaybillLine(
            line_id="1",
            note="Mrs Green agreed to waive charge",
            quantity=Decimal("90"),
            unit="KGM",
            backorder_quantity=Decimal("10"),
            backorder_reason="lack of stock as explained on telephone today",
            order_line_id="1",
            sales_order_line_id="A",
            line_order_id="AEG012345",
            description="beeswax",
            item_description="Acme beeswax",
            customer_article_code="6578489",
            supplier_article_code="17589683",
            lots=[Lot(number="546378239", expiry_date=date(2010, 1, 1))],
        )
    ]


@needs_oasis
def test_the_oasis_example_round_trips(ubl_despatch: Format) -> None:
    original = _read(ubl_despatch, (OASIS / "xml" / EXAMPLE).read_bytes(), source=EXAMPLE)
    written = assert_round_trips(ubl_despatch, original, "DespatchAdvice")
    root = etree.fromstring(written)
    assert root.findtext("cbc:UBLVersionID", namespaces=NS) == "2.1"
    # The requested period is announced again as the estimated delivery period.
    period = root.find("cac:Shipment/cac:Delivery/cac:EstimatedDeliveryPeriod", NS)
    assert period is not None
    assert period.findtext("cbc:StartDate", namespaces=NS) == "2005-06-20"


# --- seed 003: a short delivery with lots, serial numbers and prices -----------------------


def test_a_short_delivery_round_trips(ubl_despatch: Format) -> None:
    assert_round_trips(ubl_despatch, short_delivery(), "DespatchAdvice")


def test_outstanding_and_backorder_quantities_are_written_with_the_unit(
    ubl_despatch: Format,
) -> None:
    root = etree.fromstring(ubl_despatch.write(short_delivery(), context={}))
    line = root.find("cac:DespatchLine", NS)
    assert line is not None
    assert [
        (child.tag.split("}")[1], child.text, child.get("unitCode")) for child in line[1:7]
    ] == [
        ("Note", "Ordered was 5", None),
        ("DeliveredQuantity", "3", "C62"),
        ("BackorderQuantity", "1", "C62"),
        ("BackorderReason", "Out of stock at the factory", None),
        ("OutstandingQuantity", "1", "C62"),
        ("OutstandingReason", "Follows next week", None),
    ]


def test_the_purchase_price_is_the_item_property_purchaseprice(ubl_despatch: Format) -> None:
    root = etree.fromstring(ubl_despatch.write(short_delivery(), context={}))
    properties = root.findall("cac:DespatchLine/cac:Item/cac:AdditionalItemProperty", NS)
    assert [
        (
            p.findtext("cbc:Name", namespaces=NS),
            p.findtext("cbc:Value", namespaces=NS),
            p.findtext("cbc:ValueQualifier", namespaces=NS),
        )
        for p in properties
    ] == [("PurchasePrice", "18.40", "EUR"), ("PurchasePrice", "120", "EUR")]
    # Line 3 has no price, so no property at all.
    third = root.findall("cac:DespatchLine", NS)[2]
    assert third.find("cac:Item/cac:AdditionalItemProperty", NS) is None


def test_lots_serial_numbers_and_best_before_are_item_instances(ubl_despatch: Format) -> None:
    root = etree.fromstring(ubl_despatch.write(short_delivery(), context={}))
    first, second, third = root.findall("cac:DespatchLine/cac:Item", NS)
    lots = first.findall("cac:ItemInstance/cac:LotIdentification", NS)
    assert [
        (
            lot.findtext("cbc:LotNumberID", namespaces=NS),
            lot.findtext("cbc:ExpiryDate", namespaces=NS),
        )
        for lot in lots
    ] == [("L-2026-17", "2028-06-30"), ("L-2026-18", None)]
    assert [e.text for e in second.findall("cac:ItemInstance/cbc:SerialID", NS)] == [
        "MX-000481",
        "MX-000482",
    ]
    assert third.findtext("cac:ItemInstance/cbc:BestBeforeDate", namespaces=NS) == "2027-03-31"


def test_one_item_instance_with_a_serial_lot_and_best_before_reads_all_three(
    ubl_despatch: Format,
) -> None:
    """A partner may put everything on one instance; the canonical line takes each apart."""
    data = (DATA / "waybill-t16.xml").read_bytes()
    data = data.replace(
        b"<cac:ItemInstance>\n        <cac:LotIdentification>\n"
        b"          <cbc:LotNumberID>L-2026-17",
        b"<cac:ItemInstance>\n        <cbc:BestBeforeDate>2028-01-31</cbc:BestBeforeDate>\n"
        b"        <cbc:SerialID>P-1</cbc:SerialID>\n        <cac:LotIdentification>\n"
        b"          <cbc:LotNumberID>L-2026-17",
    )
    line = _read(ubl_despatch, data).lines[0]
    assert line.best_before_date == date(2028, 1, 31)
    assert line.serial_numbers == [SerialNumber(value="P-1")]
    assert [lot.number for lot in line.lots] == ["L-2026-17", "L-2026-18"]


def test_a_peppol_waybill_reads_as_ubl_with_its_legal_names(ubl_despatch: Format) -> None:
    waybill = _read(ubl_despatch, (DATA / "waybill-t16.xml").read_bytes())
    assert waybill.currency == "EUR"
    assert waybill.despatch_party is not None
    assert waybill.delivery_party is not None
    # T16 names these parties by PartyLegalEntity/RegistrationName only.
    assert (waybill.despatch_party.name, waybill.delivery_party.name) == ("Store B", "Store A")
    assert waybill.delivery_party.contacts == [Contact(name="Goods receipt A")]
    assert [line.purchase_price for line in waybill.lines] == [
        Decimal("18.40"),
        Decimal("120"),
        None,
    ]
    assert_round_trips(ubl_despatch, waybill, "DespatchAdvice")


def test_only_what_is_there_is_written(ubl_despatch: Format) -> None:
    """No shipment without its id, no consignment without a carrier, no tax scheme
    without a VAT number, no buyer or seller when the waybill has none."""
    bare = Waybill(
        waybill_id="WB-1",
        order_id="PO-1",
        issue_date=date(2026, 11, 1),
        carrier="Van",  # dropped: no shipment id to hang it on
        lines=[WaybillLine(line_id="1", order_line_id="1", quantity=Decimal("1"))],
    )
    written = ubl_despatch.write(bare, context={})
    assert ubl_despatch.validate(written, source="bare.xml") == []
    root = etree.fromstring(written)
    for absent in (
        "cac:Shipment",
        "cac:BuyerCustomerParty",
        "cac:SellerSupplierParty",
        ".//cac:PartyTaxScheme",
        ".//cac:AdditionalItemProperty",
        ".//cac:ItemInstance",
    ):
        assert root.find(absent, NS) is None, absent
    assert _read(ubl_despatch, written) == bare.model_copy(update={"carrier": None})
    with_shipment = bare.model_copy(update={"shipment_id": "S1", "carrier": None})
    root = etree.fromstring(ubl_despatch.write(with_shipment, context={}))
    assert root.find("cac:Shipment/cac:Consignment", NS) is None
    assert root.findtext("cac:Shipment/cbc:ID", namespaces=NS) == "S1"


def test_a_line_without_its_order_line_cannot_be_written(ubl_despatch: Format) -> None:
    """UBL requires each despatch line's OrderLineReference/LineID."""
    waybill = short_delivery()
    lines = [waybill.lines[0].model_copy(update={"order_line_id": None})]
    with pytest.raises(DocumentWriteError):
        ubl_despatch.write(waybill.model_copy(update={"lines": lines}), context={})


def test_a_waybill_without_an_issue_date_cannot_be_written(ubl_despatch: Format) -> None:
    with pytest.raises(DocumentWriteError):
        ubl_despatch.write(short_delivery().model_copy(update={"issue_date": None}), context={})


# --- refused documents -----------------------------------------------------------------------


def test_a_despatch_advice_invalid_against_the_xsd_is_refused(ubl_despatch: Format) -> None:
    data = (DATA / "waybill-t16.xml").read_bytes().replace(b"<cbc:IssueDate>", b"<cbc:Bogus>", 1)
    data = data.replace(b"</cbc:IssueDate>", b"</cbc:Bogus>", 1)
    result = ubl_despatch.read(data, source="bad.xml")
    assert result.documents == []
    assert result.problems
    assert all(p.code.startswith("xsd") for p in result.problems)


def test_an_order_is_not_a_despatch_advice(ubl_despatch: Format) -> None:
    data = (
        b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"'
        b' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        b"<cbc:ID>1</cbc:ID></Order>"
    )
    result = ubl_despatch.read(data, source="order.xml")
    assert result.documents == []
    assert [p.code for p in result.problems] == ["xsd.invalid"]


def test_a_despatch_advice_without_an_order_reference_is_refused(ubl_despatch: Format) -> None:
    """UBL allows it, the canonical Waybill answers an order: a mapping problem, no document."""
    data = (DATA / "waybill-t16.xml").read_bytes()
    data = data.replace(
        b"<cac:OrderReference>\n    <cbc:ID>PO-2026-0042</cbc:ID>\n  </cac:OrderReference>", b""
    ).replace(
        b"<cac:OrderReference>\n        <cbc:ID>PO-2026-0042</cbc:ID>\n      </cac:OrderReference>",
        b"",
    )
    assert b"OrderReference" not in data
    result = ubl_despatch.read(data, source="no-order.xml")
    assert result.documents == []
    assert result.problems


def test_xxe_in_a_despatch_advice_yields_only_a_doctype_problem(
    ubl_despatch: Format, tmp_path: Path
) -> None:
    assert_xxe_refused(ubl_despatch, "DespatchAdvice", tmp_path)


def test_a_delivered_quantity_without_a_unit_is_in_pieces(ubl_despatch: Format) -> None:
    data = (DATA / "waybill-t16.xml").read_bytes()
    data = data.replace(b'<cbc:DeliveredQuantity unitCode="H87">', b"<cbc:DeliveredQuantity>")
    assert _read(ubl_despatch, data).lines[1].unit == "PCE"
