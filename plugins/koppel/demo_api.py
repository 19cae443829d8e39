"""The IPSoft <-> Le New Black half of the demo: both systems emulated, every flow run once.

Imported only after the demo has set Airflow's environment. IPSoft holds a
catalogue with articles that may not be exported (no SKU, no or a wrong
EAN13) and a price in a list the portal does not have; the portal holds
orders, two of them from customers without a valid IPSoft reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from airflow.dag_processing.dagbag import DagBag

from koppel.documents import Severity
from koppel.sandbox.ipsoft import IPSoftServer
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.store import Direction, Message, MessageStatus, MessageStore

CONNECTION = "ipsoft_noordzee"


@dataclass(frozen=True)
class Expected:
    """What one API flow's run must leave behind."""

    flow: str
    state: str
    rejected: int = 0
    held: int = 0


EXPECTED = (
    Expected("customers", "success"),
    Expected("products", "success"),
    Expected("prices", "failed", rejected=1),  # the OUTLET-EUR price: the portal has no such list
    Expected("stock", "success"),
    Expected("orders", "success", held=2),  # Studio Noor (no reference), Het Kledinghuis ("12345")
)


def run_api_demo(
    bag: DagBag,
    store: MessageStore,
    ipsoft: IPSoftServer,
    portal: LeNewBlackServer,
    run: Callable[[Any], str],
) -> bool:
    """Run each flow, print its line and what was held back or refused and why; check it."""
    ok = True
    for expected in EXPECTED:
        dag_id = f"{CONNECTION}__{expected.flow}"
        state = run(bag.dags[dag_id])
        inbound = store.find(connection_id=CONNECTION, flow=expected.flow, direction=Direction.IN)
        outbound = store.find(
            connection_id=CONNECTION,
            flow=expected.flow,
            direction=Direction.OUT,
            statuses=[MessageStatus.DELIVERED],
        )
        rejected = sum(m.status is MessageStatus.REJECTED for m in inbound)
        held = sum(m.status is MessageStatus.HELD for m in inbound)
        print(
            f"{dag_id} {state} received={len(inbound)} delivered={len(outbound)} "
            f"rejected={rejected}"
        )
        for line in _why(inbound):
            print(f"  {line}")
        if (state, rejected, held) != (expected.state, expected.rejected, expected.held):
            print(f"  UNEXPECTED: {state}, {rejected} rejected, {held} held; expected {expected}")
            ok = False
    exported = sorted(
        ref for ref, order in portal.state.orders.items() if order.status == "exported"
    )
    print(
        f"  in IPSoft now: {', '.join(sorted(ipsoft.state.orders))}; marked exported in the "
        f"portal: {', '.join(exported)}"
    )
    return ok and exported == sorted(ipsoft.state.orders)


def _why(messages: list[Message]) -> Iterator[str]:
    """Every warning and error of the run's messages: what was held back or refused, and why."""
    for message in messages:
        for problem in message.problems:
            if (
                problem.severity is not Severity.INFO
                and problem.code != "delivery.already_exported"
            ):
                label = "held" if message.status is MessageStatus.HELD else problem.severity.value
            yield f"{label}: {problem.message}"
