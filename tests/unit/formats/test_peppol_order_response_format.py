"""``peppol.order_response``: Peppol BIS 3 Order Responses (T76), with the official rules.

Every document here is our own, built in the test. The Peppol T76 rules are
the compiled OpenPEPPOL stylesheet in the shared rules folder (see
test_peppol_rules.py): without it, the tests that need it are skipped.
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import OrderResponse, Severity
from koppel.documents.order_response import (
    OrderResponseLine,
    ResponseCode,
    ResponseNote,
)
from koppel.documents.parties import Party, PartyIdentifier
from koppel.formats import Format, default_registry
from koppel.formats.schematron import peppol_rules
from koppel.mapping.writer import DocumentWriteError

from .ubl_support import (
    assert_xxe_refused,
    bundled_xsd,
    read_one,
    refusal,
    skip_without_peppol_rules,
    texts,
    ubl_namespaces,
    xsd_problems,
)

skip_without_peppol_rules("Peppol order response")
pytestmark = pytest.mark.usefixtures("peppol_rules_dir")

NS = ubl_namespaces("resp", "OrderResponse")
CUSTOMIZATION = "urn:fdc:peppol.eu:poacc:trns:order_response:3"
PROFILE = "urn:fdc:peppol.eu:poacc:bis:ordering:3"


@pytest.fixture(scope="module")
def peppol_response() -> Format:
    return default_registry().get("peppol.order_response")


def _party(gln: str, name: str) -> Party:
    return Party(
        id=gln,
        name=name,
        identifiers=[PartyIdentifier(value=gln, scheme="0088")],
        endpoint_id=PartyIdentifier(value=gln, scheme="0088"),
    )


SELLER = _party("6411111111112", "Tukku Oy")
BUYER = _party("6422222222222", "Kauppa Helsinki Oy")


def _response(code: ResponseCode, lines: list[OrderResponseLine], **extra: object) -> OrderResponse:
    fields: dict[str, object] = {
        "response_id": f"OR-{code.value}",
        "order_id": "PO-2026-0042",
        "issue_date": date(2026, 11, 29),
        "issue_time": time(9, 45, 10),
        "response": code,
        "currency": "EUR",
        "seller": SELLER,
        "buyer": BUYER,
        "sales_order_number": "SO-771",
        "lines": lines,
        **extra,
    }
    return OrderResponse.model_validate(fields)


#: Line 1: quantity changed (10 ordered, 8 delivered); line 2: price changed; line 3 refused.
CHANGED_LINES = [
    OrderResponseLine(
        line_id="1",
        response=ResponseCode.ACCEPTED_WITH_CHANGES,
        quantity=Decimal("8"),
        unit="EA",
        item_name="Maali 2,7 l",
        supplier_article_code="M-27",
        customer_article_code="K-100",
        gtin="6430000000009",
        gtin_scheme="0160",
        promised_delivery_start_date=date(2026, 12, 2),
        promised_delivery_date=date(2026, 12, 4),
        notes=[ResponseNote(code="stock", severity="warning", message="8 in stock")],
    ),
    OrderResponseLine(
        line_id="2",
        response=ResponseCode.ACCEPTED_WITH_CHANGES,
        quantity=Decimal("5"),
        unit="EA",
        unit_price=Decimal("12.90"),
        item_name="Sivellin 50 mm",
        note="Hinta muuttunut 1.11.",
    ),
    OrderResponseLine(
        line_id="3",
        response=ResponseCode.REJECTED,
        item_name="Tasoite",
        notes=[ResponseNote(code="article", severity="error", message="no longer sold")],
    ),
    OrderResponseLine(
        line_id="4",
        response=ResponseCode.ACCEPTED,
        quantity=Decimal("1"),
        unit="EA",
        item_name="Tela",
    ),
]
RESPONSES = {
    "accepted": _response(ResponseCode.ACCEPTED, [], note="Kiitos tilauksesta"),
    "accepted_with_changes": _response(
        ResponseCode.ACCEPTED_WITH_CHANGES,
        CHANGED_LINES,
        customer_reference="Projekti 7",
        promised_delivery_start_date=date(2026, 12, 2),
        promised_delivery_date=date(2026, 12, 4),
    ),
    "rejected": _response(
        ResponseCode.REJECTED,
        [],
        notes=[ResponseNote(code="credit", severity="error", message="credit limit exceeded")],
    ),
    "acknowledged": _response(ResponseCode.ACKNOWLEDGED, []),
}


def _write(fmt: Format, name: str) -> bytes:
    return fmt.write(RESPONSES[name], context={})


def _read(fmt: Format, data: bytes, source: str = "response.xml") -> OrderResponse:
    return read_one(fmt, data, OrderResponse, source)


def _xsd_problems(data: bytes) -> list[str]:
    return xsd_problems(data, bundled_xsd("OrderResponse"))


def _text(data: bytes, path: str) -> list[str]:
    return texts(data, path, NS)


def _refused(fmt: Format, data: bytes, source: str) -> set[tuple[str, Severity]]:
    return {(p.code, p.severity) for p in refusal(fmt, data, source)}


# --- the format ---------------------------------------------------------------------------


def test_the_registry_lists_peppol_order_response(peppol_response: Format) -> None:
    assert "peppol.order_response" in default_registry().names()
    assert peppol_response.document_class is OrderResponse
    assert peppol_response.can_read
    assert peppol_response.can_write
    assert peppol_response.has_rules


# --- written responses: XSD, T76 and back -------------------------------------------------


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_response_is_valid_against_the_xsd_and_t76(peppol_response: Format, name: str) -> None:
    written = _write(peppol_response, name)

    assert _xsd_problems(written) == []
    assert peppol_rules("T76").validate(written, source=f"{name}.xml") == []
    assert peppol_response.validate(written, source=f"{name}.xml") == []


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_response_reads_back_equal(peppol_response: Format, name: str) -> None:
    written = _write(peppol_response, name)

    assert _read(peppol_response, written) == RESPONSES[name]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_the_general_ubl_format_reads_the_same_document(peppol_response: Format, name: str) -> None:
    ubl = default_registry().get("ubl.order_response")

    assert _read(ubl, _write(peppol_response, name)) == RESPONSES[name]


def test_the_header_carries_the_t76_ids_and_codes(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted_with_changes")

    assert _text(written, "cbc:CustomizationID") == [CUSTOMIZATION]
    assert _text(written, "cbc:ProfileID") == [PROFILE]
    assert _text(written, "cbc:OrderResponseCode") == ["CA"]
    assert _text(written, "cbc:SalesOrderID") == ["SO-771"]
    assert _text(written, "cbc:IssueTime") == ["09:45:10"]
    assert _text(written, "cbc:UBLVersionID") == []  # not in the T76 data model
    party = "cac:SellerSupplierParty/cac:Party"
    assert _text(written, f"{party}/cac:PartyLegalEntity/cbc:RegistrationName") == ["Tukku Oy"]
    assert _text(written, f"{party}/cac:PartyName/cbc:Name") == []
    (endpoint,) = etree.fromstring(written).xpath(f"{party}/cbc:EndpointID", namespaces=NS)
    assert (endpoint.text, endpoint.get("schemeID")) == ("6411111111112", "0088")


@pytest.mark.parametrize(
    ("name", "code"),
    [("accepted", "AP"), ("rejected", "RE"), ("acknowledged", "AB")],
)
def test_a_decision_on_the_whole_order_has_no_lines(
    peppol_response: Format, name: str, code: str
) -> None:
    written = _write(peppol_response, name)

    assert _text(written, "cbc:OrderResponseCode") == [code]
    assert etree.fromstring(written).xpath("cac:OrderLine", namespaces=NS) == []


def test_changed_lines_carry_status_quantity_price_and_promise(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted_with_changes")
    items = "cac:OrderLine/cac:LineItem"

    assert _text(written, f"{items}/cbc:LineStatusCode") == ["3", "3", "7", "5"]
    assert _text(written, "cac:OrderLine/cac:OrderLineReference/cbc:LineID") == ["1", "2", "3", "4"]
    assert _text(written, f"{items}[cbc:ID='1']/cbc:Quantity") == ["8"]
    assert _text(written, f"{items}[cbc:ID='2']/cac:Price/cbc:PriceAmount") == ["12.90"]
    assert _text(written, f"{items}[cbc:ID='1']/cac:Delivery/cac:PromisedDeliveryPeriod/*") == [
        "2026-12-02",
        "2026-12-04",
    ]
    assert _text(written, f"{items}[cbc:ID='3']/cbc:Note") == ["[error] article: no longer sold"]
    (gtin,) = etree.fromstring(written).xpath(
        f"{items}[cbc:ID='1']/cac:Item/cac:StandardItemIdentification/cbc:ID", namespaces=NS
    )
    assert (gtin.text, gtin.get("schemeID")) == ("6430000000009", "0160")


def test_an_item_without_a_name_cannot_be_written(peppol_response: Format) -> None:
    nameless = RESPONSES["accepted_with_changes"].model_copy(
        update={"lines": [CHANGED_LINES[0].model_copy(update={"item_name": None})]}
    )

    with pytest.raises(DocumentWriteError, match="Name"):
        peppol_response.write(nameless, context={})


def test_an_accepted_response_with_lines_is_caught_before_it_leaves(
    peppol_response: Format,
) -> None:
    # The writer writes what the canonical has; T76 forbids lines on AP (R008).
    with_lines = _response(ResponseCode.ACCEPTED, [CHANGED_LINES[3]])

    problems = peppol_response.validate(peppol_response.write(with_lines, context={}), source="w")

    assert {(p.code, p.severity) for p in problems} == {("PEPPOL-T76-R008", Severity.ERROR)}


def test_an_scsn_unit_code_is_caught_before_it_leaves(peppol_response: Format) -> None:
    pce = CHANGED_LINES[0].model_copy(update={"unit": "PCE"})
    response = _response(ResponseCode.ACCEPTED_WITH_CHANGES, [pce])

    problems = peppol_response.validate(peppol_response.write(response, context={}), source="w")

    assert {p.code for p in problems} == {"PEPPOL-T76-B04302"}


# --- hostile and invalid documents ------------------------------------------------------


def test_a_response_without_a_response_code_is_refused_by_t76(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted")
    broken = re.sub(rb"<cbc:OrderResponseCode>.*?</cbc:OrderResponseCode>\s*", b"", written)

    assert _xsd_problems(broken) == []  # optional in UBL: only the Peppol rules refuse it
    assert _refused(peppol_response, broken, "no-code.xml") == {
        ("PEPPOL-T76-B00105", Severity.ERROR)
    }


def test_a_code_outside_the_t76_subset_is_refused(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted")
    broken = written.replace(b">AP</cbc:OrderResponseCode>", b">AA</cbc:OrderResponseCode>")

    assert ("PEPPOL-T76-B00801", Severity.ERROR) in _refused(peppol_response, broken, "aa.xml")


def test_another_specification_id_is_refused(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted")
    broken = written.replace(CUSTOMIZATION.encode(), b"urn:fdc:peppol.eu:poacc:trns:order:3")

    assert _refused(peppol_response, broken, "order-id.xml") == {
        ("PEPPOL-T76-R006", Severity.ERROR)
    }


def test_a_conditional_acceptance_without_lines_is_refused(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted")
    broken = written.replace(b">AP</cbc:OrderResponseCode>", b">CA</cbc:OrderResponseCode>")

    assert _refused(peppol_response, broken, "ca.xml") == {("PEPPOL-T76-R007", Severity.ERROR)}


def test_an_element_outside_the_data_model_is_refused(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted")
    broken = written.replace(
        b"<cbc:CustomizationID>", b"<cbc:UBLVersionID>2.1</cbc:UBLVersionID><cbc:CustomizationID>"
    )

    assert _refused(peppol_response, broken, "version.xml") == {
        ("PEPPOL-T76-B00111", Severity.ERROR)
    }


def test_a_line_status_without_a_canonical_answer_is_refused(peppol_response: Format) -> None:
    # 42 (already delivered) is in the T76 list, but no answer Koppel can record for the line.
    written = _write(peppol_response, "accepted_with_changes")
    broken = written.replace(
        b"<cbc:LineStatusCode>5</cbc:LineStatusCode>",
        b"<cbc:LineStatusCode>42</cbc:LineStatusCode>",
    )

    result = peppol_response.read(broken, source="42.xml")

    assert result.documents == []
    assert [(p.code, p.field) for p in result.problems] == [("mapping.lookup", "lines[3].response")]


def test_a_t76_warning_does_not_stop_reading(peppol_response: Format) -> None:
    # A Dutch KvK number (0106) must have 8 digits: PEPPOL-COMMON-R054 is a warning.
    written = _write(peppol_response, "accepted")
    warned = written.replace(
        b'<cac:PartyIdentification>\n        <cbc:ID schemeID="0088">6422222222222</cbc:ID>',
        b'<cac:PartyIdentification>\n        <cbc:ID schemeID="0106">123</cbc:ID>',
    )
    assert warned != written

    result = peppol_response.read(warned, source="kvk.xml")

    assert [(p.code, p.severity) for p in result.problems] == [
        ("PEPPOL-COMMON-R054", Severity.WARNING)
    ]
    (response,) = result.documents
    assert isinstance(response, OrderResponse)
    assert response.buyer is not None
    assert response.buyer.identifiers == [PartyIdentifier(value="123", scheme="0106")]


def test_xxe_in_a_response_yields_only_a_doctype_problem(
    peppol_response: Format, tmp_path: Path
) -> None:
    assert_xxe_refused(peppol_response, "OrderResponse", tmp_path)


def test_an_xsd_invalid_response_is_refused_before_the_rules(peppol_response: Format) -> None:
    written = _write(peppol_response, "accepted")
    broken = re.sub(rb"<cac:OrderReference>.*?</cac:OrderReference>\s*", b"", written, flags=re.S)

    assert {code for code, _ in _refused(peppol_response, broken, "no-ref.xml")} == {"xsd.invalid"}
