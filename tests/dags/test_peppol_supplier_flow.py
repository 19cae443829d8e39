"""The Peppol supplier's flows, run by ``dag.test()`` on SFTP, a PostgreSQL ERP and the rules.

Three buyers' orders arrive from the access point: one the supplier takes as
sent, one at a price it does not sell at, one for an item it does not have.
Each is answered with an order response that passes the official T76 rules
(accepted, accepted with changes, rejected); the two taken become sales
orders, the rejected file goes to the error folder. A delivery then goes out
as a despatch advice that passes T16. A second run answers nothing twice.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from koppel import INCLUDE_DIR
from koppel.config import file_endpoint, load_connection
from koppel.documents import OrderResponse, ResponseCode, Waybill
from koppel.formats import default_registry
from koppel.hooks.store_erp_schema import sales_order_lines, sales_orders
from koppel.sandbox.peppol import PeppolLine, PeppolOrderSpec, peppol_order_message
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.store_erp import deliver_sales_order
from koppel.sandbox.store_erp.seed import PEPPOL_CUSTOMER_ID
from koppel.store import Direction, MessageStatus, MessageStore
from tests.fixtures.airflow_env import dag_bag

pytestmark = pytest.mark.dagrun

CONNECTION = "peppol_arctic"
BREAD = PeppolLine("Ruisleipä 750 g", Decimal(20), Decimal("2.80"), gtin="6412345200016")
BUTTER = PeppolLine("Voi 500 g", Decimal(10), Decimal("4.90"), seller_item_id="VOI-500")

MERCHANT = """\
extends: _peppol_supplier
name: Arctic Tools
prefix: arctic
vars:
  sftp_conn_id: {sftp}
  erp_conn_id: erp_test
flows:
  orders: {{retries: 0}}
  despatches: {{retries: 0}}
"""


@pytest.fixture(params=["postgres"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The DAGs run against a PostgreSQL ERP (the SQLite one is the demo's)."""
    backend: str = request.param
    return backend


class Supplier:
    """The supplier's connection, its SFTP folders, its ERP and its two DAGs."""

    def __init__(self, path: Path, root: Path, erp: Engine) -> None:
        self.connection = load_connection(path)
        self.root = root
        self.erp = erp
        for flow in self.connection.flows.values():
            for role, end in flow.endpoints():
                if end.transport == "sftp":
                    self.folder(file_endpoint(end, role).folder).mkdir(parents=True, exist_ok=True)

    def folder(self, folder: str) -> Path:
        return self.root / folder.lstrip("/")

    def end(self, flow: str, role: str) -> Path:
        endpoint = file_endpoint(dict(self.connection.flows[flow].endpoints())[role], role)
        return self.folder(endpoint.folder)

    def drop(self, name: str, spec: PeppolOrderSpec) -> None:
        (self.end("orders", "source") / name).write_bytes(peppol_order_message(spec))

    def run(self, flow: str) -> str:
        bag = dag_bag()
        assert bag.import_errors == {}
        return str(bag.dags[self.connection.dag_id(flow)].test().state)


@pytest.fixture
def supplier(
    airflow_db: Path,
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    store_database_conn_id,  # type: ignore[no-untyped-def]
    peppol_supplier_engine: Engine,
    peppol_rules_dir: Path,
) -> Supplier:
    store_database_conn_id("erp_test", peppol_supplier_engine)
    template = (INCLUDE_DIR / "connections" / "_peppol_supplier.yaml").read_text()
    (connections_dir / "_peppol_supplier.yaml").write_text(
        template.replace("stable_seconds: 2", "stable_seconds: 0")
    )
    path = connections_dir / f"{CONNECTION}.yaml"
    path.write_text(MERCHANT.format(sftp=sftp_server.conn_id))
    return Supplier(path, sftp_server.root, peppol_supplier_engine)


def _responses(folder: Path) -> dict[str, OrderResponse]:
    """Every order response written, read back by the Peppol format (XSD + T76: no errors)."""
    fmt = default_registry().get("peppol.order_response")
    found: dict[str, OrderResponse] = {}
    for path in sorted(folder.glob("*.xml")):
        result = fmt.read(path.read_bytes(), source=path.name)
        assert not [p for p in result.problems if p.severity == "error"], result.problems
        (response,) = result.documents
        assert isinstance(response, OrderResponse)
        assert response.order_id not in found, f"{response.order_id} answered twice"
        found[response.order_id] = response
    return found


