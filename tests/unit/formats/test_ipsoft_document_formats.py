"""IPSoft's document requests (seed 001) written from canonical orders and ledger postings.

Every request is checked against ``ipsoft.xsd``, the contract the emulator
validates too, and read back with XPath: amounts keep their currency's
decimals, a tax-inclusive webshop order says so, a refund becomes a credit
note, a sales invoice names no article, and each level of ``post_order``
becomes a journal entry keyed by its posting.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from koppel.documents import (
    CanonicalModel,
    DocumentType,
    FinancialMutation,
    MutationLevel,
    OrderLine,
    PostingLine,
)
from koppel.documents.orders import TaxTotal
from koppel.formats import DocumentWriteError, Format, default_registry
from koppel.rules.financial_mutation import post_order
from tests.fixtures.webshop_sale import webshop_sale as _webshop_order

IPS = "urn:koppel:ipsoft:erp:1"
NS = {"ips": IPS}


def _format(name: str) -> Format:
    return default_registry().get(name)


def _write(name: str, document: CanonicalModel) -> etree._Element:
    """Write ``document`` with format ``name``, insist it is XSD-valid, and parse it."""
    fmt = _format(name)
    payload = fmt.write(document, context={})
    assert fmt.validate(payload, source=name) == []
    return etree.fromstring(payload)


def _texts(root: etree._Element, path: str) -> list[str]:
    return [str(t) for t in root.xpath(f"{path}/text()", namespaces=NS)]


# --------------------------------------------------------------------------- quotes


def test_a_quote_carries_its_validity_and_articles() -> None:
    quote = _webshop_order(
        document_type=DocumentType.QUOTE,
        prices_include_tax=False,
        valid_until=date(2026, 12, 31),
        costs=[],
        tax_totals=[],
        total_amount=None,
    )
    root = _write("ipsoft.create_quote", quote)
    assert root.tag == f"{{{IPS}}}CreateQuoteRequest"
    q = "/ips:CreateQuoteRequest/ips:Quote"
    assert _texts(root, f"{q}/ips:SourceReference") == ["WS-20451"]
    assert _texts(root, f"{q}/ips:CustomerNumber") == ["C10023"]
    assert _texts(root, f"{q}/ips:QuoteDate") == ["2026-11-28"]
    assert _texts(root, f"{q}/ips:ValidUntil") == ["2026-12-31"]
    assert _texts(root, f"{q}/ips:PricesIncludeTax") == ["false"]
    assert _texts(root, f"{q}/ips:Lines/ips:Line/ips:Sku") == ["NZ2401-NAVY-M", "NZ2403-OKER-OS"]
    assert _texts(root, f"{q}/ips:Lines/ips:Line/ips:UnitPrice") == ["19.99", "4.95"]
    assert _texts(root, f"{q}/ips:Lines/ips:Line/ips:TaxRate") == ["21", "9"]
    assert _texts(root, f"{q}/ips:Remarks") == ["Afgehaald in de winkel"]


def test_a_quote_states_its_line_amounts_and_charges() -> None:
    """A quote's discount and shipping reach IPSoft: the line amount and the charges."""
    quote = _webshop_order(document_type=DocumentType.QUOTE, tax_totals=[], total_amount=None)
    root = _write("ipsoft.create_quote", quote)
    q = "/ips:CreateQuoteRequest/ips:Quote"
    amounts = _texts(root, f"{q}/ips:Lines/ips:Line/ips:LineAmount")
    assert amounts == [str(line.line_amount) for line in quote.lines if line.line_amount]
    assert _texts(root, f"{q}/ips:Charges/ips:Charge/ips:Kind") == [c.kind for c in quote.costs]
    assert _texts(root, f"{q}/ips:Charges/ips:Charge/ips:Amount") == [
        str(c.amount) for c in quote.costs
    ]
    assert quote.costs  # the fixture has shipping, so the test says something


def test_a_quote_line_without_sku_cannot_be_written() -> None:
    quote = _webshop_order(lines=[OrderLine(line_id="1", quantity=Decimal(1), unit_price=1)])
    with pytest.raises(DocumentWriteError) as caught:
        _format("ipsoft.create_quote").write(quote, context={})
    assert ("mapping.required", "lines[0].sku") in {
        (p.code, p.field) for p in caught.value.problems
    }


# --------------------------------------------------------------------------- invoices


