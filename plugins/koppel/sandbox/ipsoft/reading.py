"""Request elements of the document operations read into :mod:`.documents` records.

Requests arrive validated against ``ipsoft.xsd``, so these readers only turn
text into values: decimals exactly as sent (a JPY amount keeps no decimals, a
BHD amount its three), booleans as the XSD spells them.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from koppel.sandbox.ipsoft.documents import Amounts, Charge, DocumentLine, TaxAmount
from koppel.sandbox.ipsoft.soap import q, required, text


def decimal_or_none(element: etree._Element, name: str) -> Decimal | None:
    """The decimal value of child ``name``, or None when it is absent."""
    value = text(element, name)
    return None if value is None else Decimal(value.strip())


def boolean(element: etree._Element, name: str) -> bool:
    """An optional ``xs:boolean`` child; absent means false."""
    value = text(element, name)
    return value is not None and value.strip() in ("true", "1")


def read_lines(element: etree._Element) -> tuple[DocumentLine, ...]:
    """Every ``Lines/Line`` of a document, with or without an article."""
    lines = element.find(q("Lines"))
    assert lines is not None  # the XSD requires Lines
    return tuple(
        DocumentLine(
            line_number=int(required(line, "LineNumber")),
            sku=None if text(line, "Sku") is None else required(line, "Sku"),
            description=text(line, "Description"),
            quantity=Decimal(required(line, "Quantity")),
            unit_price=Decimal(required(line, "UnitPrice")),
            tax_rate=decimal_or_none(line, "TaxRate"),
            line_amount=decimal_or_none(line, "LineAmount"),
        )
        for line in lines.iterchildren(q("Line"))
    )


def read_charges(element: etree._Element) -> tuple[Charge, ...]:
    """The document's ``Charges/Charge`` elements; none when absent."""
    return tuple(
        Charge(
            kind=required(charge, "Kind"),
            description=text(charge, "Description"),
            amount=Decimal(required(charge, "Amount")),
            tax_rate=decimal_or_none(charge, "TaxRate"),
        )
        for charge in element.iterfind(f"{q('Charges')}/{q('Charge')}")
    )


def read_tax_totals(element: etree._Element) -> tuple[TaxAmount, ...]:
    """The document's ``TaxTotals/TaxTotal`` elements; none when absent."""
    return tuple(
        TaxAmount(
            rate=Decimal(required(total, "Rate")),
            taxable_amount=decimal_or_none(total, "TaxableAmount"),
            tax_amount=Decimal(required(total, "TaxAmount")),
        )
        for total in element.iterfind(f"{q('TaxTotals')}/{q('TaxTotal')}")
    )


def read_amounts(element: etree._Element) -> Amounts:
    """The money an invoice states: lines, charges, tax per rate, total, credit or not."""
    return Amounts(
        currency=required(element, "Currency"),
        prices_include_tax=boolean(element, "PricesIncludeTax"),
        lines=read_lines(element),
        charges=read_charges(element),
        tax_totals=read_tax_totals(element),
        total_amount=decimal_or_none(element, "TotalAmount"),
        credit_note=boolean(element, "CreditNote"),
    )
