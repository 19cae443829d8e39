"""The SCSN order import, run by ``dag.test()`` against real SFTP, a PostgreSQL ERP and store.

Orders dropped in the SCSN folder end as customer orders in the ERP's tables
(or not, with the reasons), every message is answered with an order response
that is valid UBL, rejected files go to the error folder, a "New" message
updates an unconfirmed order, and a rerun writes and answers nothing twice.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, select, update

from koppel import INCLUDE_DIR
from koppel.config import load_connection
from koppel.documents import OrderResponse, ResponseCode
from koppel.formats import default_registry
from koppel.hooks.isah_schema import customers, sales_order_lines, sales_orders
from koppel.sandbox.isah import seed
from koppel.sandbox.scsn import OrderLineSpec, OrderSpec, order_message
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MessageStatus, MessageStore
from tests.fixtures.airflow_env import dag_bag
from tests.fixtures.isah import write_scsn_supplier

pytestmark = pytest.mark.dagrun

CONNECTION = "scsn_techparts"
RESPONSE_XSD = INCLUDE_DIR / "schemas" / "ubl-2.1" / "maindoc" / "UBL-OrderResponse-2.1.xsd"


class Supplier:
    """The supplier's connection, its SFTP folders, its ERP database, and its DAG."""

    def __init__(self, path: Path, root: Path, erp: Engine) -> None:
        self.connection = load_connection(path)
        self.flow = self.connection.flows["orders"]
        self.root = root
        self.erp = erp
        for folder in (self.flow.source.folder, self.flow.reply.folder):  # type: ignore[union-attr]
            self.local(folder).mkdir(parents=True, exist_ok=True)

    def local(self, folder: str) -> Path:
        return self.root / folder.lstrip("/")

    def drop(self, name: str, spec: OrderSpec) -> None:
        (self.local(self.flow.source.folder) / name).write_bytes(order_message(spec))  # type: ignore[union-attr]

    def run(self) -> str:
        bag = dag_bag()
        assert bag.import_errors == {}
        return str(bag.dags[self.connection.dag_id("orders")].test().state)

    def responses(self) -> dict[str, OrderResponse]:
        """The order responses in the outbound folder by order, valid against the UBL XSD.

        Each order must have been answered once.
        """
        schema = etree.XMLSchema(etree.parse(str(RESPONSE_XSD)))
        found: dict[str, OrderResponse] = {}
        for path in sorted(self.local(self.flow.reply.folder).glob("*.xml")):  # type: ignore[union-attr]
            assert schema.validate(etree.parse(str(path))), schema.error_log
            result = (
                default_registry()
                .get("scsn.order_response")
                .read(path.read_bytes(), source=path.name)
            )
            assert result.problems == []
            (response,) = result.documents
            assert isinstance(response, OrderResponse)
            assert response.order_id not in found, f"{response.order_id} answered twice"
            found[response.order_id] = response
        return found

    def orders(self) -> dict[str, dict[str, object]]:
        with self.erp.connect() as conn:
            rows = conn.execute(select(sales_orders)).mappings().all()
            lines = conn.execute(select(sales_order_lines)).mappings().all()
        return {
            str(row["order_reference"]): {
                **row,
                "lines": [
                    dict(line) for line in lines if line["order_number"] == row["order_number"]
                ],
            }
            for row in rows
        }


@pytest.fixture
def supplier(
    airflow_db: Path,
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    erp_conn_id: str,
    erp_engine: Engine,
) -> Supplier:
    path = write_scsn_supplier(
        connections_dir, sftp_conn_id=sftp_server.conn_id, erp_conn_id=erp_conn_id
    )
    return Supplier(path, sftp_server.root, erp_engine)


