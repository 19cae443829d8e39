"""Demo data for the stand-in store ERP: the two stores of Nordkauppa and a Peppol supplier.

Seed 003 is about one company whose stores order from each other. Nordkauppa
Oy has a store in Helsinki (A) and one in Tampere (B), each with its own
database; each store is the other's customer and supplier, and as a
supplier its message format is ``UBL2.0SIS``, so purchase orders between
them travel as internal UBL 2.0 orders. The products cover every pricing
branch of the seed:

* ``KAHVI-500`` has an average purchase price (internal orders take it; the
  two stores' averages differ, so a test sees which store priced);
* ``TEE-100`` has only a purchase price (the first fallback);
* ``MUKI-01`` has neither (the message's price is taken);
* ``SUODATIN-4`` and ``KAHVI-500`` are on the cafés' price list
  ``KAHVILAT``; a café ordering ``TEE-100`` gets its list (sales) price.

Helsinki has one purchase order posted to Tampere with three lines, ready
for the ``purchase_orders`` flow, and another supplier (a coffee roastery)
that takes no messages. :data:`PEPPOL_SUPPLIER_SEED` is a wholesaler on the
same ERP whose customers order through Peppol (participant ids are GLNs,
scheme ``0088``).

A seed is data only, table by table, as
:func:`koppel.sandbox.store_erp.database.load_seed` inserts it; an order or
delivery carries its rows under ``lines``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from koppel.hooks.store_erp_schema import INTERNAL_ORDER_FORMAT

StoreSeed = dict[str, list[dict[str, Any]]]

#: The GLN scheme of UBL and Peppol (ISO 6523 ICD 0088).
GLN_SCHEME = "0088"

#: The two stores: their ids (each is a customer and supplier id in the other) and GLNs.
STORE_A_ID = "HKI"
STORE_A_GLN = "6412345000012"
STORE_B_ID = "TRE"
STORE_B_GLN = "6412345000029"
#: A supplier of both stores that takes no electronic orders.
ROASTERY_ID = "PAAHTIMO"
ROASTERY_GLN = "6412345000036"
#: A café, a normal customer of each store, priced from the cafés' price list.
CAFE_A_ID = "K100"
CAFE_B_ID = "K200"
CAFE_PRICE_LIST = "KAHVILAT"

#: The products, the same codes and GTINs in both stores.
COFFEE = "KAHVI-500"
TEA = "TEE-100"
MUG = "MUKI-01"
FILTERS = "SUODATIN-4"

#: The Peppol supplier and its customers' participant ids (GLNs).
PEPPOL_SUPPLIER_ID = "LAKEUS"
PEPPOL_SUPPLIER_GLN = "6412345000043"
PEPPOL_CUSTOMER_ID = "A-1001"
PEPPOL_CUSTOMER_GLN = "6412345000050"
PEPPOL_OTHER_CUSTOMER_ID = "A-1002"
PEPPOL_OTHER_CUSTOMER_GLN = "6412345000067"
PEPPOL_PRICE_LIST = "HORECA"


def _d(text: str) -> Decimal:
    return Decimal(text)


def _store(store_id: str, name: str, gln: str, address: tuple[str, str, str]) -> dict[str, Any]:
    street, city, postal = address
    return {
        "store_id": store_id,
        "name": name,
        "gln": gln,
        "endpoint_id": gln,
        "endpoint_scheme": GLN_SCHEME,
        "vat_number": "FI12345678",
        "street": street,
        "city": city,
        "postal_code": postal,
        "country": "FI",
        "language": "fi",
    }


_HELSINKI = _store(
    STORE_A_ID, "Nordkauppa Oy, Helsinki", STORE_A_GLN, ("Mannerheimintie 10", "Helsinki", "00100")
)
_TAMPERE = _store(
    STORE_B_ID, "Nordkauppa Oy, Tampere", STORE_B_GLN, ("Hämeenkatu 5", "Tampere", "33100")
)


def _as_party(store: dict[str, Any], id_column: str) -> dict[str, Any]:
    """A store's row as the other store's customer or supplier row."""
    party = {k: v for k, v in store.items() if k not in {"store_id", "language"}}
    return {id_column: store["store_id"], **party}


_ROASTERY = {
    "supplier_id": ROASTERY_ID,
    "name": "Paahtimo Oy",
    "gln": ROASTERY_GLN,
    "endpoint_id": None,
    "endpoint_scheme": None,
    "vat_number": "FI87654321",
    "street": "Paahtimontie 1",
    "city": "Lahti",
    "postal_code": "15100",
    "country": "FI",
    "message_format": None,
}


def _products(coffee_average: str) -> list[dict[str, Any]]:
    """The four products; only the coffee's average purchase price differs between stores."""
    return [
        {
            "product_code": COFFEE,
            "gtin": "6412345100019",
            "name": "Kahvi 500 g",
            "unit": "PCE",
            "average_purchase_price": _d(coffee_average),
            "purchase_price": _d("4.1000"),
            "sales_price": _d("7.9000"),
        },
        {
            "product_code": TEA,
            "gtin": "6412345100026",
            "name": "Tee 100 g",
            "unit": "PCE",
            "average_purchase_price": None,
            "purchase_price": _d("2.2000"),
            "sales_price": _d("4.5000"),
        },
        {
            "product_code": MUG,
            "gtin": "6412345100033",
            "name": "Muki",
            "unit": "PCE",
            "average_purchase_price": None,
            "purchase_price": None,
            "sales_price": _d("9.9000"),
        },
        {
            "product_code": FILTERS,
            "gtin": "6412345100040",
            "name": "Suodatinpaperi nro 4",
            "unit": "PCE",
            "average_purchase_price": _d("1.1000"),
            "purchase_price": _d("1.2000"),
            "sales_price": _d("2.4900"),
        },
    ]


