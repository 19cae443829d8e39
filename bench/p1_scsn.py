"""P1's SCSN check path: one SCSN order in, the ERP's sales order and the order response out.

Koppel (per order message, as a run of ``scsn_techparts__orders`` decides it):

1. ``scsn.order`` read: the hardened parse, the UBL 2.1 Order XSD and the
   mapping into the canonical :class:`~koppel.documents.Order`;
2. the rule step ``scsn_order_import``: the ERP's master data read now with
   :class:`~koppel.hooks.isah.IsahReader` from a SQLite ERP database (a fixed
   handful of queries per message, however many lines: the count is reported),
   then the eight checks with revision management on;
3. the ``isah.sales_order`` JSON written and checked against its JSON Schema,
   and the ``scsn.order_response`` written and checked against the UBL 2.1
   OrderResponse XSD.

Floor (bare libraries, the same work): parse the message with a reused lxml
parser and validate it with the UBL Order XSD; run the very SQL statements
Koppel's reader sent for that message (recorded once, before timing) on the
bare ``sqlite3`` connection and fetch their rows; ``json.dumps`` Koppel's
sales order of that message; validate Koppel's response tree with the
OrderResponse XSD and serialize it.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import Engine, event

from bench.common import REPEATS
from koppel import INCLUDE_DIR
from koppel.config import FlowConfig, load_connection
from koppel.documents import Order, SalesOrder, has_errors
from koppel.formats import Format, default_registry, load_schema
from koppel.hooks.isah import IsahReader
from koppel.rules.scsn_conformance import conformance_problems
from koppel.rules.scsn_order_checks import ImportOptions, check_order_import
from koppel.sandbox.isah import create_erp_database, load_seed
from koppel.sandbox.scsn import OrderLineSpec, OrderSpec, order_message

CONNECTION = INCLUDE_DIR / "connections" / "scsn_techparts.yaml"
BUYER_SCSN_ID = "NL-SCSN-BENCH-01"
CUSTOMER = "C9001"


def _seed(articles: int) -> dict[str, list[dict[str, Any]]]:
    """A customer without credit limit and ``articles`` articles, each with two revisions,
    the customer's own code and a price on the customer's price list."""
    codes = [f"BENCH-{n:04d}" for n in range(articles)]
    return {
        "customers": [
            {
                "customer_id": CUSTOMER,
                "name": "Bench Machines B.V.",
                "scsn_id": BUYER_SCSN_ID,
                "sales_type": "SCI-NL",
                "accept_deviating_prices": False,
                "credit_check": False,
                "credit_limit": None,
                "credit_include_quotes": False,
                "credit_include_orders": False,
                "currency": "EUR",
                "price_list_id": "INDUSTRY-EUR",
                "discount_percentage": Decimal(5),
            }
        ],
        "articles": [
            {"article_code": code, "description": f"Part {code}", "customer_id": None}
            for code in codes
        ],
        "article_revisions": [
            {"article_code": code, "revision": rev, "released": True, "sequence": seq}
            for code in codes
            for seq, rev in enumerate(("A", "B"), start=1)
        ],
        "customer_articles": [
            {
                "customer_id": CUSTOMER,
                "customer_article_code": f"BM-{code}",
                "article_code": code,
                "revision": "B",
            }
            for code in codes
        ],
        "price_list_prices": [
            {"price_list_id": "INDUSTRY-EUR", "article_code": code, "unit_price": Decimal("12.40")}
            for code in codes
        ],
    }


def _message(number: int, lines: int) -> bytes:
    return order_message(
        OrderSpec(
            order_id=f"BENCH-PO-{number:06d}",
            buyer_scsn_id=BUYER_SCSN_ID,
            buyer_name="Bench Machines B.V.",
            lines=[
                OrderLineSpec(
                    str(10 * (n + 1)),
                    Decimal(n + 1),
                    supplier_code=f"BENCH-{n:04d}",
                    supplier_revision="B",
                    customer_code=f"BM-BENCH-{n:04d}",
                    customer_revision="B",
                    price=Decimal("12.40"),
                    discount_percentage=Decimal(5),
                )
                for n in range(lines)
            ],
        )
    )


@dataclass
class _Statements:
    """Every statement the reader sends, in order, to replay on the bare driver."""

    sent: list[tuple[str, Any]] = field(default_factory=list)

    def record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):  # the engine's own transaction
            self.sent.append((statement, parameters))


class ScsnEngine:
    """The SCSN path of one orders flow run, per message."""

    def __init__(self, flow: FlowConfig, erp: Engine) -> None:
        registry = default_registry()
        self.source: Format = registry.get(flow.source.format)
        self.target: Format = registry.get(flow.target.format)
        self.reply: Format = registry.get(flow.reply.format)  # type: ignore[union-attr]
        self.reader = IsahReader(erp)
        self.revisions = bool(flow.options.get("revision_management"))
        self.today = datetime.now(UTC).date()

    def run(self, number: int, data: bytes) -> tuple[SalesOrder, bytes]:
        """Read, check and write one message; the sales order and the response come back."""
        read = self.source.read(data, source=f"{number}.xml")
        assert not has_errors(read.problems), read.problems
        (order,) = read.documents
        assert isinstance(order, Order)
        options = ImportOptions(
            revision_management=self.revisions,
            response_id=f"{order.order_id}-{number}",
            today=self.today,
        )
        decision = check_order_import(
            order, self.reader.order_master_data(order), options, conformance_problems(order)
        )
        assert decision.sales_order is not None, decision.problems
        sales = self.target.write(decision.sales_order, context={})
        assert not self.target.validate(sales, source="sales_order.json")
        response = self.reply.write(decision.response, context={})
        assert not self.reply.validate(response, source="response.xml")
        return decision.sales_order, response


class ScsnFloor:
    """Bare lxml, sqlite3 and json doing the same work on the same messages."""

    def __init__(
        self,
        engine: ScsnEngine,
        database: Path,
        statements: list[list[tuple[str, Any]]],
        outputs: list[tuple[SalesOrder, bytes]],
    ) -> None:
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True)
        self.source_schema = load_schema(engine.source.schema_path)
        self.reply_schema = load_schema(engine.reply.schema_path)
        self.db = sqlite3.connect(database, isolation_level=None)
        self.statements = statements
        self.sales = [order.model_dump(mode="json") for order, _ in outputs]
        self.responses = [etree.fromstring(response, self.parser) for _, response in outputs]

    def run(self, index: int, data: bytes) -> None:
        tree = etree.fromstring(data, self.parser)
        assert self.source_schema.validate(tree)
        cursor = self.db.cursor()
        for statement, parameters in self.statements[index]:
            cursor.execute(statement, parameters).fetchall()
        json.dumps(self.sales[index])
        response = self.responses[index]
        assert self.reply_schema.validate(response)
        etree.tostring(response, xml_declaration=True, encoding="UTF-8")


def measure(orders: int, lines: int) -> dict[str, Any]:
    """CPU ms per message of Koppel and the floor, their ratio, the reader's queries per message."""
    flow = load_connection(CONNECTION).flows["orders"]
    with tempfile.TemporaryDirectory(prefix="koppel-bench-erp-") as folder:
        database = Path(folder) / "isah.db"
        erp = create_erp_database(f"sqlite:///{database}")
        load_seed(erp, _seed(lines))
        messages = [_message(n, lines) for n in range(orders)]
        engine = ScsnEngine(flow, erp)
        statements: list[list[tuple[str, Any]]] = []
        outputs = []
        for number, data in enumerate(messages):
            recorder = _Statements()
            event.listen(erp, "before_cursor_execute", recorder.record)
            outputs.append(engine.run(number, data))
            event.remove(erp, "before_cursor_execute", recorder.record)
            statements.append(recorder.sent)
        floor = ScsnFloor(engine, database, statements, outputs)

        koppel_times: list[float] = []
        floor_times: list[float] = []
        for _ in range(REPEATS):
            start = time.process_time()
            for number, data in enumerate(messages):
                engine.run(number, data)
            koppel_times.append(time.process_time() - start)
            start = time.process_time()
            for number, data in enumerate(messages):
                floor.run(number, data)
            floor_times.append(time.process_time() - start)
        floor.db.close()
        erp.dispose()
    per_order = 1000 / orders
    koppel = statistics.median(koppel_times) * per_order
    bare = statistics.median(floor_times) * per_order
    return {
        "size": f"{orders} orders x {lines} lines",
        "koppel_ms_per_order": round(koppel, 4),
        "floor_ms_per_order": round(bare, 4),
        "ratio": round(koppel / bare, 2),
        "queries_per_order": statistics.median(len(sent) for sent in statements),
    }
