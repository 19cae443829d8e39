"""SCSN formats: the Order read into the canonical order, the OrderResponse written valid UBL 2.1.

Every sample is in tests/data/scsn; the OASIS originals the schemas are
checked against live in /work/shared/standards/ubl-2.1 (the project bundles
its own unchanged copy, which a test here compares byte for byte).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import Order, OrderResponse, OrderResponseLine, Party, ResponseCode
from koppel.documents import ResponseNote as Note
from koppel.documents.orders import Discount, LineDelivery
from koppel.documents.parties import PartyIdentifier
from koppel.errors import MappingError
from koppel.formats import DocumentWriteError, Format, default_registry, parse_xml
from koppel.formats.schema import load_schema, validate
from koppel.mapping import load_mapping, write_document

DATA = Path(__file__).parents[2] / "data" / "scsn"
SCHEMAS = Path(__file__).parents[3] / "include" / "schemas" / "ubl-2.1"
OASIS = Path("/work/shared/standards/ubl-2.1")
needs_oasis = pytest.mark.skipif(not OASIS.is_dir(), reason="the OASIS UBL 2.1 release is absent")

UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "r": "urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2",
}


@pytest.fixture(scope="module")
def scsn_order() -> Format:
    return default_registry().get("scsn.order")


@pytest.fixture(scope="module")
def scsn_response() -> Format:
    return default_registry().get("scsn.order_response")


def _read_one(fmt: Format, data: bytes) -> Order:
    result = fmt.read(data, source="order.xml")
    assert result.problems == []
    (order,) = result.documents
    assert isinstance(order, Order)
    return order


def _sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


# --- the bundled schemas -----------------------------------------------------------------


@needs_oasis
def test_the_bundled_ubl_schemas_are_the_oasis_files_unchanged() -> None:
    bundled = sorted(p.relative_to(SCHEMAS) for p in SCHEMAS.rglob("*.xsd"))
    official = sorted(p.relative_to(OASIS / "xsd") for p in (OASIS / "xsd").rglob("*.xsd"))
    assert bundled == official
    for relative in bundled:
        assert (SCHEMAS / relative).read_bytes() == (OASIS / "xsd" / relative).read_bytes()
    assert "OASIS" in (SCHEMAS / "NOTICE.md").read_text(encoding="utf-8")


def test_the_registry_lists_both_scsn_formats(scsn_order: Format, scsn_response: Format) -> None:
    assert {"scsn.order", "scsn.order_response"} <= set(default_registry().names())
    assert scsn_order.document_class is Order
    assert scsn_order.can_read
    assert not scsn_order.can_write
    assert scsn_response.document_class is OrderResponse
    assert scsn_response.can_read
    assert scsn_response.can_write
    assert scsn_order.schema_path == SCHEMAS / "maindoc" / "UBL-Order-2.1.xsd"
    assert scsn_response.schema_path == SCHEMAS / "maindoc" / "UBL-OrderResponse-2.1.xsd"


# --- reading an SCSN order ---------------------------------------------------------------


def test_the_header_of_a_valid_order(scsn_order: Format) -> None:
    order = _read_one(scsn_order, _sample("order_valid.xml"))
    assert order.order_id == "PO-2026-0417"
    assert order.order_type_code == "New"
    assert order.issue_date == date(2026, 11, 20)
    assert order.currency == "EUR"
    assert order.external_reference == "PRJ-88"
    assert order.note == "Deliver at dock 3 & call ahead"
    assert order.requested_delivery_date == date(2026, 12, 18)


def test_buyer_and_seller_with_their_scsn_ids(scsn_order: Format) -> None:
    order = _read_one(scsn_order, _sample("order_valid.xml"))
    buyer, seller = order.buyer, order.seller
    assert buyer is not None
    assert seller is not None
    assert buyer.id == "scsn-7d1f0c2a-buyer"
    assert buyer.identifiers == [
        PartyIdentifier(value="scsn-7d1f0c2a-buyer", scheme="SCSN"),
        PartyIdentifier(value="17012345", scheme="KVK"),
    ]
    assert buyer.identifier("SCSN") == "scsn-7d1f0c2a-buyer"
    assert buyer.name == "Brainport Machines B.V."
    assert buyer.vat_number == "NL001234567B01"
    assert buyer.address is not None
    assert (buyer.address.street, buyer.address.house_number) == ("De Run", "5400")
    assert (buyer.address.postal_code, buyer.address.city) == ("5504 DR", "Veldhoven")
    assert buyer.address.country == "NL"
    assert buyer.contacts[0].email == "inkoop@brainport-machines.example"
    assert seller.id == "scsn-93be44e1-seller"
    assert seller.identifier("SCSN") == "scsn-93be44e1-seller"
    assert seller.name == "Precisie Draaierij Koppel B.V."


def test_the_order_delivery_location(scsn_order: Format) -> None:
    order = _read_one(scsn_order, _sample("order_valid.xml"))
    assert order.delivery is not None
    assert order.delivery.id == "VH-DOCK3"
    assert order.delivery.address is not None
    assert order.delivery.address.city == "Veldhoven"


def test_the_lines_with_revisions_prices_and_discounts(scsn_order: Format) -> None:
    first, second = _read_one(scsn_order, _sample("order_valid.xml")).lines
    assert (first.line_id, first.quantity, first.unit) == ("10", Decimal(40), "C62")
    assert (first.unit_price, first.line_amount) == (Decimal("28.50"), Decimal("1026.00"))
    assert (first.supplier_article_code, first.supplier_article_revision) == ("PDK-AS-0020", "03")
    assert (first.customer_article_code, first.customer_article_revision) == ("BM-400-1187", "C")
    assert first.description == "Drive shaft D20 x 180"  # the name before the description
    assert first.note == "Material certificate 3.1 required"
    assert first.discounts == [
        Discount(
            percentage=Decimal(10), amount=Decimal("2.85"), reason="Framework agreement discount"
        )
    ]
    assert (second.line_id, second.quantity, second.unit) == ("20", Decimal("12.5"), "KGM")
    assert second.supplier_article_code is None
    assert (second.customer_article_code, second.customer_article_revision) == (
        "BM-MAT-2544",
        None,
    )
    assert second.description == "Round bar 1.4404, D25"  # no name: the description
    # The cutting costs are a charge (ChargeIndicator true), not a discount.
    assert second.discounts == [Discount(amount=Decimal("20.00"), reason="Volume discount")]


def test_each_line_keeps_its_deliveries_and_its_location(scsn_order: Format) -> None:
    first, second = _read_one(scsn_order, _sample("order_valid.xml")).lines
    assert first.delivery_location_id == "VH-DOCK3"
    assert first.requested_delivery_date == date(2026, 12, 11)
    assert first.deliveries == [
        LineDelivery(
            location_id="VH-DOCK3", quantity=Decimal(25), requested_delivery_date=date(2026, 12, 11)
        ),
        LineDelivery(
            location_id="VH-DOCK3", quantity=Decimal(15), requested_delivery_date=date(2026, 12, 18)
        ),
    ]
    assert second.delivery_location_id == "VH-STORE"
    assert second.requested_delivery_date == date(2026, 12, 4)


def test_a_buyer_without_an_scsn_id_is_read_and_left_to_check_8(scsn_order: Format) -> None:
    order = _read_one(scsn_order, _sample("order_missing_buyer_id.xml"))
    assert order.buyer is not None
    assert order.buyer.id is None
    assert order.buyer.identifiers == [PartyIdentifier(value="17012345", scheme="KVK")]


def test_an_identifier_without_a_scheme_is_taken_as_the_scsn_id(scsn_order: Format) -> None:
    data = _sample("order_valid.xml").replace(b' schemeID="SCSN">scsn-7d1f0c2a', b">scsn-7d1f0c2a")
    buyer = _read_one(scsn_order, data).buyer
    assert buyer is not None
    assert buyer.id == "scsn-7d1f0c2a-buyer"
    assert buyer.identifier("SCSN") == "scsn-7d1f0c2a-buyer"


def test_an_order_without_lines_is_refused_by_the_xsd(scsn_order: Format) -> None:
    result = scsn_order.read(_sample("order_no_lines.xml"), source="order_no_lines.xml")
    assert result.documents == []
    assert [p.code for p in result.problems] == ["xsd.invalid"]
    assert "Expected is one of" in result.problems[0].message


def test_an_xsd_invalid_order_yields_problems_with_lines(scsn_order: Format) -> None:
    result = scsn_order.read(_sample("order_xsd_invalid.xml"), source="order_xsd_invalid.xml")
    assert result.documents == []
    assert result.problems
    assert {p.code for p in result.problems} == {"xsd.invalid"}
    assert all(p.line and p.file == "order_xsd_invalid.xml" for p in result.problems)


def test_duplicate_line_ids_are_read_and_left_to_check_8(scsn_order: Format) -> None:
    order = _read_one(scsn_order, _sample("order_duplicate_line_ids.xml"))
    assert [line.line_id for line in order.lines] == ["10", "10"]


def test_a_ubl_20_instance_reads_like_its_21_twin(scsn_order: Format) -> None:
    """UBL 2.1 is a superset of 2.0: a 2.0 order is valid against the 2.1 schema."""
    order20 = _read_one(scsn_order, _sample("order_ubl20.xml"))
    order21 = _read_one(scsn_order, _sample("order_valid.xml"))
    assert order20.order_type_code is None  # the 2.0 sample has no OrderTypeCode
    assert order20 == order21.model_copy(update={"order_type_code": None})


def test_the_currency_falls_back_to_the_first_amount(scsn_order: Format) -> None:
    data = _sample("order_valid.xml").replace(
        b"  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>\n", b""
    )
    assert b"DocumentCurrencyCode" not in data
    data = data.replace(b'currencyID="EUR">1026.00', b'currencyID="USD">1026.00')
    assert _read_one(scsn_order, data).currency == "USD"


def test_an_order_with_no_currency_anywhere_is_a_problem(scsn_order: Format) -> None:
    lines = (
        b"<cac:OrderLine><cac:LineItem><cbc:ID>1</cbc:ID>"
        b'<cbc:Quantity unitCode="C62">1</cbc:Quantity><cac:Item>'
        b"<cac:SellersItemIdentification><cbc:ID>A</cbc:ID></cac:SellersItemIdentification>"
        b"</cac:Item></cac:LineItem></cac:OrderLine>"
    )
    data = _minimal_order(lines)
    result = scsn_order.read(data, source="no-currency.xml")
    assert result.documents == []
    assert [(p.code, p.field) for p in result.problems] == [("mapping.required", "currency")]


def _minimal_order(lines: bytes, header: bytes = b"") -> bytes:
    return (
        b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2" '
        b'xmlns:cac="' + UBL["cac"].encode() + b'" xmlns:cbc="' + UBL["cbc"].encode() + b'">'
        b"<cbc:ID>PO-9</cbc:ID><cbc:IssueDate>2026-11-20</cbc:IssueDate>" + header + b""
        b"<cac:BuyerCustomerParty/><cac:SellerSupplierParty/>" + lines + b"</Order>"
    )


@pytest.mark.parametrize("indicator", [b"false", b"0", b" false "])
def test_every_spelling_of_a_false_charge_indicator_is_a_discount(
    scsn_order: Format, indicator: bytes
) -> None:
    lines = (
        b"<cac:OrderLine><cac:LineItem><cbc:ID>1</cbc:ID>"
        b'<cbc:Quantity unitCode="C62">1</cbc:Quantity>'
        b"<cac:AllowanceCharge><cbc:ChargeIndicator>" + indicator + b"</cbc:ChargeIndicator>"
        b'<cbc:Amount currencyID="EUR">1.00</cbc:Amount></cac:AllowanceCharge>'
        b"<cac:Item/></cac:LineItem></cac:OrderLine>"
    )
    order = _read_one(scsn_order, _minimal_order(lines))
    assert order.lines[0].discounts == [Discount(amount=Decimal("1.00"))]
    # UBL wants both party elements, not the party in them: empty ones name no party.
    assert (order.buyer, order.seller) == (None, None)


def test_another_ubl_document_is_not_an_order(scsn_order: Format, scsn_response: Format) -> None:
    """The UBL schemas declare every component globally; only an Order root is an order."""
    party = (
        f'<cac:Party xmlns:cac="{UBL["cac"]}" xmlns:cbc="{UBL["cbc"]}">'
        "<cac:PartyName><cbc:Name>x</cbc:Name></cac:PartyName></cac:Party>"
    ).encode()
    for data in (party, scsn_response.write(_response(ResponseCode.ACCEPTED), context={})):
        result = scsn_order.read(data, source="other.xml")
        assert result.documents == []
        assert [p.code for p in result.problems] == ["xsd.invalid"]
        assert "expected one element at /ord:Order, found 0" in result.problems[0].message


@needs_oasis
@pytest.mark.parametrize(
    "example",
    [
        "UBL-Order-2.1-Example.xml",
        "UBL-Order-2.0-Example.xml",
        "UBL-Order-2.0-Example-International.xml",
    ],
)
def test_the_oasis_example_orders_read(scsn_order: Format, example: str) -> None:
    order = _read_one(scsn_order, (OASIS / "xml" / example).read_bytes())
    assert order.lines
    assert order.buyer is not None


@needs_oasis
def test_the_oasis_21_example_reads_field_by_field(scsn_order: Format) -> None:
    order = _read_one(scsn_order, (OASIS / "xml" / "UBL-Order-2.1-Example.xml").read_bytes())
    assert (order.order_id, order.issue_date, order.currency) == ("34", date(2010, 1, 20), "SEK")
    assert order.buyer is not None
    assert order.buyer.identifiers[0] == PartyIdentifier(value="7300070011115", scheme="GLN")
    assert order.buyer.identifier("SCSN") == "PartyID123"  # given without a scheme
    assert [(ln.line_id, ln.supplier_article_code, ln.quantity) for ln in order.lines] == [
        ("1", "SItemNo001", Decimal(120)),
        ("2", "SItemNo011", Decimal(15)),
    ]
    assert order.lines[0].unit == "LTR"
    assert order.lines[0].gtin == "1234567890123"


# --- hostile input -----------------------------------------------------------------------


def test_xxe_through_the_scsn_order_format_yields_only_a_problem(
    scsn_order: Format, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("koppel-secret-scsn", encoding="utf-8")
    data = _sample("order_valid.xml").replace(
        b"<Order ",
        f'<!DOCTYPE Order [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<Order '.encode(),
        1,
    )
    data = data.replace(b"<cbc:ID>PO-2026-0417</cbc:ID>", b"<cbc:ID>&xxe;</cbc:ID>")
    result = scsn_order.read(data, source="xxe.xml")
    assert result.documents == []
    assert [p.code for p in result.problems] == ["xml.doctype"]
    assert "koppel-secret-scsn" not in str(result.problems)


def test_billion_laughs_through_the_scsn_order_format_is_refused(scsn_order: Format) -> None:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE Order [<!ENTITY lol0 "lol">{entities}]>\n'
        f'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2">&lol9;</Order>'
    ).encode()
    result = scsn_order.read(data, source="lol.xml")
    assert result.documents == []
    assert [(p.code, p.line) for p in result.problems] == [("xml.doctype", 2)]


# --- writing the order response ----------------------------------------------------------


def _party(name: str, scsn_id: str) -> Party:
    return Party(name=name, identifiers=[PartyIdentifier(value=scsn_id, scheme="SCSN")])


def _response(
    code: ResponseCode, *lines: OrderResponseLine, notes: list[Note] | None = None
) -> OrderResponse:
    return OrderResponse(
        response_id="PO-2026-0417-R1",
        order_id="PO-2026-0417",
        issue_date=date(2026, 11, 21),
        response=code,
        currency="EUR",
        buyer=_party("Brainport Machines B.V.", "scsn-7d1f0c2a-buyer"),
        seller=_party("Precisie Draaierij Koppel B.V.", "scsn-93be44e1-seller"),
        sales_order_number="SO-55012",
        notes=notes or [],
        lines=list(lines),
    )


ACCEPTED = _response(
    ResponseCode.ACCEPTED,
    OrderResponseLine(
        line_id="10",
        response=ResponseCode.ACCEPTED,
        supplier_article_code="PDK-AS-0020",
        supplier_article_revision="03",
        customer_article_code="BM-400-1187",
        quantity=Decimal(40),
        unit="C62",
        unit_price=Decimal("28.50"),
    ),
)
WITH_CHANGES = _response(
    ResponseCode.ACCEPTED_WITH_CHANGES,
    OrderResponseLine(
        line_id="10",
        response=ResponseCode.ACCEPTED_WITH_CHANGES,
        supplier_article_code="PDK-AS-0020",
        supplier_article_revision="03",
        quantity=Decimal(40),
        unit="C62",
        unit_price=Decimal("31.00"),
        notes=[
            Note(
                code="scsn.price.deviating",
                severity="warning",
                message="price 31.00 taken over; our list price is 28.50",
            )
        ],
    ),
    OrderResponseLine(
        line_id="20",
        response=ResponseCode.ACCEPTED,
        customer_article_code="BM-MAT-2544",
        quantity=Decimal("12.5"),
        unit="KGM",
    ),
)
REJECTED = _response(
    ResponseCode.REJECTED,
    OrderResponseLine(
        line_id="10",
        response=ResponseCode.ACCEPTED,
        supplier_article_code="PDK-AS-0020",
        quantity=Decimal(40),
    ),
    OrderResponseLine(
        line_id="20",
        response=ResponseCode.REJECTED,
        customer_article_code="BM-MAT-2544",
        quantity=Decimal("12.5"),
        unit="KGM",
        notes=[
            Note(code="scsn.article.unknown", severity="error", message="unknown article"),
            Note(code="scsn.article.other_customer", severity="error", message="a: b < c & d"),
        ],
    ),
    notes=[Note(code="scsn.credit_limit", severity="error", message="limit: 10,000.00 EUR")],
)
RESPONSES = {"accepted": ACCEPTED, "accepted_with_changes": WITH_CHANGES, "rejected": REJECTED}


def _xpath(data: bytes, path: str) -> list[str]:
    found = etree.fromstring(data).xpath(path, namespaces=UBL)
    assert isinstance(found, list)
    return [str(item) for item in found]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_response_is_valid_against_the_bundled_xsd(scsn_response: Format, name: str) -> None:
    data = scsn_response.write(RESPONSES[name], context={})
    assert scsn_response.validate(data, source=f"{name}.xml") == []
    bundled = load_schema(SCHEMAS / "maindoc" / "UBL-OrderResponse-2.1.xsd")
    assert validate(parse_xml(data, source="r.xml"), bundled, source="r.xml") == []


@needs_oasis
@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_response_is_valid_against_the_official_oasis_xsd(
    scsn_response: Format, name: str
) -> None:
    data = scsn_response.write(RESPONSES[name], context={})
    official = load_schema(OASIS / "xsd" / "maindoc" / "UBL-OrderResponse-2.1.xsd")
    assert validate(parse_xml(data, source="r.xml"), official, source="r.xml") == []


@pytest.mark.parametrize(
    ("name", "document_code", "line_codes"),
    [
        ("accepted", "AP", ["accepted"]),
        ("accepted_with_changes", "CA", ["accepted", "accepted"]),
        ("rejected", "RE", ["accepted", "rejected"]),
    ],
)
def test_the_response_codes(
    scsn_response: Format, name: str, document_code: str, line_codes: list[str]
) -> None:
    data = scsn_response.write(RESPONSES[name], context={})
    assert _xpath(data, "/r:OrderResponse/cbc:OrderResponseCode/text()") == [document_code]
    assert _xpath(data, "//cac:LineItem/cbc:LineStatusCode/text()") == line_codes


def test_the_header_refers_to_the_order_and_both_parties(scsn_response: Format) -> None:
    data = scsn_response.write(ACCEPTED, context={})
    assert _xpath(data, "/r:OrderResponse/cbc:UBLVersionID/text()") == ["2.1"]
    assert _xpath(data, "/r:OrderResponse/cbc:ID/text()") == ["PO-2026-0417-R1"]
    assert _xpath(data, "/r:OrderResponse/cbc:SalesOrderID/text()") == ["SO-55012"]
    assert _xpath(data, "/r:OrderResponse/cbc:IssueDate/text()") == ["2026-11-21"]
    assert _xpath(data, "/r:OrderResponse/cbc:DocumentCurrencyCode/text()") == ["EUR"]
    assert _xpath(data, "/r:OrderResponse/cac:OrderReference/cbc:ID/text()") == ["PO-2026-0417"]
    seller = "/r:OrderResponse/cac:SellerSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID"
    buyer = "/r:OrderResponse/cac:BuyerCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID"
    assert _xpath(data, f"{seller}/text()") == ["scsn-93be44e1-seller"]
    assert _xpath(data, f"{seller}/@schemeID") == ["SCSN"]
    assert _xpath(data, f"{buyer}/text()") == ["scsn-7d1f0c2a-buyer"]
    assert _xpath(data, "/r:OrderResponse/cbc:CustomizationID") == []


def test_a_line_carries_its_article_revision_quantity_and_price(scsn_response: Format) -> None:
    data = scsn_response.write(ACCEPTED, context={})
    item = "//cac:LineItem/cac:Item"
    assert _xpath(data, "//cac:LineItem/cbc:ID/text()") == ["10"]
    assert _xpath(data, "//cac:LineItem/cbc:Quantity/text()") == ["40"]
    assert _xpath(data, "//cac:LineItem/cbc:Quantity/@unitCode") == ["C62"]
    assert _xpath(data, "//cac:LineItem/cac:Price/cbc:PriceAmount/text()") == ["28.50"]
    assert _xpath(data, "//cac:LineItem/cac:Price/cbc:PriceAmount/@currencyID") == ["EUR"]
    assert _xpath(data, f"{item}/cac:SellersItemIdentification/cbc:ID/text()") == ["PDK-AS-0020"]
    assert _xpath(data, f"{item}/cac:SellersItemIdentification/cbc:ExtendedID/text()") == ["03"]
    assert _xpath(data, f"{item}/cac:BuyersItemIdentification/cbc:ID/text()") == ["BM-400-1187"]


def test_the_reasons_are_notes_where_they_belong(scsn_response: Format) -> None:
    data = scsn_response.write(REJECTED, context={})
    assert _xpath(data, "/r:OrderResponse/cbc:Note/text()") == [
        "[error] scsn.credit_limit: limit: 10,000.00 EUR"
    ]
    assert _xpath(data, "//cac:LineItem[cbc:ID='20']/cbc:Note/text()") == [
        "[error] scsn.article.unknown: unknown article",
        "[error] scsn.article.other_customer: a: b < c & d",
    ]
    assert _xpath(data, "//cac:LineItem[cbc:ID='10']/cbc:Note") == []


def test_the_connection_may_supply_scsn_customization_and_profile(scsn_response: Format) -> None:
    context = {"scsn_customization_id": "urn:example:scsn:order", "scsn_profile_id": "p1"}
    data = scsn_response.write(ACCEPTED, context=context)
    assert _xpath(data, "/r:OrderResponse/cbc:CustomizationID/text()") == ["urn:example:scsn:order"]
    assert _xpath(data, "/r:OrderResponse/cbc:ProfileID/text()") == ["p1"]
    assert scsn_response.validate(data, source="r.xml") == []


def test_a_price_needs_the_response_currency(scsn_response: Format) -> None:
    with pytest.raises(DocumentWriteError) as caught:
        scsn_response.write(ACCEPTED.model_copy(update={"currency": None}), context={})
    assert [(p.code, p.field) for p in caught.value.problems] == [("mapping.required", "currency")]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_a_written_response_reads_back(scsn_response: Format, name: str) -> None:
    """Everything survives but two things the wire does not carry apart: SCSN answers a line
    accepted with changes as ``accepted``, and the SCSN id read back is also the party's id."""
    sent = RESPONSES[name]
    result = scsn_response.read(scsn_response.write(sent, context={}), source="r.xml")
    assert result.problems == []
    (read,) = result.documents
    assert isinstance(read, OrderResponse)
    expected_lines = [
        line.model_copy(update={"response": ResponseCode.ACCEPTED})
        if line.response is ResponseCode.ACCEPTED_WITH_CHANGES
        else line
        for line in sent.lines
    ]
    assert sent.buyer is not None
    assert sent.seller is not None
    expected = sent.model_copy(
        update={
            "lines": expected_lines,
            "buyer": sent.buyer.model_copy(update={"id": sent.buyer.identifiers[0].value}),
            "seller": sent.seller.model_copy(update={"id": sent.seller.identifiers[0].value}),
        }
    )
    assert read == expected


