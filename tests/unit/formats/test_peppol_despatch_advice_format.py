"""``peppol.despatch_advice``: Peppol BIS 3 Despatch Advices (T16) read and written, checked
against the UBL 2.1 XSD and the official T16 rules.

The rules are not part of the project (see the NOTICE in the rules folder):
the tests find them as tests/unit/formats/test_peppol_rules.py does and skip
loudly without them. Our T16 waybill is tests/data/despatch_advices/waybill-t16.xml.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import Severity, Waybill
from koppel.documents.parties import Address, Contact, Party, PartyIdentifier
from koppel.documents.status import Lot, SerialNumber
from koppel.formats import Format, default_registry

from .test_ubl_despatch_advice_format import short_delivery
from .ubl_support import (
    OASIS,
    assert_round_trips,
    needs_oasis,
    read_one,
    refusal,
    rule_findings,
    skip_without_peppol_rules,
    ubl_namespaces,
)

skip_without_peppol_rules("Peppol despatch advice")
pytestmark = pytest.mark.usefixtures("peppol_rules_dir")

DATA = Path(__file__).parents[2] / "data" / "despatch_advices"
NS = ubl_namespaces("da", "DespatchAdvice")
CUSTOMIZATION = "urn:fdc:peppol.eu:poacc:trns:despatch_advice:3"
PROFILE = "urn:fdc:peppol.eu:poacc:bis:despatch_advice:3"


@pytest.fixture(scope="module")
def peppol_despatch() -> Format:
    return default_registry().get("peppol.despatch_advice")


def _fixture() -> bytes:
    return (DATA / "waybill-t16.xml").read_bytes()


def _read(fmt: Format, data: bytes, source: str = "waybill.xml") -> Waybill:
    return read_one(fmt, data, Waybill, source)


def _t16(data: bytes) -> list[tuple[str, Severity]]:
    """Every finding of the official T16 rules, errors and warnings alike."""
    return rule_findings("T16", data)


def _refused(fmt: Format, data: bytes) -> set[str]:
    return {p.code for p in refusal(fmt, data, "refused.xml") if p.severity is Severity.ERROR}


def peppol_delivery() -> Waybill:
    """The short delivery of the UBL tests, without what T16 has no place for: backorders,
    item descriptions, building numbers, VAT numbers; with the party names T16 needs."""
    waybill = short_delivery()
    lines = [
        line.model_copy(
            update={"backorder_quantity": None, "backorder_reason": None, "item_description": None}
        )
        for line in waybill.lines
    ]
    despatch = waybill.despatch_party
    assert despatch is not None
    assert despatch.address is not None
    address = despatch.address.model_copy(update={"street": "Hämeenkatu 10", "house_number": None})
    return waybill.model_copy(
        update={
            "despatch_advice_type_code": None,
            "despatch_party": despatch.model_copy(update={"address": address}),
            "seller": Party(
                id="6412345000012",
                name="Store B",
                identifiers=[PartyIdentifier(value="6412345000012", scheme="0088")],
            ),
            "lines": lines,
        }
    )


# --- the format ---------------------------------------------------------------------------


def test_the_registry_lists_peppol_despatch_advice(peppol_despatch: Format) -> None:
    assert "peppol.despatch_advice" in default_registry().names()
    assert peppol_despatch.document_class is Waybill
    assert peppol_despatch.can_read
    assert peppol_despatch.can_write
    assert peppol_despatch.has_rules


# --- reading -------------------------------------------------------------------------------


def test_our_t16_waybill_passes_the_official_rules() -> None:
    assert _t16(_fixture()) == []


def test_our_t16_waybill_reads_field_by_field(peppol_despatch: Format) -> None:
    waybill = _read(peppol_despatch, _fixture())
    assert (waybill.waybill_id, waybill.order_id) == ("WB-B-7001", "PO-2026-0042")
    assert waybill.issue_date == date(2026, 11, 3)
    assert waybill.note == "Internal delivery store B to store A"
    assert waybill.currency == "EUR"
    assert waybill.despatch_party == Party(
        id="6412345000012",
        name="Store B",
        identifiers=[PartyIdentifier(value="6412345000012", scheme="0088")],
        endpoint_id=PartyIdentifier(value="6412345000012", scheme="0088"),
        address=Address(street="Hämeenkatu 10", city="Tampere", postal_code="33100", country="FI"),
        contacts=[
            Contact(name="Warehouse B", phone="+358 3 1234 567", email="warehouse-b@example.fi")
        ],
    )
    assert waybill.delivery_party is not None
    assert waybill.delivery_party.name == "Store A"
    assert waybill.delivery_party.endpoint_id == PartyIdentifier(
        value="6412345000005", scheme="0088"
    )
    assert waybill.delivery_party.contacts == [Contact(name="Goods receipt A")]
    assert waybill.buyer is not None
    assert waybill.seller is not None
    assert (waybill.buyer.name, waybill.buyer.identifier("0088")) == ("Store A", "6412345000005")
    assert (waybill.seller.name, waybill.seller.identifier("0088")) == ("Store B", "6412345000012")
    assert (waybill.shipment_id, waybill.carrier, waybill.tracking_code) == (
        "SHP-88",
        "Internal van",
        "TRK-0042",
    )
    assert waybill.despatch_date == date(2026, 11, 3)
    assert (waybill.delivery_start_date, waybill.delivery_end_date) == (
        date(2026, 11, 4),
        date(2026, 11, 5),
    )

    first, second, third = waybill.lines
    assert (first.line_id, first.order_line_id, first.sales_order_line_id) == (
        "1",
        "10",
        "SO-B-55/1",
    )
    assert first.line_order_id == "PO-2026-0042"
    assert (first.quantity, first.unit) == (Decimal("3"), "C62")
    assert (first.outstanding_quantity, first.outstanding_reason) == (
        Decimal("2"),
        "Short of stock, follows next week",
    )
    assert first.backorder_quantity is None
    assert first.note == "Ordered was 5"
    assert first.description == "Paint RAL 5015, 2.5 l"
    assert (first.supplier_article_code, first.customer_article_code) == ("B-1201", "A-778")
    assert (first.gtin, first.gtin_scheme) == ("06412345678907", "0160")
    assert first.purchase_price == Decimal("18.40")
    assert first.lots == [
        Lot(number="L-2026-17", expiry_date=date(2028, 6, 30)),
        Lot(number="L-2026-18"),
    ]
    assert (second.quantity, second.unit, second.purchase_price) == (
        Decimal("2"),
        "H87",
        Decimal("120"),
    )
    assert second.serial_numbers == [
        SerialNumber(value="MX-000481"),
        SerialNumber(value="MX-000482"),
    ]
    assert (third.quantity, third.unit, third.purchase_price) == (Decimal("12.5"), "KGM", None)
    assert third.best_before_date == date(2027, 3, 31)


def test_t16_warnings_are_kept_with_the_waybill_read(peppol_despatch: Format) -> None:
    """An outstanding quantity without a reason: PEPPOL-T16-R007 warns, the waybill is read."""
    data = _fixture().replace(
        b"<cbc:OutstandingReason>Short of stock, follows next week</cbc:OutstandingReason>", b""
    )
    result = peppol_despatch.read(data, source="warned.xml")
    (waybill,) = result.documents
    assert isinstance(waybill, Waybill)
    assert waybill.lines[0].outstanding_quantity == Decimal("2")
    assert waybill.lines[0].outstanding_reason is None
    assert [(p.code, p.severity) for p in result.problems] == [
        ("PEPPOL-T16-R007", Severity.WARNING)
    ]
    assert result.problems[0].file == "warned.xml"


# --- refused documents ---------------------------------------------------------------------


def test_a_wrong_profile_is_refused_with_its_rule_id(peppol_despatch: Format) -> None:
    data = _fixture().replace(PROFILE.encode(), b"urn:fdc:peppol.eu:poacc:bis:ordering:3")
    assert _refused(peppol_despatch, data) == {"PEPPOL-T16-B00301"}


def test_a_line_without_a_seller_or_standard_item_id_is_refused(
    peppol_despatch: Format,
) -> None:
    data = _fixture().replace(
        b"<cac:SellersItemIdentification>\n        <cbc:ID>B-0907</cbc:ID>\n"
        b"      </cac:SellersItemIdentification>\n",
        b"",
    )
    assert _refused(peppol_despatch, data) == {"PEPPOL-T16-R003"}


def test_a_backorder_quantity_is_not_part_of_the_t16_data_model(
    peppol_despatch: Format,
) -> None:
    data = _fixture().replace(
        b'<cbc:OutstandingQuantity unitCode="C62">2</cbc:OutstandingQuantity>',
        b'<cbc:BackorderQuantity unitCode="C62">2</cbc:BackorderQuantity>'
        b'<cbc:OutstandingQuantity unitCode="C62">2</cbc:OutstandingQuantity>',
    )
    assert _refused(peppol_despatch, data) == {"PEPPOL-T16-B18005"}


def test_a_negative_delivered_quantity_is_refused(peppol_despatch: Format) -> None:
    data = _fixture().replace(
        b'<cbc:DeliveredQuantity unitCode="KGM">12.5</cbc:DeliveredQuantity>',
        b'<cbc:DeliveredQuantity unitCode="KGM">-1</cbc:DeliveredQuantity>',
    )
    assert _refused(peppol_despatch, data) == {"PEPPOL-T16-R006"}


@needs_oasis
def test_the_plain_ubl_2_0_example_is_not_a_peppol_despatch_advice(
    peppol_despatch: Format,
) -> None:
    data = OASIS / "xml" / "UBL-DespatchAdvice-2.0-Example.xml"
    codes = _refused(peppol_despatch, data.read_bytes())
    assert {"PEPPOL-T16-B00301", "PEPPOL-T16-R011", "PEPPOL-T16-B00109"} <= codes
    assert {"PEPPOL-T16-B02001", "PEPPOL-T16-B02002"} <= codes  # no endpoint, no legal name


def test_an_xsd_error_is_reported_before_the_rules_run(peppol_despatch: Format) -> None:
    data = _fixture().replace(b"<cbc:IssueDate>2026-11-03</cbc:IssueDate>", b"")
    codes = _refused(peppol_despatch, data)
    assert codes
    assert all(code.startswith("xsd") for code in codes)


# --- writing -------------------------------------------------------------------------------


def test_a_short_delivery_is_written_t16_conformant_and_reads_back_equal(
    peppol_despatch: Format,
) -> None:
    original = peppol_delivery()
    written = assert_round_trips(peppol_despatch, original, "DespatchAdvice")
    assert _t16(written) == []

    root = etree.fromstring(written)
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == CUSTOMIZATION
    assert root.findtext("cbc:ProfileID", namespaces=NS) == PROFILE
    price = root.find("cac:DespatchLine/cac:Item/cac:AdditionalItemProperty", NS)
    assert price is not None
    assert [c.text for c in price] == ["PurchasePrice", "18.40", "EUR"]
    line = root.find("cac:DespatchLine", NS)
    assert line is not None
    assert line.findtext("cbc:OutstandingQuantity", namespaces=NS) == "1"


def test_our_t16_waybill_round_trips(peppol_despatch: Format) -> None:
    original = _read(peppol_despatch, _fixture())
    written = peppol_despatch.write(original, context={})
    assert _t16(written) == []
    assert _read(peppol_despatch, written) == original


def test_what_t16_has_no_place_for_is_left_out(peppol_despatch: Format) -> None:
    """Backorders, item descriptions, type code, house numbers and VAT numbers are not
    written (T16 refuses them); the rest of the waybill still passes and reads back."""
    full = short_delivery()
    written = peppol_despatch.write(full, context={})
    assert [code for code, severity in _t16(written) if severity is Severity.ERROR] == []
    back = _read(peppol_despatch, written)
    line = back.lines[0]
    assert (line.backorder_quantity, line.backorder_reason, line.item_description) == (
        None,
        None,
        None,
    )
    assert back.despatch_advice_type_code is None
    assert back.despatch_party is not None
    assert back.despatch_party.address is not None
    assert back.despatch_party.address.house_number is None
    assert back.seller is not None
    assert back.seller.vat_number is None
    assert (line.quantity, line.outstanding_quantity, line.purchase_price) == (
        Decimal("3"),
        Decimal("1"),
        Decimal("18.40"),
    )


def test_a_waybill_the_rules_refuse_is_reported_before_delivery(
    peppol_despatch: Format,
) -> None:
    """Written without a party endpoint: the bytes exist, validation names the rules."""
    waybill = peppol_delivery()
    assert waybill.delivery_party is not None
    party = waybill.delivery_party.model_copy(update={"endpoint_id": None})
    written = peppol_despatch.write(
        waybill.model_copy(update={"delivery_party": party}), context={}
    )
    problems = peppol_despatch.validate(written, source="written.xml")
    assert {p.code for p in problems if p.severity is Severity.ERROR} == {"PEPPOL-T16-B04301"}