_CAFE_PRICES = [
    {"price_list_id": CAFE_PRICE_LIST, "product_code": COFFEE, "price": _d("6.9000")},
    {"price_list_id": CAFE_PRICE_LIST, "product_code": FILTERS, "price": _d("1.9900")},
]


def _cafe(customer_id: str, name: str, city: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": name,
        "gln": None,
        "endpoint_id": None,
        "endpoint_scheme": None,
        "vat_number": None,
        "street": "Kauppakatu 1",
        "city": city,
        "postal_code": None,
        "country": "FI",
        "price_list_id": CAFE_PRICE_LIST,
    }


STORE_A_SEED: StoreSeed = {
    "store": [_HELSINKI],
    "products": _products("3.8500"),
    "price_lists": [{"price_list_id": CAFE_PRICE_LIST, "description": "Kahvilat"}],
    "price_list_prices": _CAFE_PRICES,
    "customers": [
        {**_as_party(_TAMPERE, "customer_id"), "price_list_id": None},
        _cafe(CAFE_A_ID, "Kahvila Esplanadi", "Helsinki"),
    ],
    "suppliers": [
        {**_as_party(_TAMPERE, "supplier_id"), "message_format": INTERNAL_ORDER_FORMAT},
        _ROASTERY,
    ],
    "purchase_orders": [
        {
            "supplier_id": STORE_B_ID,
            "status": "posted",
            "currency": "EUR",
            "order_date": date(2026, 11, 23),
            "requested_delivery_date": date(2026, 11, 27),
            "note": "Joulumyyntiin",
            "lines": [
                {
                    "line_number": 1,
                    "product_code": COFFEE,
                    "description": "Kahvi 500 g",
                    "quantity": _d("10"),
                    "unit": "PCE",
                    "purchase_price": _d("4.1000"),
                },
                {
                    "line_number": 2,
                    "product_code": TEA,
                    "description": "Tee 100 g",
                    "quantity": _d("5"),
                    "unit": "PCE",
                    "purchase_price": _d("2.2000"),
                },
                {
                    "line_number": 3,
                    "product_code": MUG,
                    "description": "Muki",
                    "quantity": _d("2"),
                    "unit": "PCE",
                    "purchase_price": _d("5.5000"),
                },
            ],
        }
    ],
}
"""Helsinki: a purchase order to Tampere posted, waiting for the purchase_orders flow."""

