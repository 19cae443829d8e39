"""The stores half of the demo (seed 003): one internal order through all four flows.

Imported only after the demo has set Airflow's environment. A ``ubl_stores``
company has two stores, each a SQLite database seeded by
:mod:`koppel.sandbox.store_erp` (store A holds a posted purchase order to
store B). The demo runs the four flows in the order a real day would:
``purchase_orders`` sends the order as a UBL 2.0 internal order, ``orders``
books it in store B at store B's average purchase prices, store B delivers
less than ordered on one line, ``despatches`` sends the waybill with line
prices, and ``waybills`` updates store A's purchase order (the changed
quantity noted on its line) and receives it, or leaves it posted when the
company's waybills flow says ``do_not_receive``. Each step's result is
printed from the rows and files themselves, so what a reader sees is what
the stores hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from airflow.dag_processing.dagbag import DagBag
from sqlalchemy import Engine, RowMapping, select

from koppel.config import ConnectionConfig, file_endpoint
from koppel.documents import Order, Waybill
from koppel.formats import default_registry
from koppel.hooks.store_erp_schema import (
    purchase_order_lines,
    purchase_orders,
    sales_order_lines,
    sales_orders,
)
from koppel.sandbox.store_erp import deliver_sales_order
from koppel.store import Direction, MessageStatus, MessageStore

_T = TypeVar("_T")

#: Store B delivers this many of the first line, the rest in full: the seed's short delivery.
SHORT_FIRST_LINE = Decimal(8)


def run_stores_demo(
    bag: DagBag,
    store: MessageStore,
    sftp_root: Path,
    connection: ConnectionConfig,
    *,
    store_a: Engine,
    store_b: Engine,
    run: Callable[[Any], str],
) -> bool:
    """Run the company's four flows on store A's posted order; print and check each step.

    Args:
        bag: The demo's DAGs.
        store: Koppel's message store, for each run's counts.
        sftp_root: The SFTP server's root folder.
        connection: A ``ubl_stores`` connection whose databases are ``store_a``/``store_b``.
        store_a: The ordering store's database (a posted purchase order to store B).
        store_b: The delivering store's database.
        run: Runs one DAG and returns its state.

    Returns:
        Whether every step ended as designed.
    """
    demo = _Company(bag, store, sftp_root, connection, run)
    name_a, name_b = f"{connection.name} store A", f"{connection.name} store B"
    do_not_receive = bool(connection.flows["waybills"].options.get("do_not_receive"))

    ok = demo.run("purchase_orders") == "success"
    files = demo.files("purchase_orders", "target")
    ok &= len(files) == 1
    order = _read(files[0], "ubl.order", Order) if files else None
    ok &= order is not None and order.version_id == "2.0" and order.order_type_code == "UBL2.0SIS"
    if order is not None:
        print(
            f"  {name_a}'s purchase order {order.order_id} -> {files[0].name}: "
            f"UBL {order.version_id}, OrderTypeCode {order.order_type_code}"
        )
    if order is None:
        return _unexpected("no order file was written")

    ok &= demo.run("orders") == "success"
    sales_order = _sales_order(store_b, order.order_id)
    if sales_order is None:
        return _unexpected(f"no sales order in {name_b} for order {order.order_id}")
    head, lines = sales_order
    print(
        f"  {name_b}'s internal sales order {head['order_number']} "
        f"(customer {head['customer_id']}, internal={head['internal']}):"
    )
    for line in lines:
        print(
            f"    {line['product_code']} {plain(line['quantity'])} x {plain(line['sales_price'])}"
            f"  price source {line['price_source']}"
        )
    ok &= bool(head["internal"]) and [line["price_source"] for line in lines] == [
        "average_purchase_price",
        "purchase_price",
        "message",
    ]

    delivered = {
        line["line_number"]: (SHORT_FIRST_LINE if number == 0 else line["quantity"])
        for number, line in enumerate(lines)
    }
    deliver_sales_order(store_b, head["order_number"], delivered)
    first = lines[0]
    print(
        f"  {name_b} delivers {plain(SHORT_FIRST_LINE)} of {plain(first['quantity'])} "
        f"{first['product_code']}, the other lines in full"
    )
    ok &= demo.run("despatches") == "success"
    files = demo.files("despatches", "target")
    ok &= len(files) == 1
    waybill = _read(files[0], "ubl.despatch_advice", Waybill) if files else None
    if waybill is None:
        return _unexpected("no valid waybill was written")
    prices = ", ".join(
        f"{line.supplier_article_code or line.sku} {plain(line.quantity)} x "
        f"{plain(line.purchase_price) if line.purchase_price is not None else '-'}"
        for line in waybill.lines
    )
    print(f"  waybill {files[0].name}: {prices}")
    ok &= all(line.purchase_price is not None for line in waybill.lines)

    ok &= demo.run("waybills") == "success"
    updated, po_lines = _purchase_order(store_a, int(order.order_id))
    kept = " (do_not_receive: updated, not received)" if do_not_receive else ""
    print(f"  {name_a}'s purchase order {order.order_id}: {updated['status']}{kept}")
    for line in po_lines:
        text = f'  "{line["text"]}"' if line["text"] else ""
        print(
            f"    {line['product_code']} {plain(line['quantity'])} x "
            f"{plain(line['purchase_price'])}{text}"
        )
    ok &= bool(updated["status"] == ("posted" if do_not_receive else "received"))
    ok &= bool(po_lines[0]["quantity"] == SHORT_FIRST_LINE)
    ok &= bool(po_lines[0]["text"]) and str(po_lines[0]["text"]).endswith(plain(first["quantity"]))
    if not ok:
        print("  UNEXPECTED: the internal order did not end as designed (see the task log)")
    return ok


class _Company:
    """One company's connection, its SFTP folders and its DAG runs."""

    def __init__(
        self,
        bag: DagBag,
        store_messages: MessageStore,
        sftp_root: Path,
        connection: ConnectionConfig,
        run: Callable[[Any], str],
    ) -> None:
        self.bag = bag
        self.store_messages = store_messages
        self.sftp_root = sftp_root
        self.connection = connection
        self._run = run

    def run(self, flow: str) -> str:
        """Run the flow's DAG and print its summary line; return its state."""
        dag_id = self.connection.dag_id(flow)
        state = self._run(self.bag.dags[dag_id])
        messages = self.store_messages.find(
            connection_id=self.connection.id, flow=flow, direction=Direction.IN
        )
        delivered = sum(m.status is MessageStatus.DELIVERED for m in messages)
        rejected = sum(m.status is MessageStatus.REJECTED for m in messages)
        print(
            f"{dag_id} {state} received={len(messages)} delivered={delivered} rejected={rejected}"
        )
        return state

    def files(self, flow: str, role: str) -> list[Path]:
        """The XML files in the folder of the flow's ``role`` end."""
        end = file_endpoint(dict(self.connection.flows[flow].endpoints())[role], role)
        return sorted((self.sftp_root / end.folder.lstrip("/")).glob("*.xml"))


