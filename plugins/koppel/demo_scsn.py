"""The SCSN half of the demo: customers' orders into the Isah ERP, every import check shown.

Imported only after the demo has set Airflow's environment. The ERP is a
SQLite file holding the stand-in's master data (:mod:`koppel.sandbox.isah`)
with three changes for the demo, so that every check can be seen failing:
the global default sales type is cleared, two customers get a sales type of
their own, and a fourth customer (Van Dijk Metaal) has none at all. One run
of ``scsn_techparts__orders`` imports a dozen order messages; then the demo
fixes Van Dijk's master data in the ERP and replays its rejected message,
which is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import DagBag
from sqlalchemy import Engine, func, select, update

from koppel.config import ConnectionConfig, file_endpoint
from koppel.documents import OrderResponse, Severity
from koppel.formats import default_registry
from koppel.hooks.isah_schema import DEFAULT_SALES_TYPE, customers, sales_orders
from koppel.inbox import describe, replay
from koppel.sandbox.isah import load_seed, seed, set_setting
from koppel.sandbox.scsn import OrderLineSpec, OrderSpec, order_message
from koppel.settings import connections_dir
from koppel.store import Direction, Message, MessageStatus, MessageStore

CONNECTION = "scsn_techparts"
VAN_DIJK = "C1003"
VAN_DIJK_SCSN_ID = "NL-SCSN-VANDIJK-04"


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


def run_scsn_demo(
    bag: DagBag,
    store: MessageStore,
    sftp_root: Path,
    connection: ConnectionConfig,
    *,
    erp: Engine,
    run: Callable[[Any], str],
) -> bool:
    """Drop the messages, run the flow once, show each outcome and answer; fix, replay, check."""
    flow = connection.flows["orders"]
    source = file_endpoint(flow.source, "source")
    reply = file_endpoint(flow.reply, "reply")
    inbound = sftp_root / source.folder.lstrip("/")
    demo = cases()
    for case in demo:
        temporary = inbound / f".{case.file}.part"
        temporary.write_bytes(order_message(case.spec))
        temporary.rename(inbound / case.file)
    dag_id = connection.dag_id("orders")
    state = run(bag.dags[dag_id])
    messages = store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)
    print(_summary(dag_id, state, messages))
    by_file = {m.source_name.rsplit("/", 1)[-1]: m for m in messages}
    ok = state == "failed"  # rejected messages fail the run, after every message was tried
    for case in demo:
        message = by_file[case.file]
        accepted = message.status is MessageStatus.DELIVERED
        ok &= accepted == case.accepted
        mark = "" if accepted == case.accepted else "  UNEXPECTED"
        print(f"  {case.file}: {case.what} -> {message.status.value}{mark}")
        for reason in _reasons(message):
            print(f"      {reason}")
    ok &= _list_responses(sftp_root / reply.folder.lstrip("/"), len(demo))

    print("  fixing Van Dijk Metaal in the ERP: sales type SCI-NL; replaying its order")
    with erp.begin() as conn:
        conn.execute(
            update(customers).where(customers.c.customer_id == VAN_DIJK).values(sales_type="SCI-NL")
        )
    flow_config, replayed = replay(store, by_file["vandijk_300.xml"].id, flows=connections_dir())
    for line in describe(flow_config, replayed):
        print(f"  {line}")
    ok &= replayed.after.status is MessageStatus.DELIVERED
    with erp.connect() as conn:
        imported = conn.execute(
            select(func.count())
            .select_from(sales_orders)
            .where(sales_orders.c.import_message.is_not(None))
        ).scalar_one()
    print(f"  customer orders in Isah written by Koppel (created or updated): {imported}")
    ok &= imported == sum(case.accepted for case in demo) + 1  # and Van Dijk's, replayed
    return ok


def _summary(dag_id: str, state: str, messages: list[Message]) -> str:
    delivered = sum(m.status is MessageStatus.DELIVERED for m in messages)
    rejected = sum(m.status is MessageStatus.REJECTED for m in messages)
    return f"{dag_id} {state} received={len(messages)} delivered={delivered} rejected={rejected}"


def _reasons(message: Message) -> Iterator[str]:
    """The message's errors and warnings, as the inbox shows them."""
    for problem in message.problems:
        if problem.severity is not Severity.INFO:
            yield f"{problem.severity.value} {problem.code}: {problem.message}"


def _list_responses(folder: Path, expected: int) -> bool:
    """Each order response the run wrote: its file, order and answer (valid UBL, read back)."""
    fmt = default_registry().get("scsn.order_response")
    files = sorted(folder.glob("*.xml"))
    print(f"  order responses in {folder.name}/: {len(files)}")
    ok = len(files) == expected
    for path in files:
        result = fmt.read(path.read_bytes(), source=path.name)
        if result.problems or not result.documents:
            print(f"    {path.name}: UNEXPECTED: {result.problems[:1]}")
            ok = False
            continue
        response = result.documents[0]
        assert isinstance(response, OrderResponse)
        print(f"    {path.name}: {response.order_id} {response.response.value}")
    return ok
