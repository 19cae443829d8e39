"""The demo's Monday morning: price lists, customers and orders a wholesaler's portal holds.

Shared by ``make demo`` and the flow tests, so both exercise the same awkward
cases: a missing price list, a customer without an IPSoft reference, one with
a mistyped reference, and a draft order that must not be exported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from koppel.sandbox.lenewblack.portal import LeNewBlackPortal
from koppel.sandbox.lenewblack.state import LineInput


def seed_demo(portal: LeNewBlackPortal) -> None:
    """Fill the portal as a Dutch fashion wholesaler's looks on a Monday morning.

    Two price lists (no OUTLET-EUR: prices for it must fail), two customers
    imported from IPSoft earlier, one a sales rep created at a trade fair
    without an IPSoft reference and one with a mistyped reference, and
    confirmed orders for each, plus a draft that must not be exported.
    """
    portal.add_price_list("WHOLESALE-EUR", "Wholesale EUR")
    portal.add_price_list("RETAIL-EUR", "Adviesverkoopprijzen EUR")
    for customer_id, name, reference, address in _DEMO_CUSTOMERS:
        portal.add_customer(
            customer_id,
            name,
            erp_reference=reference,
            billing_address=address,
            price_list_id="WHOLESALE-EUR",
        )
    for reference, customer_id, status, created, lines, remarks in _DEMO_ORDERS:
        portal.add_order(
            reference,
            customer_id=customer_id,
            lines=lines,
            status=status,
            created_at=created,
            remarks=remarks,
        )


def demo_order_skus() -> list[str]:
    """The SKUs the demo's orders ask for: an ERP must know them before the orders can go in."""
    return sorted({line[0] for order in _DEMO_ORDERS for line in order[4]})


def _address(street: str, number: str, postal_code: str, city: str) -> dict[str, Any]:
    return {
        "street": street,
        "house_number": number,
        "house_number_addition": None,
        "postal_code": postal_code,
        "city": city,
        "country": "NL",
    }


_DEMO_CUSTOMERS: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("C10023", "Boutique Lotte", "C10023", _address("Oudegracht", "112", "3511 AX", "Utrecht")),
    ("C10031", "Modehuis Van Dijk", "C10031", _address("Hoogstraat", "27", "3011 PJ", "Rotterdam")),
    ("LNB-4711", "Studio Noor", None, _address("Wilhelminastraat", "8", "2011 VM", "Haarlem")),
    ("LNB-4712", "Het Kledinghuis", "12345", _address("Lange Pijp", "3", "9711 DE", "Groningen")),
]

_DEMO_ORDERS: list[tuple[str, str, str, datetime, list[LineInput], str | None]] = [
    (
        "LNB-100045",
        "C10023",
        "confirmed",
        datetime(2025, 3, 10, 8, 41, tzinfo=UTC),
        [("JL-DRESS-001-BLK-M", "4", "49.95"), ("JL-DRESS-001-BLK-L", "2", "49.95")],
        "Levering graag voor de voorjaarsetalage",
    ),
    (
        "LNB-100046",
        "LNB-4711",
        "confirmed",
        datetime(2025, 3, 10, 9, 5, tzinfo=UTC),
        [("JL-BLOUSE-014-WHT-S", "6", "34.50")],
        "Besteld op de Modefabriek",
    ),
    (
        "LNB-100047",
        "C10031",
        "confirmed",
        datetime(2025, 3, 10, 9, 30, tzinfo=UTC),
        [("JL-JEANS-077-IND-28", "5", "59.00"), ("JL-COAT-230-CAM-M", "2", "129.00")],
        None,
    ),
    (
        "LNB-100048",
        "LNB-4712",
        "confirmed",
        datetime(2025, 3, 10, 10, 12, tzinfo=UTC),
        [("JL-DRESS-001-BLK-M", "3", "49.95")],
        None,
    ),
    (
        "LNB-100049",
        "C10023",
        "draft",
        datetime(2025, 3, 10, 11, 0, tzinfo=UTC),
        [("JL-COAT-230-CAM-M", "1", "129.00")],
        "Nog niet definitief",
    ),
]
