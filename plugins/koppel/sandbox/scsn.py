"""A stand-in for the customers on the SCSN network: the order messages their systems send.

An SCSN service provider delivers each customer's Order message (UBL
``Order-2``) to the supplier's SFTP account. The demo and the tests need such
messages for every case of the import checks (seed 002), so this module
writes them from a few values, the way a customer's ERP would: the SCSN ids
of both parties, the order reference and type, and per line the article
codes with their revisions, the quantity, the price and a discount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree
from lxml.builder import ElementMaker

_ORDER = "urn:oasis:names:specification:ubl:schema:xsd:Order-2"
_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_NSMAP = {None: _ORDER, "cac": _CAC, "cbc": _CBC}
_DOC = ElementMaker(namespace=_ORDER, nsmap=_NSMAP)
_CA = ElementMaker(namespace=_CAC, nsmap=_NSMAP)
_CB = ElementMaker(namespace=_CBC, nsmap=_NSMAP)

#: The supplier whose SFTP account receives the demo's and tests' orders (TechParts Precision).
SELLER_SCSN_ID = "NL-SCSN-TECHPARTS"


@dataclass(frozen=True)
class OrderLineSpec:
    """One order line as the customer's system writes it; None leaves an element out."""

    line_id: str
    quantity: Decimal
    supplier_code: str | None = None
    supplier_revision: str | None = None
    customer_code: str | None = None
    customer_revision: str | None = None
    price: Decimal | None = None
    discount_percentage: Decimal | None = None
    description: str | None = None
    delivery_location: str | None = "DOCK-1"
    requested_date: date | None = date(2026, 12, 15)


@dataclass(frozen=True)
class OrderSpec:
    """One SCSN order message; ``buyer_scsn_id`` None writes a buyer without an SCSN id."""

    order_id: str
    buyer_scsn_id: str | None
    buyer_name: str
    lines: Sequence[OrderLineSpec] = field(default_factory=tuple)
    currency: str = "EUR"
    order_type: str | None = "New"
    issue_date: date = date(2026, 11, 27)
    seller_scsn_id: str = SELLER_SCSN_ID
    note: str | None = None


def order_message(spec: OrderSpec) -> bytes:
    """The UBL Order-2 document of ``spec``, as bytes with an XML declaration."""
    head = [
        _CB.UBLVersionID("2.1"),
        _CB.ID(spec.order_id),
        _CB.IssueDate(spec.issue_date.isoformat()),
    ]
    if spec.order_type is not None:
        head.append(_CB.OrderTypeCode(spec.order_type))
    if spec.note:
        head.append(_CB.Note(spec.note))
    head.append(_CB.DocumentCurrencyCode(spec.currency))
    order = _DOC.Order(
        *head,
        _CA.BuyerCustomerParty(_party(spec.buyer_scsn_id, spec.buyer_name)),
        _CA.SellerSupplierParty(_party(spec.seller_scsn_id, "TechParts Precision B.V.")),
        *(_CA.OrderLine(_line_item(line, spec.currency)) for line in spec.lines),
    )
    return bytes(etree.tostring(order, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _party(scsn_id: str | None, name: str) -> etree._Element:
    parts = [_CA.PartyIdentification(_CB.ID(scsn_id, schemeID="SCSN"))] if scsn_id else []
    return _CA.Party(*parts, _CA.PartyName(_CB.Name(name)))


def _line_item(line: OrderLineSpec, currency: str) -> etree._Element:
    parts = [_CB.ID(line.line_id), _CB.Quantity(str(line.quantity), unitCode="C62")]
    delivery = (
        [_CA.DeliveryLocation(_CB.ID(line.delivery_location))] if line.delivery_location else []
    )
    if line.requested_date:
        delivery.append(_CA.RequestedDeliveryPeriod(_CB.EndDate(line.requested_date.isoformat())))
    if delivery:
        parts.append(_CA.Delivery(*delivery))
    if line.price is not None:
        price = [_CB.PriceAmount(str(line.price), currencyID=currency)]
        if line.discount_percentage is not None:
            price.append(
                _CA.AllowanceCharge(
                    _CB.ChargeIndicator("false"),
                    _CB.MultiplierFactorNumeric(str(line.discount_percentage)),
                    _CB.Amount(
                        str(
                            (line.price * line.discount_percentage / 100).quantize(Decimal("0.01"))
                        ),
                        currencyID=currency,
                    ),
                )
            )
        parts.append(_CA.Price(*price))
    parts.append(_CA.Item(*_item(line)))
    return _CA.LineItem(*parts)


def _item(line: OrderLineSpec) -> list[etree._Element]:
    item = [_CB.Description(line.description)] if line.description else []
    for element, code, revision in (
        (_CA.BuyersItemIdentification, line.customer_code, line.customer_revision),
        (_CA.SellersItemIdentification, line.supplier_code, line.supplier_revision),
    ):
        if code is not None:
            ids = [_CB.ID(code)] + ([_CB.ExtendedID(revision)] if revision else [])
            item.append(element(*ids))
    return item
