"""A stateful webshop API on 127.0.0.1: orders (sales and refunds) Koppel reads for the ERP.

The contract is the project's (``include/schemas/webshop/``, issue 12); the
emulator follows Le New Black's conventions through the shared
:mod:`koppel.sandbox.record_api`, and computes each order's totals itself,
tax per line and per charge, as many webshops do.

Modules: ``orders`` (the builder), ``seed`` (the demo orders), ``contract``
(the JSON Schemas) and ``server`` (HTTP).
"""

from __future__ import annotations

from koppel.sandbox.webshop.contract import SCHEMA_DIR, schema_validators
from koppel.sandbox.webshop.orders import (
    CHARGE_KINDS,
    ORDER_STATUSES,
    ShopCharge,
    ShopLine,
    webshop_order,
)
from koppel.sandbox.webshop.seed import DEMO_REFERENCES, demo_orders
from koppel.sandbox.webshop.server import ORDERS, WebshopServer, WebshopState

__all__ = [
    "CHARGE_KINDS",
    "DEMO_REFERENCES",
    "ORDERS",
    "ORDER_STATUSES",
    "SCHEMA_DIR",
    "ShopCharge",
    "ShopLine",
    "WebshopServer",
    "WebshopState",
    "demo_orders",
    "schema_validators",
    "webshop_order",
]
