"""The document operations of the emulated IPSoft: quotes to journal entries (seed 001).

Each Create operation is idempotent on the request's ``SourceReference``
exactly as CreateOrder is on its portal reference: the lookup, the checks and
every effect (the document, a direct invoice's stock changes and journal
entry) happen inside one hold of the state's lock, so a repeat (or a
concurrent twin) finds the document and answers it with ``Created`` false,
having changed nothing. Requests arrive already validated against the XSD.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree

from koppel.sandbox.ipsoft.clock import now
from koppel.sandbox.ipsoft.documents import (
    DirectInvoice,
    DocumentLine,
    Invoice,
    JournalEntry,
    JournalLine,
    Quote,
    SalesInvoice,
    StockChange,
)
from koppel.sandbox.ipsoft.ledger import book_direct_invoice
from koppel.sandbox.ipsoft.reading import boolean, read_amounts, read_charges, read_lines
from koppel.sandbox.ipsoft.records import StockItem
from koppel.sandbox.ipsoft.soap import IPS_NS, FaultError, add, q, required, text
from koppel.sandbox.ipsoft.state import IPSoftState

_D = TypeVar("_D")

#: GetDocument's document types -> (state table, the number attribute of its records).
DOCUMENT_TABLES: dict[str, tuple[str, str]] = {
    "quote": ("quotes", "quote_number"),
    "order": ("orders", "order_number"),
    "invoice": ("invoices", "invoice_number"),
    "direct_invoice": ("direct_invoices", "invoice_number"),
    "sales_invoice": ("sales_invoices", "invoice_number"),
    "financial_mutation": ("journal_entries", "entry_number"),
}


class Numbering:
    """IPSoft's number series, e.g. ``SO-2026-00001``: one counter per prefix, never reused.

    Invoices, direct invoices and sales invoices share the ``INV`` series, as
    an administration's invoice numbers must run without gaps or doubles.
    """

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, prefix: str, at: datetime) -> str:
        """The next number of ``prefix``'s series, in the year of ``at``."""
        with self._lock:
            self._counters[prefix] = self._counters.get(prefix, 0) + 1
            return f"{prefix}-{at.year}-{self._counters[prefix]:05d}"


