"""``peppol.order``: Peppol BIS 3 Orders (T01) read and written, checked by the official T01 rules.

Our own test order (tests/data/peppol/order-t01-full.xml, not an OpenPEPPOL
example) has three lines: a GTIN (0160) item with a line allowance, an item
known only by the seller's id and zero rated, and a free-text line; an
order-level allowance and freight charge, tax categories S and Z, a delivery
location and party. The rules come from the folder the setting names, as in
test_peppol_rules.py, and the tests that need them skip when it is absent.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import Order, Severity, has_errors
from koppel.documents.orders import CostKind, CostLine, Discount, OrderLine
from koppel.documents.parties import Address, Contact, Party, PartyIdentifier
from koppel.formats import Format, default_registry
from koppel.formats.schematron import peppol_rules
from koppel.mapping import DocumentWriteError

from .ubl_support import (
    bundled_xsd,
    read_one,
    rule_findings,
    skip_without_peppol_rules,
    ubl_namespaces,
    xsd_problems,
)

skip_without_peppol_rules("peppol.order")
pytestmark = pytest.mark.usefixtures("peppol_rules_dir")

DATA = Path(__file__).parents[2] / "data" / "peppol"
NS = ubl_namespaces("ord", "Order")


@pytest.fixture(scope="module")
def peppol_order() -> Format:
    return default_registry().get("peppol.order")


def _full() -> bytes:
    return (DATA / "order-t01-full.xml").read_bytes()


def _read(fmt: Format, data: bytes, source: str = "order.xml") -> Order:
    return read_one(fmt, data, Order, source, warnings_allowed=True)


def _rule_findings(data: bytes) -> list[tuple[str, Severity]]:
    """What the T01 rules say about ``data``, straight from the rules (not the format)."""
    return rule_findings("T01", data)


def _xsd_problems(data: bytes) -> list[str]:
    return xsd_problems(data, bundled_xsd("Order"))


def _edited(data: bytes, pattern: str, replacement: str = "") -> bytes:
    changed = re.sub(pattern.encode(), replacement.encode(), data, count=1, flags=re.S)
    assert changed != data, pattern
    return changed


S = Decimal("25.5")

#: The canonical order of order-t01-full.xml, field by field.
EXPECTED = Order(
    order_id="TIL-2026-0815",
    order_type_code="220",
    external_reference="OSTO-4410",
    issue_date=date(2026, 11, 16),
    currency="EUR",
    note="Toimitus lastauslaiturille 2",
    requested_delivery_date=date(2026, 11, 23),
    total_amount=Decimal("256.96"),
    buyer=Party(
        id="6412345000012",
        name="Kauppa Itä",
        identifiers=[
            PartyIdentifier(value="6412345000012", scheme="0088"),
            PartyIdentifier(value="1234567-8", scheme="0037"),
        ],
        endpoint_id=PartyIdentifier(value="6412345000012", scheme="0088"),
        vat_number="FI12345678",
        address=Address(
            street="Hämeenkatu 12",
            city="Tampere",
            postal_code="33100",
            region="Pirkanmaa",
            country="FI",
        ),
        contacts=[
            Contact(
                name="Aino Virtanen", phone="+358 40 123 4567", email="aino.virtanen@example.fi"
            )
        ],
    ),
    seller=Party(
        id="6412345000029",
        name="Tukku Länsi",
        identifiers=[PartyIdentifier(value="6412345000029", scheme="0088")],
        endpoint_id=PartyIdentifier(value="6412345000029", scheme="0088"),
        address=Address(street="Satamakatu 4", city="Turku", postal_code="20100", country="FI"),
        contacts=[Contact(name="Myyntipalvelu", email="myynti@example.fi")],
    ),
    delivery=Party(
        id="6412345000036",
        name="Kauppa Itä, keskusvarasto",
        identifiers=[PartyIdentifier(value="6412345000043", scheme="0088")],
        address=Address(street="Varastokatu 7", city="Tampere", postal_code="33210", country="FI"),
        contacts=[Contact(name="Varaston vastaanotto", phone="+358 3 555 0100")],
    ),
    costs=[
        CostLine(
            kind=CostKind.DISCOUNT,
            amount=Decimal("10.00"),
            description="Kampanja-alennus",
            tax_rate=S,
        ),
        CostLine(kind=CostKind.SHIPPING, amount=Decimal("15.00"), description="Rahti", tax_rate=S),
    ],
    lines=[
        OrderLine(
            line_id="1",
            note="Valkoinen, ei kuviota",
            quantity=Decimal("12"),
            unit="H87",
            line_amount=Decimal("97.00"),
            unit_price=Decimal("8.50"),
            discounts=[Discount(amount=Decimal("5.00"), reason="Määräalennus")],
            description="Kahvimuki 3 dl",
            item_description="Posliinimuki 3 dl, konepesun kestävä",
            customer_article_code="KI-MUKI-3",
            gtin="6412345678907",
            gtin_scheme="0160",
            tax_rate=S,
            requested_delivery_date=date(2026, 11, 20),
            delivery_location_id="6412345000036",
        ),
        OrderLine(
            line_id="2",
            quantity=Decimal("5"),
            unit="C62",
            line_amount=Decimal("16.00"),
            unit_price=Decimal("3.20"),
            description="Tuotekuvasto 2027",
            supplier_article_code="TL-4471",
            tax_rate=Decimal("0"),
        ),
        OrderLine(
            line_id="3",
            quantity=Decimal("2"),
            unit="HUR",
            line_amount=Decimal("90.00"),
            unit_price=Decimal("45.00"),
            description="Hyllyjen asennus myymälään",
            tax_rate=S,
        ),
    ],
)


# --- the format ------------------------------------------------------------------------------


def test_the_registry_has_peppol_order_with_its_rules(peppol_order: Format) -> None:
    assert "peppol.order" in default_registry().names()
    assert peppol_order.document_class is Order
    assert peppol_order.can_read
    assert peppol_order.can_write
    assert peppol_order.has_rules
    assert str(peppol_order.definition.schematron) == "peppol:T01"


def test_our_test_order_passes_the_xsd_and_every_t01_rule() -> None:
    assert _xsd_problems(_full()) == []
    assert _rule_findings(_full()) == []


# --- reading ---------------------------------------------------------------------------------


def test_a_peppol_order_reads_every_field(peppol_order: Format) -> None:
    result = peppol_order.read(_full(), source="order-t01-full.xml")

    assert result.problems == []
    assert result.documents == [EXPECTED]


def test_ubl_order_reads_the_same_order(peppol_order: Format) -> None:
    # The same canonical fields with the same meanings: rules see one Order either way.
    ubl = default_registry().get("ubl.order").read(_full(), source="order-t01-full.xml")

    assert ubl.problems == []
    # Except a line's delivery location: T01 allows no DeliveryLocation/ID on a line, so
    # Peppol orders give it as the line delivery's own cbc:ID, which ubl.order does not read.
    first = EXPECTED.lines[0].model_copy(update={"delivery_location_id": None})
    assert ubl.documents == [EXPECTED.model_copy(update={"lines": [first, *EXPECTED.lines[1:]]})]


def test_a_rule_warning_is_kept_while_the_order_is_read(peppol_order: Format) -> None:
    data = _edited(_full(), r"<cac:ValidityPeriod>.*?</cac:ValidityPeriod>\s*")

    result = peppol_order.read(data, source="no-validity.xml")

    assert result.documents == [EXPECTED]
    assert [(p.code, p.severity) for p in result.problems] == [
        ("PEPPOL-T01-R002", Severity.WARNING)
    ]
    (warning,) = result.problems
    assert warning.file == "no-validity.xml"
    assert "validity end date" in warning.message


@pytest.mark.parametrize(
    ("pattern", "replacement", "rule"),
    [
        # The buyer's electronic address is mandatory (B03701).
        (
            r'(<cac:BuyerCustomerParty>\s*<cac:Party>\s*)<cbc:EndpointID schemeID="0088">'
            r"6412345000012</cbc:EndpointID>\s*",
            r"\1",
            "PEPPOL-T01-B03701",
        ),
        (r"<cbc:CustomizationID>.*?</cbc:CustomizationID>\s*", "", "PEPPOL-T01-B00101"),
        (
            r"urn:fdc:peppol.eu:poacc:trns:order:3",
            "urn:fdc:peppol.eu:poacc:trns:invoice:3",
            "PEPPOL-T01-R034",
        ),
        (r"bis:ordering:3", "bis:billing:3", "PEPPOL-T01-R031"),
        # The expected sum of line amounts no longer adds up (R008).
        (r">203.00<", ">213.00<", "PEPPOL-T01-R008"),
        # A GLN with a wrong check digit (PEPPOL-COMMON-R040).
        (r"6412345000029</cbc:EndpointID>", "6412345000028</cbc:EndpointID>", "PEPPOL-COMMON-R040"),
        # A party's legal entity is mandatory (B07203).
        (
            r"<cac:PartyLegalEntity>\s*<cbc:RegistrationName>Tukku Länsi Oy</cbc:RegistrationName>"
            r"\s*</cac:PartyLegalEntity>\s*",
            "",
            "PEPPOL-T01-B07203",
        ),
        # A UBLVersionID is not part of the Peppol data model (B00110).
        (
            r"(<cbc:CustomizationID>)",
            r"<cbc:UBLVersionID>2.1</cbc:UBLVersionID>\1",
            "PEPPOL-T01-B00110",
        ),
        # A quantity's unit must be a UN/ECE Rec 20 code (B24102).
        (r'unitCode="H87"', 'unitCode="PCE"', "PEPPOL-T01-B24102"),
    ],
)
def test_a_t01_invalid_order_is_refused_with_the_rule_id(
    peppol_order: Format, pattern: str, replacement: str, rule: str
) -> None:
    data = _edited(_full(), pattern, replacement)

    result = peppol_order.read(data, source="invalid.xml")

    assert result.documents == []
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    assert rule in {p.code for p in errors}, result.problems
    assert all(p.file == "invalid.xml" for p in result.problems)


def test_the_xsd_speaks_before_the_rules(peppol_order: Format) -> None:
    data = _edited(_full(), r"<cbc:IssueDate>2026-11-16</cbc:IssueDate>\s*")

    result = peppol_order.read(data, source="no-date.xml")

    assert result.documents == []
    assert result.problems
    assert {p.code for p in result.problems} == {"xsd.invalid"}


def test_a_doctype_is_refused_before_any_rule_runs(peppol_order: Format, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("koppel-secret-peppol", encoding="utf-8")
    data = _full().replace(
        b"<Order ",
        f'<!DOCTYPE Order [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<Order '.encode(),
        1,
    )

    result = peppol_order.read(data, source="xxe.xml")

    assert result.documents == []
    assert [p.code for p in result.problems] == ["xml.doctype"]
    assert all("koppel-secret-peppol" not in p.model_dump_json() for p in result.problems)


# --- writing ---------------------------------------------------------------------------------


def _canonical() -> Order:
    """An order as another system gives it: no Peppol document behind it, no GTIN scheme."""
    return Order(
        order_id="PO-77",
        issue_date=date(2026, 12, 1),
        currency="EUR",
        external_reference="WEB-77",
        requested_delivery_date=date(2026, 12, 5),
        total_amount=Decimal("150.62"),
        buyer=Party(
            id="6412345000012",
            name="Kauppa Itä Oy",
            endpoint_id=PartyIdentifier(value="6412345000012", scheme="0088"),
            identifiers=[PartyIdentifier(value="6412345000012", scheme="0088")],
            vat_number="FI12345678",
            address=Address(street="Hämeenkatu 12", city="Tampere", country="FI"),
        ),
        seller=Party(
            name="Tukku Länsi Oy",
            endpoint_id=PartyIdentifier(value="6412345000029", scheme="0088"),
            address=Address(street="Satamakatu 4", city="Turku", postal_code="20100", country="FI"),
        ),
        delivery=Party(
            name="Myymälä 3",
            address=Address(street="Kauppakatu 3", city="Tampere", country="FI"),
        ),
        costs=[CostLine(kind=CostKind.SHIPPING, amount=Decimal("9.90"), description="Rahti")],
        lines=[
            OrderLine(
                line_id="10",
                quantity=Decimal("4"),
                unit="H87",
                unit_price=Decimal("12.50"),
                line_amount=Decimal("50.00"),
                description="Kahvimuki 3 dl",
                gtin="6412345678907",
                tax_rate=S,
            ),
            OrderLine(
                line_id="20",
                quantity=Decimal("10"),
                unit="C62",
                unit_price=Decimal("4.00"),
                line_amount=Decimal("38.00"),
                discounts=[Discount(amount=Decimal("2.00"), reason="Kampanja")],
                description="Tuotekuvasto 2027",
                supplier_article_code="TL-4471",
                tax_rate=Decimal("0"),
            ),
        ],
    )


def test_a_canonical_order_is_written_as_a_valid_t01_order(peppol_order: Format) -> None:
    order = _canonical()

    written = peppol_order.write(order, context={})

    assert _xsd_problems(written) == []
    # No validity end date in the canonical order: the one warning, never an error.
    assert _rule_findings(written) == [("PEPPOL-T01-R002", Severity.WARNING)]
    assert peppol_order.validate(written, source="out.xml") == []
    root = etree.fromstring(written)
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == (
        "urn:fdc:peppol.eu:poacc:trns:order:3"
    )
    assert root.findtext("cbc:ProfileID", namespaces=NS) == "urn:fdc:peppol.eu:poacc:bis:ordering:3"
    assert root.find("cbc:UBLVersionID", NS) is None
    totals = root.find("cac:AnticipatedMonetaryTotal", NS)
    assert totals is not None
    assert [(etree.QName(e).localname, e.text) for e in totals] == [
        ("LineExtensionAmount", "88.00"),
        ("AllowanceTotalAmount", "0.00"),
        ("ChargeTotalAmount", "9.90"),
        ("PayableAmount", "150.62"),
    ]
    categories = root.findall(".//cac:ClassifiedTaxCategory/cbc:ID", NS)
    assert [c.text for c in categories] == ["S", "Z"]
    gtin = root.find(".//cac:StandardItemIdentification/cbc:ID", NS)
    assert gtin is not None
    assert gtin.get("schemeID") == "0160"
    # A party's name is its registration name too (B03702, B07203).
    names = root.findall(".//cac:PartyLegalEntity/cbc:RegistrationName", NS)
    assert [n.text for n in names] == ["Kauppa Itä Oy", "Tukku Länsi Oy"]


def test_a_written_order_reads_back_equal(peppol_order: Format) -> None:
    order = _canonical()

    back = _read(peppol_order, peppol_order.write(order, context={}))

    # The only difference: the GTIN's scheme, which Peppol requires, is now stated.
    lines = [order.lines[0].model_copy(update={"gtin_scheme": "0160"}), order.lines[1]]
    assert back == order.model_copy(update={"lines": lines})


def test_our_test_order_round_trips(peppol_order: Format) -> None:
    written = peppol_order.write(EXPECTED, context={})

    assert _xsd_problems(written) == []
    assert not has_errors(peppol_rules("T01").validate(written, source="written.xml"))
    assert _read(peppol_order, written) == EXPECTED


def test_an_order_t01_cannot_carry_is_caught_before_it_leaves(peppol_order: Format) -> None:
    buyer = _canonical().buyer
    assert buyer is not None
    no_endpoint = _canonical().model_copy(
        update={"buyer": buyer.model_copy(update={"endpoint_id": None})}
    )

    written = peppol_order.write(no_endpoint, context={})
    problems = peppol_order.validate(written, source="out.xml")

    assert has_errors(problems)
    assert "PEPPOL-T01-B03701" in {p.code for p in problems}
    assert all(p.file == "out.xml" for p in problems)


def test_the_canonical_default_unit_is_not_a_peppol_unit(peppol_order: Format) -> None:
    line = _canonical().lines[0].model_copy(update={"unit": "PCE"})
    order = _canonical().model_copy(update={"lines": [line]})

    problems = peppol_order.validate(peppol_order.write(order, context={}), source="out.xml")

    assert "PEPPOL-T01-B24102" in {p.code for p in problems if p.severity is Severity.ERROR}


def test_a_cost_without_a_reason_text_cannot_be_written(peppol_order: Format) -> None:
    order = _canonical().model_copy(
        update={"costs": [CostLine(kind=CostKind.FEE, amount=Decimal("1.50"))]}
    )

    with pytest.raises(DocumentWriteError) as caught:
        peppol_order.write(order, context={})

    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("mapping.required", "costs[0].description")
    ]


def test_no_empty_blocks_without_vat_rate_or_delivery(peppol_order: Format) -> None:
    order = _canonical()
    lines = [line.model_copy(update={"tax_rate": None}) for line in order.lines]
    buyer = order.buyer.model_copy(update={"vat_number": None}) if order.buyer else None
    bare = order.model_copy(
        update={"lines": lines, "buyer": buyer, "delivery": None, "requested_delivery_date": None}
    )

    written = peppol_order.write(bare, context={})

    root = etree.fromstring(written)
    assert root.find(".//cac:PartyTaxScheme", NS) is None
    assert root.find(".//cac:ClassifiedTaxCategory", NS) is None
    assert root.find("cac:Delivery", NS) is None
    assert not has_errors(peppol_rules("T01").validate(written, source="bare.xml"))
    assert _read(peppol_order, written) == bare.model_copy(
        update={"lines": [lines[0].model_copy(update={"gtin_scheme": "0160"}), lines[1]]}
    )
