"""The SCSN orders of ``make demo`` and the ERP master data they are checked against.

The stand-in Isah database (:mod:`koppel.sandbox.isah`) with three changes, so
that every import check of seed 002 can be seen failing: the global default
sales type is cleared, two customers get a sales type of their own, and a
fourth customer (Van Dijk Metaal) has none at all. :func:`cases` is a dozen
order messages, one for every outcome. ``make demo``, ``make airflow`` and
the compose sandbox use both; nothing here imports Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from koppel.hooks.isah_schema import DEFAULT_SALES_TYPE, customers
from koppel.sandbox.isah import create_erp_database, load_seed, seed, set_setting
from koppel.sandbox.isah.seed import DEMO_SEED
from koppel.sandbox.scsn import OrderLineSpec, OrderSpec

VAN_DIJK = "C1003"
VAN_DIJK_SCSN_ID = "NL-SCSN-VANDIJK-04"


def create_demo_erp(url: str) -> Engine:
    """The demo's ERP database at ``url``, created and seeded when it is new, else kept as it is.

    A restarted sandbox keeps what the ERP holds (orders imported, master
    data fixed by hand) instead of seeding it twice.
    """
    erp = create_erp_database(url, seed=None)
    with erp.connect() as conn:
        if conn.execute(select(customers.c.customer_id).limit(1)).first() is not None:
            return erp
    load_seed(erp, DEMO_SEED)
    prepare_erp(erp)
    return erp


def prepare_erp(erp: Engine) -> None:
    """The stand-in's master data, changed so that a missing sales type can happen."""
    set_setting(erp, DEFAULT_SALES_TYPE, None)
    with erp.begin() as conn:
        for customer, sales_type in (
            (seed.HOLLANDSE_PRECISIE, "SCI-NL"),
            (seed.NORDIC_DRIVES, "SCI-EXPORT"),
        ):
            conn.execute(
                update(customers)
                .where(customers.c.customer_id == customer)
                .values(sales_type=sales_type)
            )
    load_seed(
        erp,
        {
            "customers": [
                {
                    "customer_id": VAN_DIJK,
                    "name": "Van Dijk Metaal B.V.",
                    "scsn_id": VAN_DIJK_SCSN_ID,
                    "sales_type": None,
                    "accept_deviating_prices": False,
                    "credit_check": False,
                    "credit_limit": None,
                    "credit_include_quotes": False,
                    "credit_include_orders": False,
                    "currency": "EUR",
                    "price_list_id": "STANDARD-EUR",
                    "discount_percentage": None,
                }
            ]
        },
    )


@dataclass(frozen=True)
class Case:
    """One order message of the demo and what must become of it."""

    file: str
    what: str
    spec: OrderSpec
    accepted: bool


def _bakker(order_id: str, *lines: OrderLineSpec, order_type: str | None = "New") -> OrderSpec:
    return OrderSpec(
        order_id, seed.BAKKER_SCSN_ID, "Bakker Machinebouw B.V.", lines, order_type=order_type
    )


def _shaft(quantity: int = 12, **changes: Any) -> OrderLineSpec:
    """Bakker's drive shaft at its customer price from 10 pieces: 39.90 less 2.5 %."""
    values: dict[str, Any] = {
        "supplier_code": "SHAFT-100",
        "supplier_revision": "B",
        "customer_code": "BK-4711",
        "customer_revision": "B",
        "price": Decimal("39.90"),
        "discount_percentage": Decimal("2.5"),
    }
    return OrderLineSpec("10", Decimal(quantity), **(values | changes))


def cases() -> list[Case]:
    """A message for every outcome of the import checks (seed 002)."""
    flange = OrderLineSpec(
        "10",
        Decimal(40),
        customer_code="BK-4712",
        customer_revision="01",
        price=Decimal("18.40"),
        discount_percentage=Decimal(5),
    )
    return [
        Case("bakker_1001.xml", "accepted", _bakker("PO-2026-1001", _shaft()), True),
        Case(
            "bakker_1002.xml",
            "accepted with a revision warning (no revision stored for BK-4712)",
            _bakker("PO-2026-1002", flange),
            True,
        ),
        Case(
            "hpt_5001.xml",
            "accepted with a deviating price",
            OrderSpec(
                "HPT-5001",
                seed.HOLLANDSE_PRECISIE_SCSN_ID,
                "Hollandse Precisie Techniek B.V.",
                [OrderLineSpec("1", Decimal(2), customer_code="HPT-9001", price=Decimal(295))],
            ),
            True,
        ),
        Case(
            "bakker_0816.xml",
            "'New' message for the unconfirmed order: updates it",
            _bakker(seed.UNCONFIRMED_ORDER, _shaft(15)),
            True,
        ),
        Case(
            "bakker_1003.xml",
            "rejected: unknown article",
            _bakker("PO-2026-1003", _shaft(customer_code=None, supplier_code="SHAFT-999")),
            False,
        ),
        Case(
            "bakker_1004.xml",
            "rejected: another customer's article",
            _bakker(
                "PO-2026-1004",
                OrderLineSpec(
                    "10",
                    Decimal(1),
                    supplier_code="HOUSING-HPT",
                    supplier_revision="2",
                    price=Decimal(310),
                ),
            ),
            False,
        ),
        Case(
            "bakker_1005.xml",
            "rejected: unreleased revision",
            _bakker("PO-2026-1005", _shaft(supplier_revision="C", customer_revision=None)),
            False,
        ),
        Case(
            "bakker_1006.xml",
            "rejected: price does not match the price list",
            _bakker("PO-2026-1006", replace(flange, price=Decimal("19.95"))),
            False,
        ),
        Case(
            "nordic_91.xml",
            "rejected: credit limit",
            OrderSpec(
                "ND-PO-91",
                seed.NORDIC_DRIVES_SCSN_ID,
                "Nordic Drives AB",
                [OrderLineSpec("1", Decimal(100), customer_code="ND-300", price=Decimal("9.25"))],
                currency="USD",
            ),
            False,
        ),
        Case(
            "vandijk_300.xml",
            "rejected: no sales type (fixed below, then replayed)",
            OrderSpec(
                "VD-300",
                VAN_DIJK_SCSN_ID,
                "Van Dijk Metaal B.V.",
                [OrderLineSpec("1", Decimal(50), supplier_code="BRKT-300", price=Decimal("8.50"))],
            ),
            False,
        ),
        Case(
            "bakker_0815.xml",
            "rejected: duplicate of a confirmed order",
            _bakker(seed.CONFIRMED_ORDER, _shaft()),
            False,
        ),
        Case(
            "anonymous_1.xml",
            "rejected: not SCSN-conformant (buyer without SCSN id)",
            OrderSpec("X-1", None, "Unknown buyer", [_shaft()]),
            False,
        ),
    ]
