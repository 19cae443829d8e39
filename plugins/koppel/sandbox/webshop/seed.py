"""The demo webshop: six orders that between them exercise every document type Koppel makes.

* ``W-1001``: a normal paid web order of two IPSoft articles (NZ2401-NAVY-M
  with a 5.00 coupon discount, NZ2402-SAND-32), shipping and an iDEAL fee;
  customer C10023. Tax-exclusive EUR.
* ``W-1002``: paid, one known article and one SKU IPSoft does not know
  (``KOP-UNKNOWN-1``): an order of it must wait for the product. Customer C10031.
* ``W-1003``: the awkward one. Tax-exclusive EUR: 3 x 0.333 at 21 %, 3 x 0.333
  at 9 %, 1 x 2.50 at 21 %, a 1.00 discount and 4.50 shipping at 21 %. The
  shop rounds tax per line (0.21 + 0.53 - 0.21 + 0.95 = 1.48 at 21 %) where
  per rate it is 21 % of 7.00 = 1.47: the grand total 9.57 is a cent more
  than a per-rate computation gives.
* ``W-1004``: a cash sale at the shop's till (channel ``pos``, status
  ``completed``, prices including tax, no shipping address): customer
  C10023 paying in the store, without an e-mail address.
* ``W-1005``: shipped: the case for an invoice of an existing order. Customer C10031.
* ``R-1001``: a refund of W-1001 (``kind: refund``, ``original_reference:
  W-1001``, status ``refunded``): one NZ2401-NAVY-M back, amounts positive.
"""

from __future__ import annotations

from datetime import UTC, datetime

from koppel.sandbox.record_api import RecordState, StoredRecord
from koppel.sandbox.webshop.orders import DEFAULT_CUSTOMER, ShopCharge, ShopLine, webshop_order

#: The demo records' references, in the order they were placed.
DEMO_REFERENCES = ("W-1001", "W-1002", "W-1003", "W-1004", "W-1005", "R-1001")

_VAN_DIJK = {
    "id": "cust-23",
    "name": "Modehuis Van Dijk",
    "email": "administratie@modehuisvandijk.nl",
    "erp_customer_number": "C10031",
}
_VAN_DIJK_ADDRESS = {
    "name": "Modehuis Van Dijk",
    "street": "Lange Elisabethstraat",
    "house_number": "9",
    "postal_code": "3511 JC",
    "city": "Utrecht",
    "country": "NL",
}
_SHIPPING = ShopCharge("shipping", "4.95", "21", "Verzending PostNL")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def demo_orders() -> list[StoredRecord]:
    """The demo orders, fresh objects each call (tests change them)."""
    return [
        webshop_order(
            "W-1001",
            lines=[
                ShopLine(
                    "NZ2401-NAVY-M", "Linnen T-shirt navy M", "2", "29.95", "21", "5.00", "WELKOM5"
                ),
                ShopLine("NZ2402-SAND-32", "Chino zand 32", "1", "59.95", "21"),
            ],
            charges=[_SHIPPING, ShopCharge("fee", "0.29", "21", "Transactiekosten iDEAL")],
            created_at=_at(23, 9, 12),
        ),
        webshop_order(
            "W-1002",
            lines=[
                ShopLine("NZ2401-NAVY-S", "Linnen T-shirt navy S", "1", "29.95", "21"),
                ShopLine("KOP-UNKNOWN-1", "Cadeaubon-verpakking", "1", "2.50", "21"),
            ],
            charges=[_SHIPPING],
            customer=_VAN_DIJK,
            shipping_address=_VAN_DIJK_ADDRESS,
            created_at=_at(23, 10, 5),
        ),
        webshop_order(
            "W-1003",
            lines=[
                ShopLine("NZ2401-NAVY-L", "Linnen T-shirt navy L (staal)", "3", "0.333", "21"),
                ShopLine("NZ2403-OKER-OS", "Sjaal oker (staal)", "3", "0.333", "9"),
                ShopLine("NZ2402-SAND-34", "Chino zand 34 (staal)", "1", "2.50", "21"),
            ],
            charges=[
                ShopCharge("discount", "1.00", "21", "Kortingscode STAAL"),
                ShopCharge("shipping", "4.50", "21", "Verzending brievenbuspakje"),
            ],
            created_at=_at(23, 11, 30),
        ),
        webshop_order(
            "W-1004",
            lines=[ShopLine("NZ2403-OKER-OS", "Sjaal oker", "1", "24.95", "21")],
            channel="pos",
            customer={**DEFAULT_CUSTOMER, "email": None},
            status="completed",
            prices_include_tax=True,
            shipping_address=None,
            payment_method="cash",
            created_at=_at(23, 14, 47),
        ),
        webshop_order(
            "W-1005",
            lines=[ShopLine("NZ2402-SAND-34", "Chino zand 34", "2", "59.95", "21")],
            charges=[_SHIPPING],
            status="shipped",
            customer=_VAN_DIJK,
            shipping_address=_VAN_DIJK_ADDRESS,
            created_at=_at(24, 8, 20),
        ),
        webshop_order(
            "R-1001",
            lines=[
                ShopLine(
                    "NZ2401-NAVY-M", "Linnen T-shirt navy M", "1", "29.95", "21", "2.50", "WELKOM5"
                ),
            ],
            kind="refund",
            original_reference="W-1001",
            status="refunded",
            created_at=_at(25, 16, 2),
        ),
    ]


def seed_demo(state: RecordState) -> None:
    """Add the demo orders (see the module docstring) to ``state``."""
    for order in demo_orders():
        state.add("orders", order)