@pytest.mark.parametrize("name", ["ipsoft.create_invoice", "ipsoft.create_direct_invoice"])
def test_a_tax_inclusive_invoice_states_charges_tax_and_total(name: str) -> None:
    root = _write(name, _webshop_order())
    doc = "/*/*"
    assert _texts(root, f"{doc}/ips:SourceReference") == ["WS-20451"]
    assert _texts(root, f"{doc}/ips:InvoiceDate") == ["2026-11-28"]
    assert _texts(root, f"{doc}/ips:PricesIncludeTax") == ["true"]
    assert _texts(root, f"{doc}/ips:Lines/ips:Line/ips:LineNumber") == ["1", "2"]
    assert _texts(root, f"{doc}/ips:Lines/ips:Line/ips:LineAmount") == ["59.97"]
    assert _texts(root, f"{doc}/ips:Charges/ips:Charge/ips:Kind") == ["shipping", "discount"]
    assert _texts(root, f"{doc}/ips:Charges/ips:Charge/ips:Amount") == ["4.95", "-5.00"]
    assert _texts(root, f"{doc}/ips:Charges/ips:Charge/ips:Description") == ["Welkomstkorting"]
    assert _texts(root, f"{doc}/ips:TaxTotals/ips:TaxTotal/ips:Rate") == ["21", "9"]
    assert _texts(root, f"{doc}/ips:TaxTotals/ips:TaxTotal/ips:TaxableAmount") == ["4.54"]
    assert _texts(root, f"{doc}/ips:TaxTotals/ips:TaxTotal/ips:TaxAmount") == ["10.41", "0.41"]
    assert _texts(root, f"{doc}/ips:TotalAmount") == ["64.87"]
    assert root.xpath(f"{doc}/ips:CreditNote", namespaces=NS) == []


def test_an_invoice_names_the_order_it_invoices() -> None:
    root = _write("ipsoft.create_invoice", _webshop_order())
    assert _texts(root, "/ips:CreateInvoiceRequest/ips:Invoice/ips:OrderReference") == ["WS-20451"]


def test_a_direct_invoice_names_the_customer() -> None:
    root = _write("ipsoft.create_direct_invoice", _webshop_order())
    direct = "/ips:CreateDirectInvoiceRequest/ips:DirectInvoice"
    assert _texts(root, f"{direct}/ips:CustomerNumber") == ["C10023"]
    assert _texts(root, f"{direct}/ips:Remarks") == ["Afgehaald in de winkel"]


def test_an_order_without_costs_or_tax_totals_writes_neither() -> None:
    root = _write("ipsoft.create_invoice", _webshop_order(costs=[], tax_totals=[]))
    assert root.xpath("//ips:Charges | //ips:TaxTotals", namespaces=NS) == []


def test_a_refund_is_a_credit_note_for_the_order_it_refunds() -> None:
    refund = _webshop_order(order_id="WS-20451-R1", refund=True, original_order_id="WS-20451")
    root = _write("ipsoft.create_invoice", refund)
    invoice = "/ips:CreateInvoiceRequest/ips:Invoice"
    assert _texts(root, f"{invoice}/ips:SourceReference") == ["WS-20451-R1"]
    assert _texts(root, f"{invoice}/ips:OrderReference") == ["WS-20451"]
    assert _texts(root, f"{invoice}/ips:CreditNote") == ["true"]
    assert _texts(root, f"{invoice}/ips:CreditedReference") == ["WS-20451"]
    # Amounts are stated as on a sale; IPSoft reverses the booking.
    assert _texts(root, f"{invoice}/ips:TotalAmount") == ["64.87"]


def test_a_refund_invoice_without_the_refunded_order_cannot_be_written() -> None:
    refund = _webshop_order(order_id="WS-20451-R1", refund=True)
    with pytest.raises(DocumentWriteError) as caught:
        _format("ipsoft.create_invoice").write(refund, context={})
    assert ("mapping.required", "original_order_id") in {
        (p.code, p.field) for p in caught.value.problems
    }


@pytest.mark.parametrize(
    ("currency", "price", "tax", "total"),
    [("JPY", "1980", "180", "1980"), ("BHD", "12.345", "1.019", "12.345")],
)
@pytest.mark.parametrize(
    "name",
    [
        "ipsoft.create_quote",
        "ipsoft.create_invoice",
        "ipsoft.create_direct_invoice",
        "ipsoft.create_sales_invoice",
    ],
)
def test_amounts_keep_the_decimals_of_their_currency(
    name: str, currency: str, price: str, tax: str, total: str
) -> None:
    order = _webshop_order(
        currency=currency,
        lines=[
            OrderLine(
                line_id="1",
                sku="NZ2401-NAVY-M",
                description="T-shirt",
                quantity=Decimal(1),
                unit_price=Decimal(price),
                tax_rate=Decimal(10),
            )
        ],
        costs=[],
        tax_totals=[TaxTotal(rate=Decimal(10), tax_amount=Decimal(tax))],
        total_amount=Decimal(total),
    )
    root = _write(name, order)
    assert _texts(root, "/*/*/ips:Currency") == [currency]
    assert _texts(root, "/*/*/ips:Lines/ips:Line/ips:UnitPrice") == [price]
    if name != "ipsoft.create_quote":
        assert _texts(root, "/*/*/ips:TaxTotals/ips:TaxTotal/ips:TaxAmount") == [tax]
        assert _texts(root, "/*/*/ips:TotalAmount") == [total]


# --------------------------------------------------------------------------- sales invoices


