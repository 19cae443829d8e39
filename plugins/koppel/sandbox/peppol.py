"""Peppol BIS 3 orders as a buyer's system sends them, for the Peppol supplier's demo and tests.

The orders are written by Koppel's own ``peppol.order`` format from a short
description, so each one is valid UBL and passes the official T01 rules
before a test or the demo drops it (the format checks its own output). The
buyers and products are those of
:data:`koppel.sandbox.store_erp.PEPPOL_SUPPLIER_SEED`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from koppel.documents import Address, Order, OrderLine, Party, PartyIdentifier
from koppel.formats import default_registry
from koppel.sandbox.store_erp.seed import (
    GLN_SCHEME,
    PEPPOL_CUSTOMER_GLN,
    PEPPOL_SUPPLIER_GLN,
)

#: The Peppol scheme of GTINs (ISO 6523 ICD 0160).
GTIN_SCHEME = "0160"
#: Standard VAT rate on the demo's goods (Finland, food: 14 %).
VAT_RATE = Decimal(14)


@dataclass(frozen=True)
class PeppolLine:
    """One order line: the item by GTIN (or the seller's id), how many, at what price."""

    name: str
    quantity: Decimal
    price: Decimal
    gtin: str | None = None
    seller_item_id: str | None = None
    unit: str = "H87"


@dataclass(frozen=True)
class PeppolOrderSpec:
    """A buyer's order to the supplier."""

    order_id: str
    lines: list[PeppolLine] = field(default_factory=list)
    buyer_gln: str = PEPPOL_CUSTOMER_GLN
    buyer_name: str = "Ravintola Lakeus"
    issue_date: date = date(2026, 11, 30)
    note: str | None = None


def peppol_order(spec: PeppolOrderSpec) -> Order:
    """The canonical order the buyer's system would hold."""
    lines = [
        OrderLine(
            line_id=str(number),
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.price,
            line_amount=(line.quantity * line.price).quantize(Decimal("0.01")),
            description=line.name,
            gtin=line.gtin,
            gtin_scheme=GTIN_SCHEME if line.gtin else None,
            supplier_article_code=line.seller_item_id,
            tax_rate=VAT_RATE,
        )
        for number, line in enumerate(spec.lines, start=1)
    ]
    goods = sum((line.line_amount or Decimal(0) for line in lines), Decimal(0))
    buyer_id = PartyIdentifier(value=spec.buyer_gln, scheme=GLN_SCHEME)
    return Order(
        order_id=spec.order_id,
        issue_date=spec.issue_date,
        currency="EUR",
        note=spec.note,
        buyer=Party(
            id=spec.buyer_gln,
            name=spec.buyer_name,
            endpoint_id=buyer_id,
            identifiers=[buyer_id],
            address=Address(street="Asemakatu 3", city="Seinäjoki", country="FI"),
        ),
        seller=Party(
            name="Lakeuden Tukku Oy",
            endpoint_id=PartyIdentifier(value=PEPPOL_SUPPLIER_GLN, scheme=GLN_SCHEME),
            address=Address(street="Teollisuustie 12", city="Seinäjoki", country="FI"),
        ),
        lines=lines,
        total_amount=(goods * (1 + VAT_RATE / 100)).quantize(Decimal("0.01")),
    )


def peppol_order_message(spec: PeppolOrderSpec) -> bytes:
    """The order as a Peppol BIS 3 (T01) document.

    Raises:
        ValueError: The written order breaks the XSD or a T01 rule (an error,
            not a warning): the spec asks for something Peppol does not allow.
    """
    fmt = default_registry().get("peppol.order")
    data = fmt.write(peppol_order(spec), context={})
    errors = [p for p in fmt.validate(data, source=spec.order_id) if p.severity == "error"]
    if errors:
        raise ValueError(f"order {spec.order_id} is not a valid Peppol order: {errors}")
    return data
