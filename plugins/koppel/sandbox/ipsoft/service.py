"""The SOAP operations of the emulated IPSoft, over one state and free of HTTP.

Kept apart from the HTTP side so the operations read as IPSoft's behaviour:
time-windowed paging, CreateOrder idempotent on the portal's reference, and
unknown customers and SKUs refused with the fault codes the flows react to.
The document operations (quotes to journal entries) live in
:mod:`.document_service` and share this service's number series.
Requests arrive already validated against the XSD.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from koppel.sandbox.ipsoft.clock import now, utc
from koppel.sandbox.ipsoft.document_service import DocumentOperations, Numbering
from koppel.sandbox.ipsoft.reading import decimal_or_none, read_charges
from koppel.sandbox.ipsoft.records import Address, Order, OrderLine
from koppel.sandbox.ipsoft.soap import IPS_NS, FaultError, add, q, required, text
from koppel.sandbox.ipsoft.state import IPSoftState
from koppel.sandbox.ipsoft.writers import PAGED, write_order


class IPSoftService:
    """The SOAP operations over one :class:`IPSoftState`, free of HTTP."""

    def __init__(self, state: IPSoftState) -> None:
        self.state = state
        self._numbers = Numbering()
        self._documents = DocumentOperations(state, self._numbers)

    def handle(self, operation: str, request: etree._Element) -> etree._Element:
        """Answer one validated request element with its response element."""
        if operation in PAGED:
            return self._list_page(operation, request)
        handlers: dict[str, Callable[[etree._Element], etree._Element]] = {
            "ListPriceLists": self._price_lists,
            "CreateOrder": self._create_order,
            "GetOrder": self._get_order,
            **self._documents.handlers(),
        }
        return handlers[operation](request)

    def _list_page(self, operation: str, request: etree._Element) -> etree._Element:
        kind, wrapper, write = PAGED[operation]
        since = utc(datetime.fromisoformat(required(request, "ModifiedSince")))
        until_text = text(request, "ModifiedUntil")
        until = utc(datetime.fromisoformat(until_text.strip())) if until_text else None
        page, size = int(required(request, "Page")), int(required(request, "PageSize"))
        records = self.state.window(kind, since, until)
        response = etree.Element(q(f"{operation}Response"), nsmap={"ips": IPS_NS})
        for name, value in (
            ("Page", page),
            ("PageSize", size),
            ("TotalPages", math.ceil(len(records) / size)),
            ("TotalCount", len(records)),
        ):
            add(response, name, value)
        items = etree.SubElement(response, q(wrapper))
        for record in records[(page - 1) * size : page * size]:
            write(items, record)
        return response

    def _price_lists(self, request: etree._Element) -> etree._Element:
        response = etree.Element(q("ListPriceListsResponse"), nsmap={"ips": IPS_NS})
        lists = etree.SubElement(response, q("PriceLists"))
        with self.state.lock:
            price_lists = sorted(self.state.price_lists.values(), key=lambda p: p.id)
        for price_list in price_lists:
            entry = etree.SubElement(lists, q("PriceList"))
            add(entry, "PriceListId", price_list.id)
            add(entry, "Name", price_list.name)
            add(entry, "Currency", price_list.currency)
        return response

    def _create_order(self, request: etree._Element) -> etree._Element:
        order_element = request.find(q("Order"))
        assert order_element is not None
        with self.state.lock:
            reference = required(order_element, "PortalOrderReference")
            existing = self.state.orders.get(reference)
            created = existing is None
            order = existing or self._new_order(order_element)
            if created:
                self.state.orders[reference] = order
        response = etree.Element(q("CreateOrderResponse"), nsmap={"ips": IPS_NS})
        add(response, "OrderNumber", order.order_number)
        add(response, "PortalOrderReference", order.reference)
        add(response, "Created", created)
        return response

    def _new_order(self, element: etree._Element) -> Order:
        """Read and check an order; unknown customers and SKUs are refused, as IPSoft does."""
        customer = required(element, "CustomerNumber")
        if customer not in self.state.customers:
            raise FaultError("UNKNOWN_CUSTOMER", f"customer {customer} does not exist")
        lines = tuple(_order_line(line) for line in element.iter(q("Line")))
        for line in lines:
            if not self.state.sku_exists(line.sku):
                raise FaultError(
                    "UNKNOWN_SKU", f"line {line.line_number}: SKU {line.sku} does not exist"
                )
        created_at = now()
        delivery = element.find(q("DeliveryAddress"))
        assert delivery is not None
        return Order(
            order_number=self._numbers.next("SO", created_at),
            reference=required(element, "PortalOrderReference"),
            customer_number=customer,
            order_date=date.fromisoformat(required(element, "OrderDate")),
            currency=required(element, "Currency"),
            delivery_address=_read_address(delivery),
            lines=lines,
            remarks=text(element, "Remarks"),
            created_at=created_at,
            charges=read_charges(element),
        )

    def _get_order(self, request: etree._Element) -> etree._Element:
        reference = required(request, "PortalOrderReference")
        with self.state.lock:
            order = self.state.orders.get(reference)
        if order is None:
            raise FaultError("ORDER_NOT_FOUND", f"no order with portal reference {reference}")
        response = etree.Element(q("GetOrderResponse"), nsmap={"ips": IPS_NS})
        write_order(response, order)
        return response


def _order_line(element: etree._Element) -> OrderLine:
    return OrderLine(
        line_number=int(required(element, "LineNumber")),
        sku=required(element, "Sku"),
        quantity=Decimal(required(element, "Quantity")),
        unit_price=Decimal(required(element, "UnitPrice")),
        tax_rate=decimal_or_none(element, "TaxRate"),
        line_amount=decimal_or_none(element, "LineAmount"),
    )


def _read_address(element: etree._Element) -> Address:
    return Address(
        name=text(element, "Name"),
        street=required(element, "Street"),
        house_number=required(element, "HouseNumber"),
        house_number_addition=text(element, "HouseNumberAddition"),
        postal_code=required(element, "PostalCode"),
        city=required(element, "City"),
        country_code=required(element, "CountryCode"),
    )