def test_a_sales_invoice_writes_no_sku_even_when_a_line_has_one() -> None:
    root = _write("ipsoft.create_sales_invoice", _webshop_order())
    sales = "/ips:CreateSalesInvoiceRequest/ips:SalesInvoice"
    assert root.xpath("//ips:Sku", namespaces=NS) == []
    assert _texts(root, f"{sales}/ips:CustomerNumber") == ["C10023"]
    assert _texts(root, f"{sales}/ips:Lines/ips:Line/ips:Description") == [
        "Linnen T-shirt navy M",
        "Sjaal oker",
    ]
    assert _texts(root, f"{sales}/ips:TotalAmount") == ["64.87"]


def test_a_sales_invoice_of_services_needs_line_descriptions() -> None:
    advice = _webshop_order(
        document_type=DocumentType.SALES_INVOICE,
        lines=[
            OrderLine(
                line_id="1",
                description="Adviesgesprek inrichting (uur)",
                quantity=Decimal("2.5"),
                unit_price=Decimal("95.00"),
                tax_rate=Decimal(21),
            ),
            OrderLine(line_id="2", quantity=Decimal(1), unit_price=Decimal(10)),
        ],
    )
    with pytest.raises(DocumentWriteError) as caught:
        _format("ipsoft.create_sales_invoice").write(advice, context={})
    assert {(p.code, p.field) for p in caught.value.problems} == {
        ("mapping.required", "lines[1].description")
    }
    root = _write(
        "ipsoft.create_sales_invoice", advice.model_copy(update={"lines": advice.lines[:1]})
    )
    assert _texts(root, "//ips:Line/ips:Quantity") == ["2.5"]


# --------------------------------------------------------------------------- journal entries


@pytest.mark.parametrize("level", list(MutationLevel))
def test_each_posting_level_becomes_a_journal_entry_keyed_by_its_document(
    level: MutationLevel,
) -> None:
    decision = post_order(_webshop_order(), level)
    mutation = decision.mutation
    assert mutation is not None
    root = _write("ipsoft.create_journal_entry", mutation)
    entry = "/ips:CreateJournalEntryRequest/ips:JournalEntry"
    assert _texts(root, f"{entry}/ips:SourceReference") == ["WS-20451"]
    assert _texts(root, f"{entry}/ips:BookingDate") == ["2026-11-28"]
    assert _texts(root, f"{entry}/ips:Reference") == [mutation.reference]
    accounts = _texts(root, f"{entry}/ips:Lines/ips:Line/ips:Account")
    assert accounts == [line.account for line in mutation.lines]
    debits = [Decimal(t) for t in _texts(root, f"{entry}/ips:Lines/ips:Line/ips:Debit")]
    credits = [Decimal(t) for t in _texts(root, f"{entry}/ips:Lines/ips:Line/ips:Credit")]
    assert debits == [line.debit for line in mutation.lines]
    assert credits == [line.credit for line in mutation.lines]
    assert sum(debits) == sum(credits)
    assert (accounts[0], debits[0]) == ("1300", Decimal("64.87"))


def test_a_refund_posting_is_written_with_its_sides_swapped() -> None:
    refund = _webshop_order(order_id="WS-20451-R1", refund=True, original_order_id="WS-20451")
    mutation = post_order(refund, MutationLevel.RECOMMENDED).mutation
    assert mutation is not None
    root = _write("ipsoft.create_journal_entry", mutation)
    first = "/ips:CreateJournalEntryRequest/ips:JournalEntry/ips:Lines/ips:Line[1]"
    assert _texts(root, f"{first}/ips:Account") == ["1300"]
    assert _texts(root, f"{first}/ips:Credit") == ["64.87"]
    assert _texts(root, f"{first}/ips:Debit") == ["0"]


def test_journal_amounts_keep_their_currency_decimals() -> None:
    mutation = FinancialMutation(
        mutation_id="JP-1-simple",
        source_document_id="JP-1",
        level=MutationLevel.SIMPLE,
        booking_date=date(2026, 11, 28),
        currency="BHD",
        lines=[
            PostingLine(account="1300", debit=Decimal("12.345")),
            PostingLine(account="8000", credit=Decimal("12.345"), tax_code="10"),
        ],
    )
    root = _write("ipsoft.create_journal_entry", mutation)
    assert _texts(root, "//ips:Line/ips:Debit") == ["12.345", "0"]
    assert _texts(root, "//ips:Line/ips:TaxCode") == ["10"]
    assert root.xpath("//ips:Reference | //ips:Line/ips:Description", namespaces=NS) == []


def test_a_posting_without_booking_date_cannot_be_written() -> None:
    mutation = FinancialMutation(
        mutation_id="X-simple", source_document_id="X", level=MutationLevel.SIMPLE
    )
    with pytest.raises(DocumentWriteError) as caught:
        _format("ipsoft.create_journal_entry").write(mutation, context={})
    assert ("mapping.required", "booking_date") in {
        (p.code, p.field) for p in caught.value.problems
    }
