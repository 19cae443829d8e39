"""Canonical documents: the one shape every wire format is read into and written from."""

from __future__ import annotations

from koppel.documents.base import CanonicalModel
from koppel.documents.erp import SalesOrder, SalesOrderLine
from koppel.documents.ledger import FinancialMutation, MutationLevel, PostingLine
from koppel.documents.order_response import (
    OrderResponse,
    OrderResponseLine,
    ResponseCode,
    ResponseNote,
)
from koppel.documents.orders import (
    Channel,
    CostKind,
    CostLine,
    Discount,
    DocumentType,
    Order,
    OrderLine,
    TaxTotal,
)
from koppel.documents.parties import Address, Contact, Party, PartyIdentifier
from koppel.documents.problems import (
    PROBLEM_LIMIT,
    TRUNCATED,
    Problem,
    Severity,
    cap_problems,
    has_errors,
)
from koppel.documents.products import Price, Product, StockLevel, StockMode
from koppel.documents.status import (
    InboundDelivery,
    InboundLine,
    Lot,
    OrderStatus,
    ReturnLine,
    ReturnRegistration,
    SerialNumber,
    Shipment,
    StatusLine,
    StatusUpdate,
    Waybill,
    WaybillLine,
)
from koppel.documents.store_erp import (
    PriceSource,
    PurchaseOrderReceipt,
    PurchaseOrderReceiptLine,
    ReceiptStatus,
    StoreSalesOrder,
    StoreSalesOrderLine,
)

#: Canonical document classes by name, as mappings and format definitions name them.
DOCUMENT_TYPES: dict[str, type[CanonicalModel]] = {
    cls.__name__: cls
    for cls in (
        Party,
        Product,
        Price,
        StockLevel,
        Order,
        StatusUpdate,
        Waybill,
        ReturnRegistration,
        InboundDelivery,
        FinancialMutation,
        OrderResponse,
        SalesOrder,
        StoreSalesOrder,
        PurchaseOrderReceipt,
    )
}

__all__ = [
    "DOCUMENT_TYPES",
    "PROBLEM_LIMIT",
    "TRUNCATED",
    "Address",
    "CanonicalModel",
    "Channel",
    "Contact",
    "CostKind",
    "CostLine",
    "Discount",
    "DocumentType",
    "FinancialMutation",
    "InboundDelivery",
    "InboundLine",
    "Lot",
    "MutationLevel",
    "Order",
    "OrderLine",
    "OrderResponse",
    "OrderResponseLine",
    "OrderStatus",
    "Party",
    "PartyIdentifier",
    "PostingLine",
    "Price",
    "PriceSource",
    "Problem",
    "Product",
    "PurchaseOrderReceipt",
    "PurchaseOrderReceiptLine",
    "ReceiptStatus",
    "ResponseCode",
    "ResponseNote",
    "ReturnLine",
    "ReturnRegistration",
    "SalesOrder",
    "SalesOrderLine",
    "SerialNumber",
    "Severity",
    "Shipment",
    "StatusLine",
    "StatusUpdate",
    "StockLevel",
    "StockMode",
    "StoreSalesOrder",
    "StoreSalesOrderLine",
    "TaxTotal",
    "Waybill",
    "WaybillLine",
    "cap_problems",
    "has_errors",
]
