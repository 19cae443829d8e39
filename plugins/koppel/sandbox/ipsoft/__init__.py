"""A stateful IPSoft SOAP service on 127.0.0.1 for tests and the demo.

IPSoft's real WSDL is not public, so the project's own contract
(``include/schemas/ipsoft/``) is served as a static file and a small lxml WSGI
handler answers it: a hand-written handler keeps the emulator exactly on the
contract, where a SOAP framework would generate its own idea of it. Requests
are parsed with Koppel's hardened parser and validated against ``ipsoft.xsd``
as the real service refuses a malformed one; every answer is validated too, so
the emulator cannot drift from the schema the flows are built on.

Test knobs: :meth:`IPSoftServer.fail_next` answers the next call with a fault,
:meth:`IPSoftServer.delay_next` processes a call but answers late (to provoke a
client timeout after the order was created), and :attr:`IPSoftServer.calls`
lists what was received.

The package is split by job: :mod:`.records` (what the company holds),
:mod:`.documents` (quotes, invoices and journal entries it keeps),
:mod:`.state` (the store of those records), :mod:`.soap` and :mod:`.writers`
(the contract's XML), :mod:`.service` (the operations), :mod:`.document_service`
with :mod:`.reading` and :mod:`.ledger` (the document operations of seed 001),
:mod:`.wsgi` (HTTP helpers), :mod:`.server` (the running endpoint) and
:mod:`.seed` (demo data).
"""

from __future__ import annotations

from koppel.sandbox.ipsoft.documents import (
    Account,
    Amounts,
    Charge,
    DirectInvoice,
    DocumentLine,
    Invoice,
    JournalEntry,
    JournalLine,
    Quote,
    SalesInvoice,
    StockChange,
    TaxAmount,
)
from koppel.sandbox.ipsoft.records import (
    Address,
    Buyer,
    Customer,
    Order,
    OrderLine,
    Price,
    PriceList,
    Product,
    StockItem,
)
from koppel.sandbox.ipsoft.seed import DEMO_ACCOUNTS, UNKNOWN_CUSTOMER_NUMBER, ean13, seed_demo
from koppel.sandbox.ipsoft.server import IPSoftServer
from koppel.sandbox.ipsoft.service import IPSoftService
from koppel.sandbox.ipsoft.soap import IPS_NS, SCHEMA_DIR, SOAP_ENV_NS
from koppel.sandbox.ipsoft.state import IPSoftState

__all__ = [
    "DEMO_ACCOUNTS",
    "IPS_NS",
    "SCHEMA_DIR",
    "SOAP_ENV_NS",
    "UNKNOWN_CUSTOMER_NUMBER",
    "Account",
    "Address",
    "Amounts",
    "Buyer",
    "Charge",
    "Customer",
    "DirectInvoice",
    "DocumentLine",
    "IPSoftServer",
    "IPSoftService",
    "IPSoftState",
    "Invoice",
    "JournalEntry",
    "JournalLine",
    "Order",
    "OrderLine",
    "Price",
    "PriceList",
    "Product",
    "Quote",
    "SalesInvoice",
    "StockChange",
    "StockItem",
    "TaxAmount",
    "ean13",
    "seed_demo",
]