def _read(path: Path, format_name: str, kind: type[_T]) -> _T | None:
    """The file's one document, read back by its format (XSD-valid), else None, said why."""
    result = default_registry().get(format_name).read(path.read_bytes(), source=path.name)
    errors = [p for p in result.problems if p.severity == "error"]
    if errors or len(result.documents) != 1 or not isinstance(result.documents[0], kind):
        print(f"  UNEXPECTED: {path.name}: {errors[:1] or 'not one document'}")
        return None
    return result.documents[0]


def _sales_order(engine: Engine, reference: str) -> tuple[RowMapping, Sequence[RowMapping]] | None:
    with engine.connect() as conn:
        head = (
            conn.execute(
                select(sales_orders).where(
                    sales_orders.c.order_reference == reference, sales_orders.c.internal
                )
            )
            .mappings()
            .first()
        )
        if head is None:
            return None
        lines = (
            conn.execute(
                select(sales_order_lines)
                .where(sales_order_lines.c.order_number == head["order_number"])
                .order_by(sales_order_lines.c.line_number)
            )
            .mappings()
            .all()
        )
    return head, lines


def _purchase_order(engine: Engine, number: int) -> tuple[RowMapping, Sequence[RowMapping]]:
    with engine.connect() as conn:
        head = (
            conn.execute(select(purchase_orders).where(purchase_orders.c.order_number == number))
            .mappings()
            .one()
        )
        lines = (
            conn.execute(
                select(purchase_order_lines)
                .where(purchase_order_lines.c.order_number == number)
                .order_by(purchase_order_lines.c.line_number)
            )
            .mappings()
            .all()
        )
    return head, lines


def plain(value: object) -> str:
    """A quantity or price as people write it: ``8``, ``3.72``."""
    number = Decimal(str(value))
    text = f"{number.normalize():f}"
    if "." in text and len(text.split(".")[1]) == 1:
        text += "0"
    return text


def _unexpected(problem: str) -> bool:
    print(f"  UNEXPECTED: {problem}")
    return False