class DocumentOperations:
    """FindProducts, the Create operations of seed 001's document types, and GetDocument."""

    def __init__(self, state: IPSoftState, numbers: Numbering) -> None:
        self.state = state
        self.numbers = numbers

    def handlers(self) -> dict[str, Callable[[etree._Element], etree._Element]]:
        """The operations this class answers, by name."""
        return {
            "FindProducts": self.find_products,
            "CreateQuote": self.create_quote,
            "CreateInvoice": self.create_invoice,
            "CreateDirectInvoice": self.create_direct_invoice,
            "CreateSalesInvoice": self.create_sales_invoice,
            "CreateJournalEntry": self.create_journal_entry,
            "GetDocument": self.get_document,
        }

    # -- look-ups

    def find_products(self, request: etree._Element) -> etree._Element:
        """The asked SKUs IPSoft knows, each once, in the order asked; unknown ones absent."""
        asked = dict.fromkeys((e.text or "").strip() for e in request.iterchildren(q("Sku")))
        with self.state.lock:
            names = {p.sku: p.name for p in self.state.products.values() if p.sku is not None}
        response = _response("FindProductsResponse")
        products = etree.SubElement(response, q("Products"))
        for sku in asked:
            if sku in names:
                product = etree.SubElement(products, q("Product"))
                add(product, "Sku", sku)
                add(product, "Name", names[sku])
        return response

    def get_document(self, request: etree._Element) -> etree._Element:
        """The number of the document of a type created for a source reference."""
        kind, reference = required(request, "DocumentType"), required(request, "SourceReference")
        table, attribute = DOCUMENT_TABLES[kind]
        with self.state.lock:
            document = getattr(self.state, table).get(reference)
        if document is None:
            raise FaultError("DOCUMENT_NOT_FOUND", f"no {kind} with source reference {reference}")
        response = _response("GetDocumentResponse")
        add(response, "DocumentType", kind)
        add(response, "SourceReference", reference)
        add(response, "DocumentNumber", getattr(document, attribute))
        return response

    # -- creating

    def _once(
        self,
        request: etree._Element,
        wrapper: str,
        table: dict[str, _D],
        make: Callable[[etree._Element, str], _D],
    ) -> tuple[_D, str, bool]:
        """The document ``table`` holds for the request's source reference, or a new one.

        Looked up, checked, made and stored in one hold of the state's lock, so
        twins sent at once make one document, and a refused request (``make``
        raising a fault) leaves no trace. Returns the document, the reference
        and whether it was made now.
        """
        element = _document(request, wrapper)
        with self.state.lock:
            reference = required(element, "SourceReference")
            existing = table.get(reference)
            if existing is not None:
                return existing, reference, False
            document = make(element, reference)
            table[reference] = document
            return document, reference, True

    def create_quote(self, request: etree._Element) -> etree._Element:
        """A quote for a known customer and known articles, once per source reference."""
        quote, reference, created = self._once(request, "Quote", self.state.quotes, self._quote)
        return _created("CreateQuoteResponse", created, QuoteNumber=quote.quote_number,
                        SourceReference=reference)  # fmt: skip

    def _quote(self, element: etree._Element, reference: str) -> Quote:
        customer = self._customer(element)
        lines = self._article_lines(element)
        at = now()
        return Quote(
            quote_number=self.numbers.next("Q", at),
            reference=reference,
            customer_number=customer,
            quote_date=_date(element, "QuoteDate"),
            valid_until=_optional_date(element, "ValidUntil"),
            currency=required(element, "Currency"),
            prices_include_tax=boolean(element, "PricesIncludeTax"),
            lines=lines,
            remarks=text(element, "Remarks"),
            created_at=at,
            charges=read_charges(element),
        )

    def create_invoice(self, request: etree._Element) -> etree._Element:
        """An invoice for an order CreateOrder made; no stock changes (picked with the order)."""
        invoice, reference, created = self._once(
            request, "Invoice", self.state.invoices, self._invoice
        )
        return _created("CreateInvoiceResponse", created, InvoiceNumber=invoice.invoice_number,
                        SourceReference=reference, OrderNumber=invoice.order_number)  # fmt: skip

    def _invoice(self, element: etree._Element, reference: str) -> Invoice:
        order_reference = required(element, "OrderReference")
        order = self.state.orders.get(order_reference)
        if order is None:
            raise FaultError("ORDER_NOT_FOUND", f"no order with portal reference {order_reference}")
        self._article_lines(element)
        at = now()
        return Invoice(
            invoice_number=self.numbers.next("INV", at),
            reference=reference,
            order_reference=order_reference,
            order_number=order.order_number,
            customer_number=order.customer_number,
            invoice_date=_date(element, "InvoiceDate"),
            amounts=read_amounts(element),
            credited_reference=text(element, "CreditedReference"),
            remarks=text(element, "Remarks"),
            created_at=at,
        )

    def create_direct_invoice(self, request: etree._Element) -> etree._Element:
        """Order, pick and invoice at once: stock lowered and the entry booked, all once."""
        sale, reference, created = self._once(
            request, "DirectInvoice", self.state.direct_invoices, self._direct_invoice
        )
        return _created("CreateDirectInvoiceResponse", created,
                        InvoiceNumber=sale.invoice_number, OrderNumber=sale.order_number,
                        JournalEntryNumber=sale.journal_entry_number,
                        SourceReference=reference)  # fmt: skip

    def _direct_invoice(self, element: etree._Element, reference: str) -> DirectInvoice:
        """Check everything first, then change stock and book: a refusal leaves no trace."""
        customer = self._customer(element)
        lines = self._article_lines(element)
        amounts = read_amounts(element)
        journal_lines = book_direct_invoice(amounts, self.state.accounts, reference=reference)
        at = now()
        invoice_number = self.numbers.next("INV", at)
        order_number = self.numbers.next("SO", at)
        entry = JournalEntry(
            entry_number=self.numbers.next("JE", at),
            reference=invoice_number,
            booking_date=_date(element, "InvoiceDate"),
            currency=amounts.currency,
            lines=journal_lines,
            entry_reference=reference,
            description=f"Direct invoice {invoice_number} ({reference})",
            created_at=at,
        )
        changes = tuple(
            self._move_stock(line, amounts.credit_note, at) for line in lines if line.sku
        )
        self.state.journal_entries[entry.reference] = entry
        return DirectInvoice(
            invoice_number=invoice_number,
            order_number=order_number,
            journal_entry_number=entry.entry_number,
            reference=reference,
            customer_number=customer,
            invoice_date=entry.booking_date,
            amounts=amounts,
            stock_changes=changes,
            credited_reference=text(element, "CreditedReference"),
            remarks=text(element, "Remarks"),
            created_at=at,
        )

    def _move_stock(self, line: DocumentLine, returned: bool, at: datetime) -> StockChange:
        """Take a line's goods out of stock (back in, for a credit note); negative is allowed.

        The first warehouse (by name) holding the SKU gives; a SKU without a
        stock record gets one, below zero, so the shortage shows in ListStock.
        """
        assert line.sku is not None
        held = sorted((k, s) for k, s in self.state.stock.items() if k[0] == line.sku)
        item = held[0][1] if held else StockItem(line.sku, Decimal(0), None)
        change = line.quantity if returned else -line.quantity
        stored = self.state.put(replace(item, available=item.available + change), at=at)
        return StockChange(line.sku, stored.warehouse, change, stored.available)

    def create_sales_invoice(self, request: etree._Element) -> etree._Element:
        """An invoice without articles, kept with the customer's default revenue account."""
        invoice, reference, created = self._once(
            request, "SalesInvoice", self.state.sales_invoices, self._sales_invoice
        )
        return _created("CreateSalesInvoiceResponse", created,
                        InvoiceNumber=invoice.invoice_number,
                        SourceReference=reference)  # fmt: skip

    def _sales_invoice(self, element: etree._Element, reference: str) -> SalesInvoice:
        number = self._customer(element)
        at = now()
        return SalesInvoice(
            invoice_number=self.numbers.next("INV", at),
            reference=reference,
            customer_number=number,
            invoice_date=_date(element, "InvoiceDate"),
            amounts=read_amounts(element),
            revenue_account=self.state.customers[number].revenue_account,
            credited_reference=text(element, "CreditedReference"),
            remarks=text(element, "Remarks"),
            created_at=at,
        )

    def create_journal_entry(self, request: etree._Element) -> etree._Element:
        """A balanced entry on accounts of the chart, once per source reference."""
        entry, reference, created = self._once(
            request, "JournalEntry", self.state.journal_entries, self._journal_entry
        )
        return _created("CreateJournalEntryResponse", created, EntryNumber=entry.entry_number,
                        SourceReference=reference)  # fmt: skip

    def _journal_entry(self, element: etree._Element, reference: str) -> JournalEntry:
        at = now()
        lines = self._journal_lines(element)
        return JournalEntry(
            entry_number=self.numbers.next("JE", at),
            reference=reference,
            booking_date=_date(element, "BookingDate"),
            currency=required(element, "Currency"),
            lines=lines,
            entry_reference=text(element, "Reference"),
            description=text(element, "Description"),
            created_at=at,
        )

    def _journal_lines(self, element: etree._Element) -> tuple[JournalLine, ...]:
        """The entry's lines, refused as IPSoft does: both sides, unknown accounts, unbalanced."""
        lines = []
        for index, line in enumerate(element.iterfind(f"{q('Lines')}/{q('Line')}"), start=1):
            debit, credit = Decimal(required(line, "Debit")), Decimal(required(line, "Credit"))
            if debit and credit:
                raise FaultError("INVALID_REQUEST", f"line {index} has both a debit and a credit")
            lines.append(
                JournalLine(
                    account=required(line, "Account"),
                    description=text(line, "Description"),
                    debit=debit,
                    credit=credit,
                    tax_code=text(line, "TaxCode"),
                )
            )
        for index, journal_line in enumerate(lines, start=1):
            if journal_line.account not in self.state.accounts:
                raise FaultError(
                    "UNKNOWN_ACCOUNT",
                    f"line {index}: account {journal_line.account} is not in the chart of accounts",
                )
        debits = sum((line.debit for line in lines), Decimal(0))
        credits = sum((line.credit for line in lines), Decimal(0))
        if debits != credits:
            raise FaultError("UNBALANCED_ENTRY", f"debits {debits} differ from credits {credits}")
        return tuple(lines)

    # -- checks shared by the operations

    def _customer(self, element: etree._Element) -> str:
        number = required(element, "CustomerNumber")
        if number not in self.state.customers:
            raise FaultError("UNKNOWN_CUSTOMER", f"customer {number} does not exist")
        return number

    def _article_lines(self, element: etree._Element) -> tuple[DocumentLine, ...]:
        lines = read_lines(element)
        for line in lines:
            if line.sku is not None and not self.state.sku_exists(line.sku):
                raise FaultError(
                    "UNKNOWN_SKU", f"line {line.line_number}: SKU {line.sku} does not exist"
                )
        return lines


def _document(request: etree._Element, name: str) -> etree._Element:
    element = request.find(q(name))
    if element is None:  # the XSD was checked first; this only guards the handler's assumptions
        raise FaultError("INVALID_REQUEST", f"{name} is missing")
    return element


def _date(element: etree._Element, name: str) -> date:
    return date.fromisoformat(required(element, name))


def _optional_date(element: etree._Element, name: str) -> date | None:
    value = text(element, name)
    return None if value is None else date.fromisoformat(value.strip())


def _response(name: str) -> etree._Element:
    return etree.Element(q(name), nsmap={"ips": IPS_NS})


def _created(name: str, created: bool, **numbers: Any) -> etree._Element:
    """A Create response: its numbers in the order given, then ``Created``."""
    response = _response(name)
    for element, value in numbers.items():
        add(response, element, value)
    add(response, "Created", created)
    return response