@pytest.fixture(params=["postgres"])
def erp_url(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The DAG runs against the PostgreSQL ERP (the SQLite one is the demo's, run by make demo)."""
    return request.getfixturevalue("postgres_erp_url")


def bakker_order(
    order_id: str, *, quantity: str = "12", order_type: str | None = "New"
) -> OrderSpec:
    """An order Bakker's ERP sends that passes every check (customer price, quantity break)."""
    return OrderSpec(
        order_id=order_id,
        buyer_scsn_id=seed.BAKKER_SCSN_ID,
        buyer_name="Bakker Machinebouw B.V.",
        order_type=order_type,
        lines=[
            OrderLineSpec(
                "1",
                Decimal(quantity),
                supplier_code="SHAFT-100",
                supplier_revision="B",
                customer_code="BK-4711",
                customer_revision="B",
                price=Decimal("39.90"),
                discount_percentage=Decimal("2.5"),
            )
        ],
    )


def test_orders_become_customer_orders_and_every_message_is_answered(
    supplier: Supplier, store: MessageStore
) -> None:
    supplier.drop("accepted.xml", bakker_order("PO-2026-0900"))
    supplier.drop(
        "unknown_article.xml",
        OrderSpec(
            order_id="PO-2026-0901",
            buyer_scsn_id=seed.BAKKER_SCSN_ID,
            buyer_name="Bakker Machinebouw B.V.",
            lines=[
                OrderLineSpec("1", Decimal(2), supplier_code="NO-SUCH-PART", price=Decimal(1)),
                OrderLineSpec(
                    "2",
                    Decimal(12),
                    supplier_code="SHAFT-100",
                    price=Decimal("39.90"),
                    discount_percentage=Decimal("2.5"),
                ),
            ],
        ),
    )
    supplier.drop(
        "no_buyer_id.xml",
        OrderSpec(
            order_id="PO-2026-0902",
            buyer_scsn_id=None,
            buyer_name="Somebody",
            lines=[OrderLineSpec("1", Decimal(1), supplier_code="SHAFT-100")],
        ),
    )

    assert supplier.run() == "failed"  # two messages rejected: the run fails and alerts

    orders = supplier.orders()
    assert orders["PO-2026-0900"]["customer_id"] == seed.BAKKER
    assert orders["PO-2026-0900"]["sales_type"] == "SCI-NL"
    (line,) = orders["PO-2026-0900"]["lines"]  # type: ignore[misc]
    assert (line["article_code"], line["revision"], line["unit_price"]) == (
        "SHAFT-100",
        "B",
        Decimal("39.90"),
    )
    assert "PO-2026-0901" not in orders
    assert "PO-2026-0902" not in orders

    responses = supplier.responses()
    assert responses["PO-2026-0900"].response is ResponseCode.ACCEPTED
    rejected = responses["PO-2026-0901"]
    assert rejected.response is ResponseCode.REJECTED
    by_line = {line.line_id: line for line in rejected.lines}
    assert by_line["1"].response is ResponseCode.REJECTED
    assert [note.code for note in by_line["1"].notes] == ["scsn.article.unknown"]
    assert by_line["2"].notes == []
    assert responses["PO-2026-0902"].response is ResponseCode.REJECTED

    error_folder = supplier.local(supplier.flow.source.error_folder)  # type: ignore[union-attr]
    assert sorted(p.name for p in error_folder.glob("*.xml")) == [
        "no_buyer_id.xml",
        "unknown_article.xml",
    ]
    inbound = store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)
    statuses = {m.source_name.rsplit("/", 1)[-1]: m.status for m in inbound}
    assert statuses == {
        "accepted.xml": MessageStatus.DELIVERED,
        "unknown_article.xml": MessageStatus.REJECTED,
        "no_buyer_id.xml": MessageStatus.REJECTED,
    }

    # A rerun writes no order and no answer twice.
    before = sorted(p.name for p in supplier.local(supplier.flow.reply.folder).iterdir())  # type: ignore[union-attr]
    assert supplier.run() == "success"
    assert sorted(p.name for p in supplier.local(supplier.flow.reply.folder).iterdir()) == before  # type: ignore[union-attr]
    assert len(supplier.orders()) == len(orders)


def test_a_new_message_updates_the_unconfirmed_order_and_a_duplicate_is_refused(
    supplier: Supplier,
) -> None:
    supplier.drop("update.xml", bakker_order(seed.UNCONFIRMED_ORDER, quantity="15"))
    supplier.drop("duplicate.xml", bakker_order(seed.CONFIRMED_ORDER))

    assert supplier.run() == "failed"

    orders = supplier.orders()
    updated = orders[seed.UNCONFIRMED_ORDER]
    assert [line["quantity"] for line in updated["lines"]] == [Decimal(15)]  # type: ignore[union-attr]
    assert updated["confirmed"] is False
    responses = supplier.responses()
    assert responses[seed.UNCONFIRMED_ORDER].response is ResponseCode.ACCEPTED_WITH_CHANGES
    assert responses[seed.CONFIRMED_ORDER].response is ResponseCode.REJECTED
    assert [n.code for n in responses[seed.CONFIRMED_ORDER].notes] == ["scsn.order.duplicate"]
    # The confirmed order is untouched.
    assert [line["quantity"] for line in orders[seed.CONFIRMED_ORDER]["lines"]] == [Decimal(20)]  # type: ignore[union-attr]


def test_replay_after_a_master_data_fix_imports_the_order(
    supplier: Supplier, store: MessageStore
) -> None:
    # Nordic Drives is over its credit limit with this order...
    supplier.drop(
        "big.xml",
        OrderSpec(
            order_id="ND-PO-90",
            buyer_scsn_id=seed.NORDIC_DRIVES_SCSN_ID,
            buyer_name="Nordic Drives AB",
            currency="USD",
            lines=[OrderLineSpec("1", Decimal(100), customer_code="ND-300", price=Decimal("9.25"))],
        ),
    )
    assert supplier.run() == "failed"
    (message,) = store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)
    assert message.status is MessageStatus.REJECTED
    assert "scsn.credit.limit_exceeded" in {p.code for p in message.problems}

    # ...until the ERP raises the limit; the replay checks again now and imports it.
    with supplier.erp.begin() as conn:
        conn.execute(
            update(customers)
            .where(customers.c.customer_id == seed.NORDIC_DRIVES)
            .values(credit_limit=Decimal(10000))
        )
    store.requeue(message.id)
    assert supplier.run() == "success"

    assert "ND-PO-90" in supplier.orders()
    assert store.get(message.id).status is MessageStatus.DELIVERED
    outbound = supplier.local(supplier.flow.reply.folder)  # type: ignore[union-attr]
    first, second = sorted(outbound.glob("*.xml"), key=lambda p: p.stat().st_mtime_ns)
    registry = default_registry().get("scsn.order_response")
    answers = [registry.read(p.read_bytes(), source=p.name).documents[0] for p in (first, second)]
    assert [a.response for a in answers] == [  # type: ignore[attr-defined]
        ResponseCode.REJECTED,
        ResponseCode.ACCEPTED,
    ]
    archive = supplier.local(supplier.flow.source.archive_folder)  # type: ignore[union-attr]
    error = supplier.local(supplier.flow.source.error_folder)  # type: ignore[union-attr]
    assert (archive / "big.xml").exists()
    assert not (error / "big.xml").exists()
