"""A stand-in store ERP (seed 003) for tests and the demo: store databases with demo data.

The ERP keeps one database per store and exchanges orders through it, so a
stand-in store is a database with the tables of
:mod:`koppel.hooks.store_erp_schema`: :mod:`.database` creates and seeds it
on PostgreSQL or SQLite and does what a store's user does (post a purchase
order, deliver a sales order); :mod:`.seed` holds the two stores of
Nordkauppa and a Peppol supplier.
"""

from __future__ import annotations

from koppel.sandbox.store_erp.database import (
    DeliveredLot,
    OrderedLine,
    create_store_database,
    deliver_sales_order,
    load_seed,
    open_demo_store,
    post_purchase_order,
)
from koppel.sandbox.store_erp.seed import (
    CAFE_A_ID,
    CAFE_B_ID,
    CAFE_PRICE_LIST,
    COFFEE,
    FILTERS,
    GLN_SCHEME,
    MUG,
    PEPPOL_CUSTOMER_GLN,
    PEPPOL_CUSTOMER_ID,
    PEPPOL_OTHER_CUSTOMER_GLN,
    PEPPOL_OTHER_CUSTOMER_ID,
    PEPPOL_PRICE_LIST,
    PEPPOL_SUPPLIER_GLN,
    PEPPOL_SUPPLIER_ID,
    PEPPOL_SUPPLIER_SEED,
    ROASTERY_GLN,
    ROASTERY_ID,
    STORE_A_GLN,
    STORE_A_ID,
    STORE_A_SEED,
    STORE_B_GLN,
    STORE_B_ID,
    STORE_B_SEED,
    TEA,
    StoreSeed,
)

__all__ = [
    "CAFE_A_ID",
    "CAFE_B_ID",
    "CAFE_PRICE_LIST",
    "COFFEE",
    "FILTERS",
    "GLN_SCHEME",
    "MUG",
    "PEPPOL_CUSTOMER_GLN",
    "PEPPOL_CUSTOMER_ID",
    "PEPPOL_OTHER_CUSTOMER_GLN",
    "PEPPOL_OTHER_CUSTOMER_ID",
    "PEPPOL_PRICE_LIST",
    "PEPPOL_SUPPLIER_GLN",
    "PEPPOL_SUPPLIER_ID",
    "PEPPOL_SUPPLIER_SEED",
    "ROASTERY_GLN",
    "ROASTERY_ID",
    "STORE_A_GLN",
    "STORE_A_ID",
    "STORE_A_SEED",
    "STORE_B_GLN",
    "STORE_B_ID",
    "STORE_B_SEED",
    "TEA",
    "DeliveredLot",
    "OrderedLine",
    "StoreSeed",
    "create_store_database",
    "deliver_sales_order",
    "load_seed",
    "open_demo_store",
    "post_purchase_order",
]
