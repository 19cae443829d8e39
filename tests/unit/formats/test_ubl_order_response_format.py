"""``ubl.order_response``: OASIS UBL 2.0/2.1 OrderResponses read into the canonical
OrderResponse and written back.

The OASIS example lives in /work/shared/standards/ubl-2.1/xml (read in place,
never copied); every other document here is built in the test.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import OrderResponse, has_errors
from koppel.documents.order_response import (
    OrderResponseLine,
    ResponseCode,
    ResponseNote,
)
from koppel.documents.parties import Party, PartyIdentifier
from koppel.formats import Format, default_registry
from koppel.mapping.writer import DocumentWriteError

from .ubl_support import (
    OASIS,
    assert_round_trips,
    assert_xxe_refused,
    needs_oasis,
    read_one,
    texts,
    ubl_namespaces,
)

EXAMPLE = OASIS / "xml" / "UBL-OrderResponse-2.1-Example.xml"
NS = ubl_namespaces("resp", "OrderResponse")


@pytest.fixture(scope="module")
def ubl_response() -> Format:
    return default_registry().get("ubl.order_response")


def _read(fmt: Format, data: bytes, source: str = "response.xml") -> OrderResponse:
    return read_one(fmt, data, OrderResponse, source)


def _text(data: bytes, path: str) -> list[str]:
    return texts(data, path, NS)


def _parties() -> tuple[Party, Party]:
    seller = Party(
        id="SUP-1",
        name="Moderna Produkter AB",
        identifiers=[PartyIdentifier(value="SUP-1")],
        endpoint_id=PartyIdentifier(value="7302347231111", scheme="GLN"),
    )
    buyer = Party(
        id="7300070011115",
        name="Johnssons byggvaror",
        identifiers=[
            PartyIdentifier(value="7300070011115", scheme="GLN"),
            PartyIdentifier(value="PartyID123"),
        ],
        endpoint_id=PartyIdentifier(value="7300072311115", scheme="GLN"),
    )
    return seller, buyer


def _response(code: ResponseCode, lines: list[OrderResponseLine]) -> OrderResponse:
    seller, buyer = _parties()
    return OrderResponse(
        response_id=f"RESP-{code.value}",
        order_id="34",
        order_issue_date=date(2010, 1, 20),
        issue_date=date(2010, 1, 21),
        issue_time=time(12, 30),
        response=code,
        currency="SEK",
        customer_reference="Project X",
        seller=seller,
        buyer=buyer,
        sales_order_number="SO-5501",
        promised_delivery_start_date=date(2010, 2, 20),
        promised_delivery_date=date(2010, 2, 25),
        note="Thank you for your order",
        lines=lines,
    )


def _changed_lines() -> list[OrderResponseLine]:
    return [
        OrderResponseLine(
            line_id="1",
            response=ResponseCode.ACCEPTED_WITH_CHANGES,
            quantity=Decimal("100"),
            unit="LTR",
            unit_price=Decimal("50"),
            item_name="Falu Rödfärg",
            supplier_article_code="SItemNo001",
            supplier_article_revision="B",
            customer_article_code="BI-1",
            gtin="1234567890123",
            gtin_scheme="GTIN",
            promised_delivery_date=date(2010, 2, 25),
            note="Only 100 litres in stock",
        ),
        OrderResponseLine(
            line_id="2",
            response=ResponseCode.ACCEPTED_WITH_CHANGES,
            quantity=Decimal("15"),
            unit="C62",
            unit_price=Decimal("17.50"),
            item_name="Pensel 20 mm",
            notes=[ResponseNote(code="price", severity="warning", message="new price list")],
        ),
        OrderResponseLine(line_id="3", response=ResponseCode.REJECTED, item_name="Spackel"),
        OrderResponseLine(line_id="4", response=ResponseCode.ACCEPTED, quantity=Decimal("2")),
    ]


RESPONSES = {
    "accepted": _response(ResponseCode.ACCEPTED, []),
    "accepted_with_changes": _response(ResponseCode.ACCEPTED_WITH_CHANGES, _changed_lines()),
    "rejected": _response(ResponseCode.REJECTED, []).model_copy(
        update={
            "notes": [ResponseNote(code="credit", severity="error", message="credit limit")],
            "note": None,
        }
    ),
    "acknowledged": _response(ResponseCode.ACKNOWLEDGED, []),
}


# --- the format ---------------------------------------------------------------------------


def test_the_registry_lists_ubl_order_response(ubl_response: Format) -> None:
    assert "ubl.order_response" in default_registry().names()
    assert ubl_response.document_class is OrderResponse
    assert ubl_response.can_read
    assert ubl_response.can_write
    assert not ubl_response.has_rules


def test_koppel_formats_lists_ubl_order_response(capsys: pytest.CaptureFixture[str]) -> None:
    from koppel.cli import main

    assert main(["formats"]) == 0
    assert "ubl.order_response" in capsys.readouterr().out.split()


# --- the OASIS example ----------------------------------------------------------------------


@needs_oasis
def test_the_oasis_example_reads_field_by_field(ubl_response: Format) -> None:
    response = _read(ubl_response, EXAMPLE.read_bytes(), source=EXAMPLE.name)

    assert response.response_id == "7"
    assert response.order_id == "34"
    assert response.issue_date == date(2010, 1, 21)
    assert response.issue_time == time(12, 30)
    assert response.currency == "SEK"
    assert response.note == "Information text for the whole order response"
    assert response.notes == []
    # No OrderResponseCode, and line 2 is disputed: a counter-offer.
    assert response.response is ResponseCode.ACCEPTED_WITH_CHANGES
    assert response.sales_order_number is None
    assert response.order_issue_date is None

    seller, buyer = response.seller, response.buyer
    assert seller is not None
    assert buyer is not None
    assert seller.name == "Moderna Produkter AB"
    assert seller.id == "SellerPartyID123"
    assert seller.identifiers == [PartyIdentifier(value="SellerPartyID123")]
    assert seller.endpoint_id == PartyIdentifier(value="7302347231111", scheme="GLN")
    assert buyer.name == "Johnssons byggvaror"
    assert buyer.id == "7300070011115"
    assert buyer.identifiers == [
        PartyIdentifier(value="7300070011115", scheme="GLN"),
        PartyIdentifier(value="PartyID123"),
    ]
    assert buyer.endpoint_id == PartyIdentifier(value="7300072311115", scheme="GLN")

    assert response.lines == [
        OrderResponseLine(line_id="1", response=ResponseCode.ACCEPTED),
        OrderResponseLine(line_id="2", response=ResponseCode.REJECTED),
    ]


@needs_oasis
def test_the_oasis_example_round_trips(ubl_response: Format) -> None:
    first = _read(ubl_response, EXAMPLE.read_bytes(), source=EXAMPLE.name)

    written = assert_round_trips(ubl_response, first, "OrderResponse")

    # The code is now explicit, the line statuses are UNCL 1229.
    assert _text(written, "cbc:OrderResponseCode") == ["CA"]
    assert _text(written, "cac:OrderLine/cac:LineItem/cbc:LineStatusCode") == ["5", "7"]


@needs_oasis
def test_without_a_code_and_every_line_unchanged_the_order_is_accepted(
    ubl_response: Format,
) -> None:
    data = EXAMPLE.read_bytes().replace(b">Disputed<", b">NoStatus<")

    assert _read(ubl_response, data).response is ResponseCode.ACCEPTED


@needs_oasis
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("NoStatus", ResponseCode.ACCEPTED),
        ("Revised", ResponseCode.ACCEPTED_WITH_CHANGES),
        ("Disputed", ResponseCode.REJECTED),
        ("Cancelled", ResponseCode.REJECTED),
        ("5", ResponseCode.ACCEPTED),
        ("3", ResponseCode.ACCEPTED_WITH_CHANGES),
        ("7", ResponseCode.REJECTED),
    ],
)
def test_both_line_status_lists_are_read(
    ubl_response: Format, status: str, expected: ResponseCode
) -> None:
    data = EXAMPLE.read_bytes().replace(b">Disputed<", f">{status}<".encode())

    assert _read(ubl_response, data).lines[1].response is expected


# --- our responses written and read back ------------------------------------------------


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_response_is_valid_and_reads_back_equal(ubl_response: Format, name: str) -> None:
    assert_round_trips(ubl_response, RESPONSES[name], "OrderResponse", source=f"{name}.xml")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("accepted", "AP"),
        ("accepted_with_changes", "CA"),
        ("rejected", "RE"),
        ("acknowledged", "AB"),
    ],
)
def test_the_document_codes_are_uncl_4343(ubl_response: Format, name: str, code: str) -> None:
    written = ubl_response.write(RESPONSES[name], context={})

    assert _text(written, "cbc:OrderResponseCode") == [code]


def test_changed_lines_carry_their_quantity_price_ids_and_promise(ubl_response: Format) -> None:
    written = ubl_response.write(RESPONSES["accepted_with_changes"], context={})
    line = "cac:OrderLine[1]/cac:LineItem"

    assert _text(written, "cac:OrderLine/cac:LineItem/cbc:LineStatusCode") == ["3", "3", "7", "5"]
    assert _text(written, "cac:OrderLine/cac:OrderLineReference/cbc:LineID") == ["1", "2", "3", "4"]
    assert _text(written, f"{line}/cbc:Quantity") == ["100"]
    root = etree.fromstring(written)
    (quantity,) = root.xpath(f"{line}/cbc:Quantity", namespaces=NS)
    assert quantity.get("unitCode") == "LTR"
    (gtin,) = root.xpath(f"{line}/cac:Item/cac:StandardItemIdentification/cbc:ID", namespaces=NS)
    assert (gtin.text, gtin.get("schemeID")) == ("1234567890123", "GTIN")
    assert _text(written, f"{line}/cac:Item/cac:SellersItemIdentification/cbc:ExtendedID") == ["B"]
    assert _text(written, f"{line}/cac:Delivery/cac:PromisedDeliveryPeriod/cbc:EndDate") == [
        "2010-02-25"
    ]
    assert _text(written, "cac:OrderLine[2]/cac:LineItem/cac:Price/cbc:PriceAmount") == ["17.50"]
    assert _text(written, "cac:OrderLine[2]/cac:LineItem/cbc:Note") == [
        "[warning] price: new price list"
    ]
    assert _text(written, "cbc:SalesOrderID") == ["SO-5501"]
    assert _text(written, "cac:OrderReference/cbc:IssueDate") == ["2010-01-20"]
    assert _text(written, "cbc:IssueTime") == ["12:30:00"]


def test_a_free_text_note_and_coded_reasons_are_told_apart(ubl_response: Format) -> None:
    both = RESPONSES["rejected"].model_copy(update={"note": "See the reasons"})
    written = ubl_response.write(both, context={})

    assert _text(written, "cbc:Note") == ["See the reasons", "[error] credit: credit limit"]
    assert _read(ubl_response, written) == both


def test_an_scsn_response_reads_in_the_general_format(ubl_response: Format) -> None:
    scsn = default_registry().get("scsn.order_response")
    seller, buyer = _parties()
    answer = OrderResponse(
        response_id="R-1",
        order_id="PO-1",
        issue_date=date(2026, 11, 29),
        response=ResponseCode.REJECTED,
        currency="EUR",
        seller=seller.model_copy(update={"endpoint_id": None}),
        buyer=buyer.model_copy(update={"endpoint_id": None}),
        lines=[
            OrderResponseLine(
                line_id="1",
                response=ResponseCode.REJECTED,
                quantity=Decimal("3"),
                unit="PCE",
                notes=[ResponseNote(code="scsn.article", severity="error", message="unknown")],
            )
        ],
    )

    read = _read(ubl_response, scsn.write(answer, context={}))

    assert read.response is ResponseCode.REJECTED
    assert read.lines[0].notes == answer.lines[0].notes
    assert (read.lines[0].quantity, read.lines[0].unit) == (Decimal("3"), "PCE")


def test_the_unit_price_is_the_price_amount_per_base_quantity(ubl_response: Format) -> None:
    written = ubl_response.write(RESPONSES["accepted_with_changes"], context={})
    with_base = written.replace(
        b'<cbc:PriceAmount currencyID="SEK">17.50</cbc:PriceAmount>',
        b'<cbc:PriceAmount currencyID="SEK">175</cbc:PriceAmount>'
        b'<cbc:BaseQuantity unitCode="C62">10</cbc:BaseQuantity>',
    )
    assert with_base != written

    assert _read(ubl_response, with_base).lines[1].unit_price == Decimal("17.5")


def test_a_ubl_20_line_note_on_the_order_line_is_read(ubl_response: Format) -> None:
    written = ubl_response.write(RESPONSES["accepted_with_changes"], context={})
    moved = written.replace(
        b"<cac:OrderLine>\n    <cac:LineItem>\n      <cbc:ID>4</cbc:ID>",
        b"<cac:OrderLine>\n    <cbc:Note>Delivered from stock</cbc:Note>\n"
        b"    <cac:LineItem>\n      <cbc:ID>4</cbc:ID>",
    )
    assert moved != written

    assert _read(ubl_response, moved).lines[3].note == "Delivered from stock"


def test_a_price_needs_the_response_currency(ubl_response: Format) -> None:
    no_currency = RESPONSES["accepted_with_changes"].model_copy(update={"currency": None})

    with pytest.raises(DocumentWriteError, match="currencyID"):
        ubl_response.write(no_currency, context={})


# --- hostile and invalid documents ------------------------------------------------------


def test_xxe_in_a_response_yields_only_a_doctype_problem(
    ubl_response: Format, tmp_path: Path
) -> None:
    assert_xxe_refused(ubl_response, "OrderResponse", tmp_path)


def test_an_order_is_not_an_order_response(ubl_response: Format) -> None:
    order = (
        b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"'
        b' xmlns:cbc="' + NS["cbc"].encode() + b'"><cbc:ID>1</cbc:ID></Order>'
    )

    result = ubl_response.read(order, source="order.xml")

    assert result.documents == []
    assert [p.code for p in result.problems] == ["xsd.invalid"]


@needs_oasis
def test_a_response_without_an_order_reference_is_refused_by_the_xsd(
    ubl_response: Format,
) -> None:
    data = EXAMPLE.read_bytes()
    start, end = data.index(b"<cac:OrderReference>"), data.index(b"</cac:OrderReference>")
    broken = data[:start] + data[end + len(b"</cac:OrderReference>") :]

    result = ubl_response.read(broken, source="no-reference.xml")

    assert result.documents == []
    assert has_errors(result.problems)
    assert all(p.code.startswith("xsd") for p in result.problems)


@needs_oasis
def test_an_unknown_line_status_is_refused_with_the_line(ubl_response: Format) -> None:
    data = EXAMPLE.read_bytes().replace(b">Disputed<", b">Maybe<")

    result = ubl_response.read(data, source="maybe.xml")

    assert result.documents == []
    assert [(p.code, p.field) for p in result.problems] == [("mapping.lookup", "lines[1].response")]
    assert "'Maybe'" in result.problems[0].message


@needs_oasis
def test_an_unknown_response_code_is_refused(ubl_response: Format) -> None:
    data = EXAMPLE.read_bytes().replace(
        b"<cbc:IssueTime>12:30:00</cbc:IssueTime>",
        b"<cbc:IssueTime>12:30:00</cbc:IssueTime><cbc:OrderResponseCode>ZZ</cbc:OrderResponseCode>",
    )

    result = ubl_response.read(data, source="zz.xml")

    assert result.documents == []
    assert [(p.code, p.field) for p in result.problems] == [("mapping.lookup", "response")]
