"""Seed 003's four internal-order flows, run by ``dag.test()`` on SFTP and two PostgreSQL stores.

Helsinki (store A) posts a purchase order to Tampere (store B); the
``purchase_orders`` flow sends it as a UBL 2.0 internal order, ``orders``
books it in Tampere at Tampere's average purchase prices, Tampere delivers
less than ordered, ``despatches`` sends the waybill with line prices, and
``waybills`` updates and receives Helsinki's purchase order with a note on
the changed quantity. A second run of every flow writes and sends nothing twice.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, select

from koppel import INCLUDE_DIR
from koppel.config import file_endpoint, load_connection
from koppel.documents import Order, Waybill
from koppel.formats import default_registry
from koppel.hooks.store_erp_schema import (
    purchase_order_lines,
    purchase_orders,
    sales_order_lines,
    sales_orders,
)
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.store_erp import OrderedLine, deliver_sales_order, post_purchase_order
from koppel.sandbox.store_erp.seed import COFFEE, MUG, ROASTERY_ID, STORE_A_ID, STORE_B_ID, TEA
from koppel.store import Direction, MessageStatus, MessageStore
from tests.fixtures.airflow_env import dag_bag
from tests.fixtures.store_erp import STORE_A_CONN_ID, STORE_B_CONN_ID, write_nordkauppa

pytestmark = pytest.mark.dagrun

CONNECTION = "ubl_nordkauppa"
UBL = INCLUDE_DIR / "schemas" / "ubl-2.1" / "maindoc"


@pytest.fixture(params=["postgres"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """The DAGs run against PostgreSQL stores (the SQLite ones are the demo's)."""
    backend: str = request.param
    return backend


class Company:
    """Nordkauppa's connection, its SFTP folders, both stores and the four DAGs."""

    def __init__(self, path: Path, root: Path, store_a: Engine, store_b: Engine) -> None:
        self.connection = load_connection(path)
        self.root = root
        self.store_a = store_a
        self.store_b = store_b
        for flow in self.connection.flows.values():
            for _, end in flow.endpoints():
                if end.transport == "sftp":
                    self.folder(file_endpoint(end, "any").folder).mkdir(parents=True, exist_ok=True)

    def folder(self, folder: str) -> Path:
        return self.root / folder.lstrip("/")

    def run(self, flow: str) -> str:
        bag = dag_bag()
        assert bag.import_errors == {}
        return str(bag.dags[self.connection.dag_id(flow)].test().state)

    def files(self, flow: str, role: str) -> list[Path]:
        end = file_endpoint(dict(self.connection.flows[flow].endpoints())[role], role)
        return sorted(self.folder(end.folder).glob("*.xml"))


@pytest.fixture(params=[False, True], ids=["receive", "do_not_receive"])
def company(
    request: pytest.FixtureRequest,
    airflow_db: Path,
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    store_database_conn_id,  # type: ignore[no-untyped-def]
    store_a_engine: Engine,
    store_b_engine: Engine,
    store: MessageStore,
) -> Company:
    store_database_conn_id(STORE_A_CONN_ID, store_a_engine)
    store_database_conn_id(STORE_B_CONN_ID, store_b_engine)
    path = write_nordkauppa(
        connections_dir, sftp_conn_id=sftp_server.conn_id, do_not_receive=request.param
    )
    return Company(path, sftp_server.root, store_a_engine, store_b_engine)


def _valid(path: Path, xsd: str) -> etree._ElementTree:
    schema = etree.XMLSchema(etree.parse(str(UBL / xsd)))
    tree = etree.parse(str(path))
    assert schema.validate(tree), schema.error_log
    return tree


def _read(name: str, path: Path) -> object:
    result = default_registry().get(name).read(path.read_bytes(), source=path.name)
    assert not [p for p in result.problems if p.severity == "error"], result.problems
    (document,) = result.documents
    return document


def _rows(engine: Engine, header, lines, key: str):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        heads = conn.execute(select(header).order_by(header.c[key])).mappings().all()
        children = (
            conn.execute(select(lines).order_by(lines.c[key], lines.c.line_number)).mappings().all()
        )
    return [{**head, "lines": [dict(c) for c in children if c[key] == head[key]]} for head in heads]


def test_an_internal_order_through_all_four_flows(company: Company, store: MessageStore) -> None:
    """Seed 003 end to end: order, internal sales order, short delivery, waybill, receipt."""
    do_not_receive = bool(company.connection.flows["waybills"].options["do_not_receive"])
    # A purchase order to the roastery (no message format) is posted too: it is not sent.
    post_purchase_order(company.store_a, ROASTERY_ID, [OrderedLine(COFFEE, Decimal(40))])

    # 1. purchase_orders: Helsinki's posted order to Tampere goes out as UBL 2.0 UBL2.0SIS.
    assert company.run("purchase_orders") == "success"
    (order_file,) = company.files("purchase_orders", "target")
    tree = _valid(order_file, "UBL-Order-2.1.xsd")
    assert tree.findtext("{*}UBLVersionID") == "2.0"
    assert tree.findtext("{*}OrderTypeCode") == "UBL2.0SIS"
    order = _read("ubl.order", order_file)
    assert isinstance(order, Order)
    (po,) = [
        p
        for p in _rows(company.store_a, purchase_orders, purchase_order_lines, "order_number")
        if p["supplier_id"] == STORE_B_ID
    ]
    assert order.order_id == str(po["order_number"])
    assert [(line.supplier_article_code, line.quantity) for line in order.lines] == [
        (COFFEE, Decimal(10)),
        (TEA, Decimal(5)),
        (MUG, Decimal(2)),
    ]
    skipped = [
        m
        for m in store.find(
            connection_id=CONNECTION, flow="purchase_orders", direction=Direction.IN
        )
        if m.status is not MessageStatus.DELIVERED
    ]
    assert [m.status for m in skipped] == [MessageStatus.SKIPPED]

    # 2. orders: Tampere books an internal sales order at its own average purchase prices.
    assert company.run("orders") == "success"
    (sales_order,) = _rows(company.store_b, sales_orders, sales_order_lines, "order_number")
    assert sales_order["internal"] is True
    assert sales_order["customer_id"] == STORE_A_ID
    assert sales_order["order_reference"] == order.order_id
    prices = [
        (line["product_code"], line["sales_price"], line["purchase_price"], line["price_source"])
        for line in sales_order["lines"]
    ]
    assert prices == [
        (COFFEE, Decimal("3.7200"), Decimal("3.7200"), "average_purchase_price"),
        (TEA, Decimal("2.2000"), Decimal("2.2000"), "purchase_price"),
        (MUG, Decimal("5.5000"), Decimal("5.5000"), "message"),
    ]

    # 3. despatches: Tampere delivers 8 of the 10 coffees and all else; the waybill carries prices.
    deliver_sales_order(company.store_b, sales_order["order_number"], {1: 8, 2: 5, 3: 2})
    assert company.run("despatches") == "success"
    (waybill_file,) = company.files("despatches", "target")
    _valid(waybill_file, "UBL-DespatchAdvice-2.1.xsd")
    waybill = _read("ubl.despatch_advice", waybill_file)
    assert isinstance(waybill, Waybill)
    assert waybill.order_id == order.order_id
    assert [(line.quantity, line.purchase_price) for line in waybill.lines] == [
        (Decimal(8), Decimal("3.7200")),
        (Decimal(5), Decimal("2.2000")),
        (Decimal(2), Decimal("5.5000")),
    ]

    # 4. waybills: Helsinki's purchase order takes the waybill's quantities and prices.
    assert company.run("waybills") == "success"
    (updated,) = [
        p
        for p in _rows(company.store_a, purchase_orders, purchase_order_lines, "order_number")
        if p["order_number"] == po["order_number"]
    ]
    assert updated["status"] == ("posted" if do_not_receive else "received")
    assert (updated["received_date"] is None) == do_not_receive
    lines = [(line["quantity"], line["purchase_price"], line["text"]) for line in updated["lines"]]
    assert lines == [
        (Decimal(8), Decimal("3.7200"), "Tilattu oli 10"),
        (Decimal(5), Decimal("2.2000"), None),
        (Decimal(2), Decimal("5.5000"), None),
    ]

    # Every flow again: nothing is sent, booked or received twice.
    for flow in ("purchase_orders", "orders", "despatches", "waybills"):
        assert company.run(flow) == "success"
    for flow in ("purchase_orders", "despatches"):
        sent = store.find(connection_id=CONNECTION, flow=flow, direction=Direction.OUT)
        assert [m.status for m in sent] == [MessageStatus.DELIVERED], flow
    # The order and the waybill were each taken in once, and archived.
    for flow in ("orders", "waybills"):
        taken = store.find(connection_id=CONNECTION, flow=flow, direction=Direction.IN)
        assert [m.status for m in taken] == [MessageStatus.DELIVERED], flow
        end = file_endpoint(company.connection.flows[flow].source, "source")
        assert len(list(company.folder(end.archive_folder).glob("*.xml"))) == 1
        assert company.files(flow, "source") == []
    assert len(_rows(company.store_b, sales_orders, sales_order_lines, "order_number")) == 1
    again = [
        p
        for p in _rows(company.store_a, purchase_orders, purchase_order_lines, "order_number")
        if p["order_number"] == po["order_number"]
    ]
    assert [line["text"] for line in again[0]["lines"]] == ["Tilattu oli 10", None, None]