STORE_B_SEED: StoreSeed = {
    "store": [_TAMPERE],
    "products": _products("3.7200"),
    "price_lists": [{"price_list_id": CAFE_PRICE_LIST, "description": "Kahvilat"}],
    "price_list_prices": _CAFE_PRICES,
    "customers": [
        {**_as_party(_HELSINKI, "customer_id"), "price_list_id": None},
        _cafe(CAFE_B_ID, "Kahvila Hämeenkatu", "Tampere"),
    ],
    "suppliers": [
        {**_as_party(_HELSINKI, "supplier_id"), "message_format": INTERNAL_ORDER_FORMAT},
        _ROASTERY,
    ],
}
"""Tampere: takes Helsinki's internal orders as sales orders and delivers them."""


def _peppol_customer(
    customer_id: str, name: str, gln: str, price_list: str | None
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": name,
        "gln": gln,
        "endpoint_id": gln,
        "endpoint_scheme": GLN_SCHEME,
        "vat_number": None,
        "street": "Asemakatu 3",
        "city": "Seinäjoki",
        "postal_code": "60100",
        "country": "FI",
        "price_list_id": price_list,
    }


PEPPOL_SUPPLIER_SEED: StoreSeed = {
    "store": [
        {
            "store_id": PEPPOL_SUPPLIER_ID,
            "name": "Lakeuden Tukku Oy",
            "gln": PEPPOL_SUPPLIER_GLN,
            "endpoint_id": PEPPOL_SUPPLIER_GLN,
            "endpoint_scheme": GLN_SCHEME,
            "vat_number": "FI11223344",
            "street": "Teollisuustie 12",
            "city": "Seinäjoki",
            "postal_code": "60320",
            "country": "FI",
            "language": "fi",
        }
    ],
    "products": [
        {
            "product_code": "RUIS-750",
            "gtin": "6412345200016",
            "name": "Ruisleipä 750 g",
            "unit": "H87",
            "average_purchase_price": _d("1.6000"),
            "purchase_price": _d("1.7000"),
            "sales_price": _d("3.2000"),
        },
        {
            "product_code": "VOI-500",
            "gtin": "6412345200023",
            "name": "Voi 500 g",
            "unit": "H87",
            "average_purchase_price": _d("3.0000"),
            "purchase_price": _d("3.1000"),
            "sales_price": _d("5.4000"),
        },
        {
            "product_code": "JUUSTO-1KG",
            "gtin": "6412345200030",
            "name": "Juusto 1 kg",
            "unit": "KGM",
            "average_purchase_price": None,
            "purchase_price": _d("8.0000"),
            "sales_price": _d("13.9000"),
        },
    ],
    "price_lists": [{"price_list_id": PEPPOL_PRICE_LIST, "description": "Ravintolat"}],
    "price_list_prices": [
        {"price_list_id": PEPPOL_PRICE_LIST, "product_code": "RUIS-750", "price": _d("2.8000")},
        {"price_list_id": PEPPOL_PRICE_LIST, "product_code": "VOI-500", "price": _d("4.9000")},
    ],
    "customers": [
        _peppol_customer(PEPPOL_CUSTOMER_ID, "Ravintola Lakeus", PEPPOL_CUSTOMER_GLN, "HORECA"),
        _peppol_customer(
            PEPPOL_OTHER_CUSTOMER_ID, "Kauppa Pohjanmaa", PEPPOL_OTHER_CUSTOMER_GLN, None
        ),
    ],
    "suppliers": [],
}
"""A wholesaler taking Peppol BIS 3 orders: one customer with a price list, one without."""
