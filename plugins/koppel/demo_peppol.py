"""The Peppol half of the demo: buyers' orders answered the Peppol way, a delivery sent back.

Imported only after the demo has set Airflow's environment. The supplier's
ERP is a SQLite file seeded with :data:`koppel.sandbox.store_erp.PEPPOL_SUPPLIER_SEED`.
Three buyers' orders (T01) arrive from the access point: one the supplier
takes as sent, one at a price it does not sell at (accepted with changes),
one for an item it does not have (rejected). One run of the ``orders`` flow
answers each with an order response (T76); the rejection fails the run, as
designed, after every order was tried. The supplier then delivers the first
order short and the ``despatches`` flow sends a despatch advice (T16).

Every Peppol document is checked against the official BIS 3 rules, which
live outside the project (setting ``KOPPEL_PEPPOL_RULES_DIR``). Without them
this part says so in one line and is skipped; the rest of the demo runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import DagBag
from sqlalchemy import Engine, select

from koppel.config import ConnectionConfig, file_endpoint
from koppel.demo_stores import plain
from koppel.documents import OrderResponse, ResponseCode, Severity, Waybill
from koppel.errors import ConfigError
from koppel.formats import default_registry
from koppel.formats.xml import parse_xml
from koppel.hooks.store_erp_schema import sales_order_lines, sales_orders
from koppel.sandbox.partner_files import drop_file
from koppel.sandbox.peppol import PeppolLine, PeppolOrderSpec, peppol_order_message
from koppel.sandbox.store_erp import deliver_sales_order
from koppel.settings import peppol_rules_dir
from koppel.store import Direction, Message, MessageStatus, MessageStore

BREAD = PeppolLine("Ruisleipä 750 g", Decimal(20), Decimal("2.80"), gtin="6412345200016")
BUTTER = PeppolLine("Voi 500 g", Decimal(10), Decimal("4.90"), seller_item_id="VOI-500")
#: Butter at a price the supplier does not sell at (its price list says 4.90).
CHEAP_BUTTER = PeppolLine("Voi 500 g", Decimal(10), Decimal("4.50"), seller_item_id="VOI-500")
#: Mustard, which the supplier does not have.
MUSTARD = PeppolLine("Sinappi 300 g", Decimal(6), Decimal("2.10"), gtin="6412345299997")
#: The first order's delivery: sales-order line -> quantity (2 butters short).
DELIVERY = {1: Decimal(20), 2: Decimal(8)}


@dataclass(frozen=True)
class _Case:
    file: str
    spec: PeppolOrderSpec
    what: str
    code: str
    """The order response's UNCL 4343 code the supplier must answer with."""


CASES = (
    _Case("order_1001.xml", PeppolOrderSpec("PO-1001", [BREAD, BUTTER]), "as sold", "AP"),
    _Case(
        "order_1002.xml",
        PeppolOrderSpec("PO-1002", [BREAD, CHEAP_BUTTER]),
        "butter at 4.50, sold at 4.90",
        "CA",
    ),
    _Case(
        "order_1003.xml",
        PeppolOrderSpec("PO-1003", [BREAD, MUSTARD]),
        "an item the supplier does not have",
        "RE",
    ),
)


def run_peppol_demo(
    bag: DagBag,
    store: MessageStore,
    sftp_root: Path,
    connection: ConnectionConfig,
    *,
    erp: Engine,
    run: Callable[[Any], str],
) -> bool:
    """Drop three orders, run both flows, show each answer and the despatch advice.

    Args:
        bag: The demo's DAGs.
        store: Koppel's message store.
        sftp_root: The SFTP server's root folder.
        connection: A ``peppol_supplier`` connection whose ERP is ``erp``.
        erp: The supplier's ERP database.
        run: Runs one DAG and returns its state.

    Returns:
        Whether everything ended as designed; True when skipped for want of the rules.
    """
    try:
        peppol_rules_dir()
    except ConfigError as exc:
        print(f"{connection.id}: skipped (its documents need the Peppol BIS 3 rules): {exc}")
        return True
    orders = dict(connection.flows["orders"].endpoints())
    source = file_endpoint(orders["source"], "source")
    reply = file_endpoint(orders["reply"], "reply")
    for case in CASES:
        drop_file(_local(sftp_root, source.folder), case.file, peppol_order_message(case.spec))

    dag_id = connection.dag_id("orders")
    state = run(bag.dags[dag_id])
    messages = _messages(store, connection, "orders")
    print(_summary(dag_id, state, messages))
    ok = state == "failed"  # the rejected order fails the run, after every order was answered
    answers = _responses(_local(sftp_root, reply.folder))
    by_file = {m.source_name.rsplit("/", 1)[-1]: m for m in messages}
    error_folder = _local(sftp_root, source.error_folder)
    for case in CASES:
        message = by_file.get(case.file)
        status = message.status.value if message else "not received"
        code, response = answers.get(case.spec.order_id, ("none", None))
        expected_status = MessageStatus.REJECTED if case.code == "RE" else MessageStatus.DELIVERED
        good = message is not None and message.status is expected_status and code == case.code
        where = (
            f", file in {Path(source.error_folder).name}/"
            if (error_folder / case.file).exists()
            else ""
        )
        mark = "" if good else "  UNEXPECTED"
        print(
            f"  {case.file} ({case.spec.order_id}, {case.what}) -> {status}, "
            f"answered {code}{where}{mark}"
        )
        ok &= good
        for detail in _details(response, message):
            print(f"      {detail}")
    ok &= len(answers) == len(CASES)
    print(f"  order responses in {Path(reply.folder).name}/: {len(answers)}, each passing T76")
    ok &= sorted(p.name for p in error_folder.glob("*.xml")) == ["order_1003.xml"]

    ok &= _deliver_and_send(bag, store, sftp_root, connection, erp=erp, run=run)
    return ok


