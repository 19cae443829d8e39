"""P1: the order engine, one IT's Perfect order in, one Monta order out, against bare lxml.

Koppel (per order file, as a DAG run of ``itsperfect_acme__orders`` does it):

1. ``itsperfect.order`` read: the hardened parse (byte limit, encoding check,
   DOCTYPE refusal, no entities or network, libxml2's size limits), XSD
   validation and the mapping into the canonical :class:`~koppel.documents.Order`;
2. the flow's rules (``stock_allocation`` with ``backorder_handling`` on, as the
   acme example merchant has it) with the stock known, so every line is judged
   against it; the master data is an in-memory stand-in, because the store's
   round trips are P2's business and this bench measures the engine;
3. per order to send: the delivery context, the ``monta.order`` write (map,
   serialize) and the check of the written bytes against the Monta XSD, as
   ``koppel.pipeline.process`` calls them; then the rule's deferred commits
   (the reservations, in memory).

Floor (the irreducible part of the same work, bare lxml on the same files):
parse the input file with one reused ``XMLParser(resolve_entities=False,
no_network=True)``, validate it with the IT's Perfect XSD, then validate the
Monta output of that order with the Monta XSD and serialize it with
``etree.tostring(..., xml_declaration=True, encoding="UTF-8")``. The output
trees are Koppel's own output for each order, parsed once before timing.

The SCSN check path (issue 10: an SCSN order checked against the ERP's
master data, the sales order and the order response written) is measured
the same way by :mod:`bench.p1_scsn` and reported under ``extra``, as are the
UBL and Peppol order paths of issue 11 (:mod:`bench.p1_ubl`).

Each repeat times one Koppel pass and one floor pass over every file, back to
back; the figures are the medians, in milliseconds per order. One more pass
splits Koppel's time into read, rules and write (``extra``). Both sides are
CPU-bound in this one process, so they are timed in process CPU time, which
other work on the shared cores disturbs less than the wall clock.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree
from sqlalchemy import Connection

from bench import p1_scsn as scsn_path
from bench import p1_ubl as ubl_paths
from bench.common import REPEATS, BenchResult, emit, full_size
from koppel import INCLUDE_DIR
from koppel.config import ConnectionConfig, FlowConfig, load_connection
from koppel.documents import CanonicalModel, Order, has_errors
from koppel.formats import Format, default_registry, load_schema
from koppel.pipeline.context import delivery_context
from koppel.pipeline.rule_types import RuleContext, RuleResult
from koppel.pipeline.rules import apply_rules
from koppel.sandbox.samples import catalogue_skus, good_order

LINES = 20
ORDERS = 3000 if full_size() else 300
CONNECTION = INCLUDE_DIR / "connections" / "itsperfect_acme.yaml"


@dataclass
class _Master:
    """Master data in memory: plenty of stock known for every catalogue SKU.

    As cheap as it can be, so the figure is the engine's: the store's queries
    and reservations are timed by P2.
    """

    stock: dict[str, Decimal]
    reservations: int = 0

    def has_stock(self, connection_id: str) -> bool:
        return True

    def available(
        self, connection_id: str, skus: Iterable[str], *, exclude_order: str | None = None
    ) -> dict[str, Decimal]:
        return self.stock

    def reserve(
        self, connection_id: str, order: Order, *, message_id: int, conn: Connection | None = None
    ) -> int:
        """Count the reservation; the store's version writes it through the decision's ``conn``."""
        self.reservations += 1
        return len(order.lines)


@dataclass(frozen=True)
class _Message:
    """The one field of a stored message the rules look at."""

    id: int


class Engine:
    """The engine path of one orders flow run, per file."""

    def __init__(self, connection: ConnectionConfig, flow: FlowConfig) -> None:
        self.connection = connection
        self.flow = flow
        registry = default_registry()
        self.source: Format = registry.get(flow.source.format)
        self.target: Format = registry.get(flow.target.format)
        self.master = _Master(dict.fromkeys(catalogue_skus(), Decimal(10**9)))

    def run(self, message_id: int, name: str, data: bytes) -> list[bytes]:
        """Read, rule and write one file; the written payloads (validated) come back."""
        return self.write(self.rule(message_id, self.read(name, data)), name)

    def read(self, name: str, data: bytes) -> list[CanonicalModel]:
        read = self.source.read(data, source=name, max_bytes=self.flow.max_file_bytes)
        assert not has_errors(read.problems), read.problems
        return list(read.documents)

    def rule(self, message_id: int, documents: list[CanonicalModel]) -> RuleResult:
        ctx = RuleContext(self.connection, self.flow, _Message(message_id), self.master)  # type: ignore[arg-type]
        result = apply_rules(self.flow.rules, documents, ctx)
        assert not result.hold
        return result

    def write(self, result: RuleResult, name: str) -> list[bytes]:
        written = []
        for document in result.target:
            context, problems = delivery_context(self.connection, self.flow, document)
            assert not problems, problems
            payload = self.target.write(document, context=context)
            problems = self.target.validate(payload, source=f"{name}.out.xml")
            assert not problems, problems
            written.append(payload)
        for commit in result.commits:
            commit(conn=None)  # type: ignore[arg-type]  # the stand-in needs no transaction
        return written


class Floor:
    """Bare lxml: parse and XSD-check the input; XSD-check and serialize the output."""

    def __init__(self, engine: Engine, outputs: list[bytes]) -> None:
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True)
        self.source_schema = load_schema(engine.source.schema_path)
        self.target_schema = load_schema(engine.target.schema_path)
        self.outputs = [etree.fromstring(data, self.parser) for data in outputs]

    def run(self, index: int, data: bytes) -> None:
        tree = etree.fromstring(data, self.parser)
        assert self.source_schema.validate(tree)
        out = self.outputs[index]
        assert self.target_schema.validate(out)
        etree.tostring(out, xml_declaration=True, encoding="UTF-8")


def _orders() -> list[tuple[str, bytes]]:
    numbers = [f"IP-2025-{n:05d}" for n in range(ORDERS)]
    return [(f"{n}.xml", good_order(n, lines=LINES)) for n in numbers]


def main() -> None:
    connection = load_connection(CONNECTION)
    flow = connection.flows["orders"]
    assert flow.options.get("backorder_handling")
    assert "stock_allocation" in flow.rules
    files = _orders()
    engine = Engine(connection, flow)
    outputs = [engine.run(i, name, data)[0] for i, (name, data) in enumerate(files)]
    floor = Floor(engine, outputs)

    def koppel_pass() -> None:
        for i, (name, data) in enumerate(files):
            engine.run(i, name, data)

    def floor_pass() -> None:
        for i, (_, data) in enumerate(files):
            floor.run(i, data)

    koppel_times: list[float] = []
    floor_times: list[float] = []
    for _ in range(REPEATS):
        for work, times in ((koppel_pass, koppel_times), (floor_pass, floor_times)):
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
    per_order = 1000 / len(files)
    stages = {name: seconds * per_order for name, seconds in _stages(engine, files).items()}
    emit(
        BenchResult(
            name="P1 order engine",
            koppel=statistics.median(koppel_times) * per_order,
            floor=statistics.median(floor_times) * per_order,
            unit="ms/order",
            goal=2.0,
            size=f"{len(files)} orders x {LINES} lines",
            extra={
                "koppel_stages_ms_per_order": {k: round(v, 4) for k, v in stages.items()},
                "scsn_check_path": scsn_path.measure(len(files), LINES),
                # "ubl_order_path" and "peppol_order_path" (issue 11).
                **ubl_paths.measure(len(files), LINES),
            },
        )
    )


def _stages(engine: Engine, files: list[tuple[str, bytes]]) -> dict[str, float]:
    """Koppel's pass split into read, rules and write (with the output check), in CPU seconds."""
    spent = dict.fromkeys(("read", "rules", "write"), 0.0)
    for i, (name, data) in enumerate(files):
        start = time.process_time()
        documents = engine.read(name, data)
        ruled = time.process_time()
        result = engine.rule(i, documents)
        written = time.process_time()
        engine.write(result, name)
        end = time.process_time()
        spent["read"] += ruled - start
        spent["rules"] += written - ruled
        spent["write"] += end - written
    return spent


if __name__ == "__main__":
    main()
