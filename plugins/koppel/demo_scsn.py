"""The SCSN half of the demo: customers' orders into the Isah ERP, every import check shown.

Imported only after the demo has set Airflow's environment. The ERP is a
SQLite file holding the demo's master data and the orders are a dozen
messages, one for every outcome of the checks (:mod:`koppel.sandbox.scsn_demo`).
One run of ``scsn_techparts__orders`` imports them; then the demo fixes Van
Dijk's master data in the ERP and replays its rejected message, which is
accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import DagBag
from sqlalchemy import Engine, func, select, update

from koppel.config import ConnectionConfig, file_endpoint
from koppel.documents import OrderResponse, Severity
from koppel.formats import default_registry
from koppel.hooks.isah_schema import customers, sales_orders
from koppel.inbox import describe, replay
from koppel.sandbox.partner_files import drop_file
from koppel.sandbox.scsn import order_message
from koppel.sandbox.scsn_demo import VAN_DIJK, cases
from koppel.settings import connections_dir
from koppel.store import Direction, Message, MessageStatus, MessageStore


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
        drop_file(inbound, case.file, order_message(case.spec))
    dag_id = connection.dag_id("orders")
    state = run(bag.dags[dag_id])
    messages = store.find(connection_id=connection.id, flow="orders", direction=Direction.IN)
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
