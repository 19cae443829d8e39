"""``lookups.database_rows``: a case puts the order or delivery its message answers into a store."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from koppel import INCLUDE_DIR
from koppel.contract import Case, discover, run_case
from koppel.contract.lookups import add_store_rows
from koppel.contract.spec import CaseFileError
from koppel.hooks.store_erp_schema import purchase_order_lines, purchase_orders
from koppel.sandbox.store_erp import seed
from koppel.sandbox.store_erp.database import create_store_database

CONNECTIONS = INCLUDE_DIR / "connections"
#: The waybill store B sends for store A's purchase order 1 (8 of 10 coffees, at 3.72).
WAYBILL = (
    CONNECTIONS / "_ubl_stores.cases/waybills/short_waybill_updates_and_receives_purchase_order"
) / "input.xml"
#: A received purchase order of store A, as case.yaml gives it (YAML reads 3.72 as a float).
RECEIVED_ORDER = """
    purchase_orders:
      - supplier_id: TRE
        status: received
        lines:
          - {line_number: 1, product_code: KAHVI-500, quantity: 10, purchase_price: 3.72}
"""


def waybill_case(tmp_path: Path, case_yaml: str, order_id: str = "1") -> Case:
    for name in ("_ubl_stores.yaml", "ubl_nordkauppa.yaml"):
        shutil.copy(CONNECTIONS / name, tmp_path / name)
    folder = tmp_path / "ubl_nordkauppa.cases/waybills/case"
    folder.mkdir(parents=True)
    waybill = WAYBILL.read_text(encoding="utf-8").replace(
        "<cac:OrderReference>\n    <cbc:ID>1</cbc:ID>",
        f"<cac:OrderReference>\n    <cbc:ID>{order_id}</cbc:ID>",
    )
    (folder / "input.xml").write_text(waybill, encoding="utf-8")
    (folder / "case.yaml").write_text(case_yaml, encoding="utf-8")
    (case,) = discover(tmp_path, ["ubl_nordkauppa"], flow="waybills").cases
    return case


def test_a_waybill_answers_the_purchase_order_the_case_put_into_the_store(
    tmp_path: Path,
) -> None:
    # Store A's seed holds purchase order 1 (posted); the case's order is numbered 2 after it.
    case = waybill_case(
        tmp_path, f"lookups:\n  database: store_a\n  database_rows:{RECEIVED_ORDER}", order_id="2"
    )

    outcome = run_case(case)

    assert outcome.error is None, outcome.error
    assert outcome.status == "rejected"
    assert [p.code for p in outcome.problems] == ["waybills.receipt.already_received"]
    assert "purchase order 2 is received already" in outcome.problems[0].message


def test_the_seeded_order_is_still_there_beside_the_case_s_rows(tmp_path: Path) -> None:
    case = waybill_case(
        tmp_path, f"lookups:\n  database: store_a\n  database_rows:{RECEIVED_ORDER}", order_id="1"
    )

    outcome = run_case(case)

    assert outcome.error is None, outcome.error
    assert outcome.status == "delivered"
    (receipt,) = outcome.outputs
    assert receipt.name == "purchase_orders/1"


def test_rows_go_in_as_written_numbered_by_the_database(tmp_path: Path) -> None:
    engine = create_store_database(f"sqlite:///{tmp_path / 'a.sqlite'}", seed.STORE_A_SEED)
    try:
        add_store_rows(
            engine,
            {
                "purchase_orders": [
                    {
                        "supplier_id": "TRE",
                        "status": "posted",
                        "lines": [
                            {
                                "line_number": 1,
                                "product_code": "KAHVI-500",
                                "quantity": 10,
                                "purchase_price": 4.1,
                            }
                        ],
                    }
                ]
            },
        )
        with engine.connect() as conn:
            numbers = list(
                conn.execute(
                    select(purchase_orders.c.order_number).order_by(purchase_orders.c.order_number)
                ).scalars()
            )
            price = conn.execute(
                select(purchase_order_lines.c.purchase_price).where(
                    purchase_order_lines.c.order_number == 2
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert numbers == [1, 2]
    assert price == Decimal("4.1")


@pytest.mark.parametrize(
    ("lookups", "message"),
    [
        (
            "{database_rows: {purchase_orders: []}}",
            "lookups.database_rows: rows go into a store database",
        ),
        (
            "{database: isah, database_rows: {sales_orders: []}}",
            "lookups.database_rows: rows go into a store database",
        ),
        (
            "{database: store_a, database_rows: {invoices: [{x: 1}]}}",
            "lookups.database_rows.invoices: the store database has no such table",
        ),
        (
            "{database: store_a, database_rows: {purchase_order_lines: [{line_number: 1}]}}",
            "lookups.database_rows.purchase_order_lines: give these rows under `lines` of "
            "their purchase_orders row",
        ),
        (
            "{database: store_a, database_rows: {purchase_orders: [{supplier_id: TRE, x: 1}]}}",
            "lookups.database_rows: the database refuses them",
        ),
        (
            "{database: store_a, database_rows: {purchase_orders: [{status: posted}]}}",
            "lookups.database_rows: the database refuses them",
        ),
    ],
)
def test_rows_the_store_cannot_take_fail_the_case_naming_the_key(
    tmp_path: Path, lookups: str, message: str
) -> None:
    outcome = run_case(waybill_case(tmp_path, f"lookups: {lookups}\n"))

    assert outcome.error is not None
    assert message in outcome.error


def test_add_store_rows_refuses_an_unknown_table(tmp_path: Path) -> None:
    engine = create_store_database(f"sqlite:///{tmp_path / 'b.sqlite'}", seed.STORE_B_SEED)
    try:
        with pytest.raises(CaseFileError, match=r"no such table \(tables: customers, deliveries"):
            add_store_rows(engine, {"invoices": []})
    finally:
        engine.dispose()