def test_orders_are_answered_the_peppol_way_and_deliveries_go_out_as_despatch_advices(
    supplier: Supplier, store: MessageStore
) -> None:
    supplier.drop("accepted.xml", PeppolOrderSpec("PO-1", [BREAD, BUTTER]))
    cheaper = PeppolLine(BUTTER.name, BUTTER.quantity, Decimal("4.50"), seller_item_id="VOI-500")
    supplier.drop("changed.xml", PeppolOrderSpec("PO-2", [BREAD, cheaper]))
    unknown = PeppolLine("Sinappi 300 g", Decimal(6), Decimal("2.10"), gtin="6412345299997")
    supplier.drop("rejected.xml", PeppolOrderSpec("PO-3", [BREAD, unknown]))

    # A rejected order fails the run, after every order was tried and answered.
    assert supplier.run("orders") == "failed"
    responses = _responses(supplier.end("orders", "reply"))
    assert {order: r.response for order, r in responses.items()} == {
        "PO-1": ResponseCode.ACCEPTED,
        "PO-2": ResponseCode.ACCEPTED_WITH_CHANGES,
        "PO-3": ResponseCode.REJECTED,
    }
    changed = {line.line_id: line for line in responses["PO-2"].lines}
    assert changed["2"].response is ResponseCode.ACCEPTED_WITH_CHANGES
    assert changed["2"].unit_price == Decimal("4.90")
    assert any("6412345299997" in note.message for note in responses["PO-3"].notes)

    with supplier.erp.connect() as conn:
        orders = {
            row.order_reference: row
            for row in conn.execute(select(sales_orders).order_by(sales_orders.c.order_number))
        }
        lines = (
            conn.execute(
                select(sales_order_lines).where(
                    sales_order_lines.c.order_number == orders["PO-2"].order_number
                )
            )
            .mappings()
            .all()
        )
    assert sorted(orders) == ["PO-1", "PO-2"]
    assert all(
        row.customer_id == PEPPOL_CUSTOMER_ID and not row.internal for row in orders.values()
    )
    assert [(line["product_code"], line["sales_price"]) for line in lines] == [
        ("RUIS-750", Decimal("2.8000")),
        ("VOI-500", Decimal("4.9000")),
    ]
    source = file_endpoint(supplier.connection.flows["orders"].source, "source")
    assert [p.name for p in supplier.folder(source.error_folder).glob("*.xml")] == ["rejected.xml"]
    assert sorted(p.name for p in supplier.folder(source.archive_folder).glob("*.xml")) == [
        "accepted.xml",
        "changed.xml",
    ]

    # The first order is delivered short; the despatch advice passes T16.
    deliver_sales_order(supplier.erp, orders["PO-1"].order_number, {1: 20, 2: 8})
    assert supplier.run("despatches") == "success"
    (advice_file,) = supplier.end("despatches", "target").glob("*.xml")
    fmt = default_registry().get("peppol.despatch_advice")
    result = fmt.read(advice_file.read_bytes(), source=advice_file.name)
    assert not [p for p in result.problems if p.severity == "error"], result.problems
    (advice,) = result.documents
    assert isinstance(advice, Waybill)
    assert advice.order_id == "PO-1"
    assert [(line.quantity, line.outstanding_quantity) for line in advice.lines] == [
        (Decimal(20), Decimal(0)),
        (Decimal(8), Decimal(2)),
    ]

    # Again: no order is booked or answered twice, no delivery sent twice.
    supplier.run("orders")
    assert supplier.run("despatches") == "success"
    assert len(_responses(supplier.end("orders", "reply"))) == 3
    assert len(list(supplier.end("despatches", "target").glob("*.xml"))) == 1
    sent = store.find(connection_id=CONNECTION, flow="despatches", direction=Direction.OUT)
    assert [m.status for m in sent] == [MessageStatus.DELIVERED]