def test_another_senders_free_text_note_reads_as_an_info_note(scsn_response: Format) -> None:
    data = scsn_response.write(ACCEPTED, context={}).replace(
        b"<cbc:DocumentCurrencyCode>", b"<cbc:Note>Thank you</cbc:Note><cbc:DocumentCurrencyCode>"
    )
    (read,) = scsn_response.read(data, source="r.xml").documents
    assert isinstance(read, OrderResponse)
    assert read.notes == [Note(code="note", severity="info", message="Thank you")]


# --- the mapping engine's additions the SCSN formats use ---------------------------------


def _mapping(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "x.order_response.yaml"
    path.write_text(
        "format: x.order_response\ndocument: OrderResponse\nschema: x.xsd\n"
        'namespaces: {r: "urn:x"}\n' + body,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            "write:\n  element: r:R\n  children:\n"
            "    - {element: N, each: notes, template: '{nope}'}\n",
            r"write/r:R/N\.template: unknown canonical field.*'nope'",
        ),
        (
            "write:\n  element: r:R\n  children:\n    - {element: N, template: 'plain'}\n",
            r"template: a template without placeholders is a 'value'",
        ),
        (
            "write:\n  element: r:R\n  children:\n    - {element: N, template: '{order_id!r}'}\n",
            r"template: placeholders are plain \{path\}",
        ),
        (
            "write:\n  element: r:R\n  children:\n"
            "    - {element: N, from: order_id, template: '{order_id}'}\n",
            r"at most one of 'from', 'context', 'value' or 'template'",
        ),
        (
            "write: {element: r:R}\nlookups: {codes: {AP: accepted}}\n"
            "write_lookups: {other: {rejected: AP}}\n",
            r"write_lookups\.other: no lookup table named 'other'",
        ),
        (
            "write: {element: r:R}\nlookups: {codes: {AP: accepted}}\n"
            "write_lookups: {codes: {rejected: RE}}\n",
            r"write_lookups\.codes\.rejected: 'RE' is not a wire code of codes",
        ),
        (
            "write:\n  element: r:R\n  children:\n"
            "    - {element: N, record: true, template: '{order_id}'}\n",
            r"write/r:R/N\.template: a batch mapping \(with a 'record'\) has no templates",
        ),
        (
            "write:\n  element: r:R\n  children:\n"
            "    - {element: N, record: true, from: order_id}\n"
            "lookups: {codes: {AP: accepted}}\nwrite_lookups: {codes: {rejected: AP}}\n",
            r"write_lookups: a batch mapping \(with a 'record'\) has none",
        ),
    ],
)
def test_template_and_write_lookup_mistakes_are_found_when_loading(
    tmp_path: Path, body: str, error: str
) -> None:
    with pytest.raises(MappingError, match=error):
        load_mapping(_mapping(tmp_path, body))


def test_a_template_with_a_missing_value_leaves_the_element_out(tmp_path: Path) -> None:
    definition = load_mapping(
        _mapping(
            tmp_path,
            "write:\n  element: r:R\n  children:\n"
            "    - {element: N, template: '{order_id} / {sales_order_number}'}\n"
            "    - {element: C, template: '{/currency}: {order_id}'}\n",
        )
    )
    with_number = ACCEPTED.model_copy(update={"currency": None})
    data = write_document(definition, with_number, context={})
    assert b"<N>PO-2026-0417 / SO-55012</N>" in data
    assert b"<C>" not in data
