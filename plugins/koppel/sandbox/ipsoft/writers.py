"""Records written as the contract's response elements.

One writer per record type, so the list operations and GetOrder produce the
element order ``ipsoft.xsd`` prescribes; :data:`PAGED` ties each paged list
operation to its state table, wrapper element and writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from koppel.sandbox.ipsoft.records import Address, Customer, Order, Price, Product, StockItem
from koppel.sandbox.ipsoft.soap import add, q


def write_address(parent: etree._Element, name: str, address: Address) -> None:
    """Append an address element called ``name``."""
    element = etree.SubElement(parent, q(name))
    add(element, "Name", address.name)
    add(element, "Street", address.street)
    add(element, "HouseNumber", address.house_number)
    add(element, "HouseNumberAddition", address.house_number_addition)
    add(element, "PostalCode", address.postal_code)
    add(element, "City", address.city)
    add(element, "CountryCode", address.country_code)


def write_customer(parent: etree._Element, c: Customer) -> None:
    """Append a Customer with its billing address and buyers."""
    element = etree.SubElement(parent, q("Customer"))
    for name, value in (
        ("CustomerNumber", c.number),
        ("Name", c.name),
        ("VatNumber", c.vat_number),
        ("Email", c.email),
        ("Phone", c.phone),
        ("Language", c.language),
        ("Currency", c.currency),
        ("PriceListId", c.price_list_id),
    ):
        add(element, name, value)
    write_address(element, "BillingAddress", c.billing_address)
    buyers = etree.SubElement(element, q("Buyers"))
    for buyer in c.buyers:
        entry = etree.SubElement(buyers, q("Buyer"))
        add(entry, "Name", buyer.name)
        add(entry, "Email", buyer.email)
        add(entry, "Phone", buyer.phone)
    add(element, "ModifiedAt", c.modified_at)


def write_product(parent: etree._Element, p: Product) -> None:
    """Append a Product; a missing SKU or EAN13 is left out, as IPSoft does."""
    element = etree.SubElement(parent, q("Product"))
    for name, value in (
        ("Sku", p.sku),
        ("Ean13", p.ean13),
        ("Name", p.name),
        ("Description", p.description),
        ("Category", p.category),
        ("Colour", p.colour),
        ("Size", p.size),
        ("Composition", p.composition),
        ("Season", p.season),
        ("Brand", p.brand),
        ("Active", p.active),
        ("ModifiedAt", p.modified_at),
    ):
        add(element, name, value)


def write_price(parent: etree._Element, p: Price) -> None:
    """Append a Price."""
    element = etree.SubElement(parent, q("Price"))
    for name, value in (
        ("PriceListId", p.price_list_id),
        ("Sku", p.sku),
        ("Currency", p.currency),
        ("Amount", p.amount),
        ("MinQuantity", p.min_quantity),
        ("ValidFrom", p.valid_from),
        ("ModifiedAt", p.modified_at),
    ):
        add(element, name, value)


def write_stock(parent: etree._Element, s: StockItem) -> None:
    """Append a StockItem."""
    element = etree.SubElement(parent, q("StockItem"))
    for name, value in (
        ("Sku", s.sku),
        ("AvailableToSell", s.available),
        ("Warehouse", s.warehouse),
        ("ModifiedAt", s.modified_at),
    ):
        add(element, name, value)


def write_order(parent: etree._Element, o: Order) -> None:
    """Append an Order as GetOrder returns it: the request as created plus its number."""
    element = etree.SubElement(parent, q("Order"))
    for name, value in (
        ("PortalOrderReference", o.reference),
        ("CustomerNumber", o.customer_number),
        ("OrderDate", o.order_date),
        ("Currency", o.currency),
    ):
        add(element, name, value)
    write_address(element, "DeliveryAddress", o.delivery_address)
    lines = etree.SubElement(element, q("Lines"))
    for line in o.lines:
        entry = etree.SubElement(lines, q("Line"))
        add(entry, "LineNumber", line.line_number)
        add(entry, "Sku", line.sku)
        add(entry, "Quantity", line.quantity)
        add(entry, "UnitPrice", line.unit_price)
        add(entry, "TaxRate", line.tax_rate)
        add(entry, "LineAmount", line.line_amount)
    if o.charges:
        charges = etree.SubElement(element, q("Charges"))
        for charge in o.charges:
            entry = etree.SubElement(charges, q("Charge"))
            add(entry, "Kind", charge.kind)
            add(entry, "Description", charge.description)
            add(entry, "Amount", charge.amount)
            add(entry, "TaxRate", charge.tax_rate)
    add(element, "Remarks", o.remarks)
    add(element, "OrderNumber", o.order_number)


#: Paged operation -> (state table, items wrapper element, item writer).
PAGED: dict[str, tuple[str, str, Callable[[etree._Element, Any], None]]] = {
    "ListCustomers": ("customers", "Customers", write_customer),
    "ListProducts": ("products", "Products", write_product),
    "ListPrices": ("prices", "Prices", write_price),
    "ListStock": ("stock", "StockItems", write_stock),
}