def _deliver_and_send(
    bag: DagBag,
    store: MessageStore,
    sftp_root: Path,
    connection: ConnectionConfig,
    *,
    erp: Engine,
    run: Callable[[Any], str],
) -> bool:
    """Deliver the first order short, run ``despatches``, show the T16 advice it wrote."""
    order_id = CASES[0].spec.order_id
    with erp.connect() as conn:
        number = conn.execute(
            select(sales_orders.c.order_number).where(sales_orders.c.order_reference == order_id)
        ).scalar_one_or_none()
        codes = dict(
            conn.execute(
                select(sales_order_lines.c.line_number, sales_order_lines.c.product_code).where(
                    sales_order_lines.c.order_number == number
                )
            ).all()
        )
    if number is None:
        print(f"  UNEXPECTED: no sales order for {order_id} in the ERP")
        return False
    delivered = ", ".join(f"{plain(qty)} {codes.get(line, '?')}" for line, qty in DELIVERY.items())
    print(f"  {connection.name} delivers sales order {number} ({order_id}): {delivered}")
    deliver_sales_order(erp, number, DELIVERY)
    dag_id = connection.dag_id("despatches")
    state = run(bag.dags[dag_id])
    print(_summary(dag_id, state, _messages(store, connection, "despatches")))
    target = file_endpoint(connection.flows["despatches"].target, "target")
    files = sorted(_local(sftp_root, target.folder).glob("*.xml"))
    ok = state == "success" and len(files) == 1
    fmt = default_registry().get("peppol.despatch_advice")
    for path in files:
        result = fmt.read(path.read_bytes(), source=path.name)
        errors = [p for p in result.problems if p.severity == "error"]
        advice = result.documents[0] if result.documents else None
        if errors or not isinstance(advice, Waybill):
            print(f"  UNEXPECTED: {path.name}: {errors[:1]}")
            ok = False
            continue
        lines = ", ".join(
            f"{line.supplier_article_code or line.gtin} {plain(line.quantity)}"
            + (
                f" ({plain(line.outstanding_quantity)} to follow)"
                if line.outstanding_quantity
                else ""
            )
            for line in advice.lines
        )
        print(f"  despatch advice {path.name} (passes T16): order {advice.order_id}: {lines}")
        ok &= advice.order_id == order_id
    return ok


def _messages(store: MessageStore, connection: ConnectionConfig, flow: str) -> list[Message]:
    return store.find(connection_id=connection.id, flow=flow, direction=Direction.IN)


def _summary(dag_id: str, state: str, messages: list[Message]) -> str:
    delivered = sum(m.status is MessageStatus.DELIVERED for m in messages)
    rejected = sum(m.status is MessageStatus.REJECTED for m in messages)
    return f"{dag_id} {state} received={len(messages)} delivered={delivered} rejected={rejected}"


def _responses(folder: Path) -> dict[str, tuple[str, OrderResponse]]:
    """Each order response written: order id -> (its wire code, the response), read back.

    The ``peppol.order_response`` format reads it against the XSD and T76;
    the code is taken from the document as the buyer gets it (UNCL 4343).
    """
    fmt = default_registry().get("peppol.order_response")
    found: dict[str, tuple[str, OrderResponse]] = {}
    for path in sorted(folder.glob("*.xml")):
        data = path.read_bytes()
        result = fmt.read(data, source=path.name)
        errors = [p for p in result.problems if p.severity == "error"]
        response = result.documents[0] if result.documents else None
        if errors or not isinstance(response, OrderResponse):
            print(f"  UNEXPECTED: {path.name}: {errors[:1]}")
            continue
        code = parse_xml(data, source=path.name).findtext("{*}OrderResponseCode") or "?"
        found[response.order_id] = (code.strip(), response)
    return found


def _details(response: OrderResponse | None, message: Message | None) -> list[str]:
    """What the buyer is told: a changed line's price, or the reason of a rejection."""
    details: list[str] = []
    if response is not None:
        for line in response.lines:
            if line.unit_price is not None and line.response is ResponseCode.ACCEPTED_WITH_CHANGES:
                details.append(f"line {line.line_id}: price changed to {plain(line.unit_price)}")
    if message is not None and message.status is MessageStatus.REJECTED:
        details += [
            f"{p.severity.value} {p.code}: {p.message}"
            for p in message.problems
            if p.severity is Severity.ERROR
        ]
    return details[:3]


def _local(sftp_root: Path, remote_folder: str) -> Path:
    return sftp_root / remote_folder.lstrip("/")
