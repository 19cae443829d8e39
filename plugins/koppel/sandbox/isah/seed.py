"""Demo master data for the stand-in Isah ERP: a Dutch precision-parts maker and three customers.

Every branch of the SCSN import checks (seed 002, SPEC.md section 5) has data
to meet it, so the demo and the tests order against the same ERP:

* sales type: Bakker has its own, Hollandse Precisie and Nordic Drives take
  the global default (remove the setting to see the error);
* deviating prices: Hollandse Precisie accepts them, the others do not;
* credit limit: Bakker checks with a limit of 10,000 counting quotes and
  orders (6,775.00 used), Nordic Drives with a tight 2,500 counting orders
  only (1,800.00 used; its open quote does not count), Hollandse Precisie not
  at all;
* articles: ``HOUSING-HPT`` belongs to Hollandse Precisie only; ``SHAFT-100``
  has released revisions A and B and an unreleased C; ``COVER-400`` has only
  an unreleased revision; ``BRKT-300`` no revisions;
* customer article codes with a stored revision (``BK-4711`` -> B) and without
  (``BK-4712``);
* prices: Bakker's own prices with a quantity break and a discount, its price
  list ``INDUSTRY-EUR`` with its general 5 % discount, the default list
  ``STANDARD-EUR``, and Nordic's ``EXPORT-USD``; currencies EUR and USD;
* existing orders: Bakker's ``PO-2026-0815`` is confirmed (a duplicate),
  ``PO-2026-0816`` not yet (a "New" message updates it).

The seed is data only, table by table, as :func:`koppel.sandbox.isah.database.load_seed`
inserts it; a sales order carries its lines under ``lines``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from koppel.hooks.isah_schema import DEFAULT_PRICE_LIST, DEFAULT_SALES_TYPE, DEVIATING_PRICE_STATUS

#: Customers, by ERP number, and the SCSN ids their order messages carry.
BAKKER = "C1001"
BAKKER_SCSN_ID = "NL-SCSN-BAKKER-01"
HOLLANDSE_PRECISIE = "C1002"
HOLLANDSE_PRECISIE_SCSN_ID = "NL-SCSN-HPT-02"
NORDIC_DRIVES = "C2001"
NORDIC_DRIVES_SCSN_ID = "SE-SCSN-NORDIC-03"

#: Bakker's orders already in the ERP: confirmed (a duplicate) and not yet confirmed (updatable).
CONFIRMED_ORDER = "PO-2026-0815"
UNCONFIRMED_ORDER = "PO-2026-0816"

#: The global settings of the order import.
DEMO_SALES_TYPE = "SCI"
DEMO_DEVIATING_PRICE_STATUS = "PRICE-CHECK"

ErpSeed = dict[str, list[dict[str, Any]]]


def _d(text: str) -> Decimal:
    return Decimal(text)


DEMO_SEED: ErpSeed = {
    "settings": [
        {"key": DEFAULT_SALES_TYPE, "value": DEMO_SALES_TYPE},
        {"key": DEVIATING_PRICE_STATUS, "value": DEMO_DEVIATING_PRICE_STATUS},
        {"key": DEFAULT_PRICE_LIST, "value": "STANDARD-EUR"},
    ],
    "currencies": [{"code": "EUR", "decimals": 2}, {"code": "USD", "decimals": 2}],
    "price_lists": [
        {"price_list_id": "STANDARD-EUR", "currency": "EUR", "description": "Standard prices"},
        {"price_list_id": "INDUSTRY-EUR", "currency": "EUR", "description": "Industry partners"},
        {"price_list_id": "EXPORT-USD", "currency": "USD", "description": "Export, US dollars"},
    ],
    "customers": [
        {
            "customer_id": BAKKER,
            "name": "Bakker Machinebouw B.V.",
            "scsn_id": BAKKER_SCSN_ID,
            "sales_type": "SCI-NL",
            "accept_deviating_prices": False,
            "credit_check": True,
            "credit_limit": _d("10000.00"),
            "credit_include_quotes": True,
            "credit_include_orders": True,
            "currency": "EUR",
            "price_list_id": "INDUSTRY-EUR",
            "discount_percentage": _d("5"),
        },
        {
            "customer_id": HOLLANDSE_PRECISIE,
            "name": "Hollandse Precisie Techniek B.V.",
            "scsn_id": HOLLANDSE_PRECISIE_SCSN_ID,
            "sales_type": None,
            "accept_deviating_prices": True,
            "credit_check": False,
            "credit_limit": None,
            "credit_include_quotes": False,
            "credit_include_orders": False,
            "currency": "EUR",
            "price_list_id": None,
            "discount_percentage": None,
        },
        {
            "customer_id": NORDIC_DRIVES,
            "name": "Nordic Drives AB",
            "scsn_id": NORDIC_DRIVES_SCSN_ID,
            "sales_type": None,
            "accept_deviating_prices": False,
            "credit_check": True,
            "credit_limit": _d("2500.00"),
            "credit_include_quotes": False,
            "credit_include_orders": True,
            "currency": "USD",
            "price_list_id": "EXPORT-USD",
            "discount_percentage": None,
        },
    ],
    "articles": [
        {"article_code": "SHAFT-100", "description": "Drive shaft 100 mm", "customer_id": None},
        {"article_code": "FLANGE-200", "description": "Flange DN200", "customer_id": None},
        {"article_code": "BRKT-300", "description": "Mounting bracket", "customer_id": None},
        {"article_code": "COVER-400", "description": "Gearbox cover", "customer_id": None},
        {
            "article_code": "HOUSING-HPT",
            "description": "Gearbox housing, Hollandse Precisie design",
            "customer_id": HOLLANDSE_PRECISIE,
        },
    ],
    "article_revisions": [
        {"article_code": "SHAFT-100", "revision": "A", "released": True, "sequence": 1},
        {"article_code": "SHAFT-100", "revision": "B", "released": True, "sequence": 2},
        {"article_code": "SHAFT-100", "revision": "C", "released": False, "sequence": 3},
        {"article_code": "FLANGE-200", "revision": "01", "released": True, "sequence": 1},
        {"article_code": "COVER-400", "revision": "X1", "released": False, "sequence": 1},
        {"article_code": "HOUSING-HPT", "revision": "2", "released": True, "sequence": 1},
    ],
    "customer_articles": [
        {
            "customer_id": BAKKER,
            "customer_article_code": "BK-4711",
            "article_code": "SHAFT-100",
            "revision": "B",
        },
        {
            "customer_id": BAKKER,
            "customer_article_code": "BK-4712",
            "article_code": "FLANGE-200",
            "revision": None,
        },
        {
            "customer_id": HOLLANDSE_PRECISIE,
            "customer_article_code": "HPT-9001",
            "article_code": "HOUSING-HPT",
            "revision": "2",
        },
        {
            "customer_id": NORDIC_DRIVES,
            "customer_article_code": "ND-300",
            "article_code": "BRKT-300",
            "revision": None,
        },
    ],
    "customer_prices": [
        {
            "customer_id": BAKKER,
            "article_code": "SHAFT-100",
            "currency": "EUR",
            "min_quantity": _d("1"),
            "unit_price": _d("42.50"),
            "discount_percentage": None,
        },
        {
            "customer_id": BAKKER,
            "article_code": "SHAFT-100",
            "currency": "EUR",
            "min_quantity": _d("10"),
            "unit_price": _d("39.90"),
            "discount_percentage": _d("2.5"),
        },
        {
            "customer_id": HOLLANDSE_PRECISIE,
            "article_code": "HOUSING-HPT",
            "currency": "EUR",
            "min_quantity": _d("1"),
            "unit_price": _d("310.00"),
            "discount_percentage": None,
        },
    ],
    "price_list_prices": [
        {"price_list_id": "INDUSTRY-EUR", "article_code": "FLANGE-200", "unit_price": _d("18.40")},
        {"price_list_id": "INDUSTRY-EUR", "article_code": "BRKT-300", "unit_price": _d("7.80")},
        {"price_list_id": "STANDARD-EUR", "article_code": "SHAFT-100", "unit_price": _d("45.00")},
        {"price_list_id": "STANDARD-EUR", "article_code": "FLANGE-200", "unit_price": _d("19.95")},
        {"price_list_id": "STANDARD-EUR", "article_code": "BRKT-300", "unit_price": _d("8.50")},
        {"price_list_id": "STANDARD-EUR", "article_code": "COVER-400", "unit_price": _d("12.00")},
        {"price_list_id": "EXPORT-USD", "article_code": "SHAFT-100", "unit_price": _d("49.00")},
        {"price_list_id": "EXPORT-USD", "article_code": "BRKT-300", "unit_price": _d("9.25")},
    ],
    "open_invoices": [
        {"invoice_number": "F26-0101", "customer_id": BAKKER, "open_amount": _d("2500.00")},
        {"invoice_number": "F26-0102", "customer_id": NORDIC_DRIVES, "open_amount": _d("1200.00")},
    ],
    "quotes": [
        {
            "quote_number": "Q26-011",
            "customer_id": BAKKER,
            "amount": _d("3000.00"),
            "status": "open",
        },
        {
            "quote_number": "Q26-012",
            "customer_id": BAKKER,
            "amount": _d("5000.00"),
            "status": "closed",
        },
        {
            "quote_number": "Q26-013",
            "customer_id": NORDIC_DRIVES,
            "amount": _d("900.00"),
            "status": "open",
        },
    ],
    "sales_orders": [
        {
            "order_reference": CONFIRMED_ORDER,
            "buyer_scsn_id": BAKKER_SCSN_ID,
            "customer_id": BAKKER,
            "sales_type": "SCI-NL",
            "currency": "EUR",
            "confirmed": True,
            "status": "open",
            "amount": _d("850.00"),
            "lines": [
                {
                    "line_number": 1,
                    "line_id": "1",
                    "article_code": "SHAFT-100",
                    "revision": "B",
                    "quantity": _d("20"),
                    "unit_price": _d("42.50"),
                    "amount": _d("850.00"),
                }
            ],
        },
        {
            "order_reference": UNCONFIRMED_ORDER,
            "buyer_scsn_id": BAKKER_SCSN_ID,
            "customer_id": BAKKER,
            "sales_type": "SCI-NL",
            "currency": "EUR",
            "confirmed": False,
            "status": "open",
            "amount": _d("425.00"),
            "lines": [
                {
                    "line_number": 1,
                    "line_id": "1",
                    "article_code": "SHAFT-100",
                    "revision": "B",
                    "quantity": _d("10"),
                    "unit_price": _d("42.50"),
                    "amount": _d("425.00"),
                }
            ],
        },
        {
            "order_reference": "ND-PO-77",
            "buyer_scsn_id": NORDIC_DRIVES_SCSN_ID,
            "customer_id": NORDIC_DRIVES,
            "sales_type": DEMO_SALES_TYPE,
            "currency": "USD",
            "confirmed": True,
            "status": "shipped",
            "amount": _d("5000.00"),
            "lines": [],
        },
        {
            "order_reference": "ND-PO-78",
            "buyer_scsn_id": NORDIC_DRIVES_SCSN_ID,
            "customer_id": NORDIC_DRIVES,
            "sales_type": DEMO_SALES_TYPE,
            "currency": "USD",
            "confirmed": True,
            "status": "open",
            "amount": _d("600.00"),
            "lines": [],
        },
    ],
}
