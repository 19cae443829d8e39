"""Issue 8: Koppel's flows on a real Airflow Celery cluster, triggered through the REST API.

PostgreSQL is the metadata DB, the Celery result backend and the Koppel store;
Redis is the broker; the api-server, scheduler, dag-processor and a Celery
worker run as separate processes (see :mod:`tests.cluster.cluster`). The
partner stand-ins run in this process, as in the other tests, and reach the
Airflow processes through ``AIRFLOW_CONN_*`` variables.

One file flow (IT's Perfect -> Monta orders over SFTP), one API flow (Le
New Black -> IPSoft orders) and the SCSN order import (SFTP -> an Isah ERP
database on the cluster's PostgreSQL, order responses back over SFTP) are
unpaused and triggered through the REST API. The test asserts from the
worker's log that Celery ran every task, and from the Monta folder, the IPSoft
emulator, the ERP's tables and the store that each document arrived exactly
once.

A second test runs seed 003's internal-order chain between two store
databases on the same cluster, one flow after the other, because each reads
what the one before wrote: ``purchase_orders`` (an SQL *source* with its
watermark in the store) -> ``orders`` -> a short delivery in store B ->
``despatches`` (SQL source again) -> ``waybills``. It asserts on both stores'
rows and on the UBL files.

Not part of ``make test`` (the ``cluster`` marker is deselected there, and it
takes minutes): ``make test-cluster`` runs it.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Engine, Table, select, text

from koppel.config import ConnectionConfig, FileEndpoint, file_endpoint, load_connection
from koppel.dag_files import sync_dag_files
from koppel.documents import Order, Waybill
from koppel.formats import default_registry
from koppel.hooks import store_erp_schema
from koppel.hooks.isah_schema import sales_orders
from koppel.sandbox import samples
from koppel.sandbox.ipsoft import IPSoftServer, IPSoftState, Product, seed_demo
from koppel.sandbox.isah import create_erp_database
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.lenewblack.seed import demo_order_skus
from koppel.sandbox.scsn import order_message
from koppel.sandbox.scsn_demo import cases
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.store_erp import (
    STORE_A_SEED,
    STORE_B_SEED,
    create_store_database,
    deliver_sales_order,
)
from koppel.sandbox.store_erp.seed import COFFEE, MUG, STORE_A_ID, STORE_B_ID, TEA
from koppel.store import Direction, MessageStatus, MessageStore, create_store_engine
from tests.cluster.cluster import PROJECT_ROOT, Cluster, ClusterError
from tests.fixtures.isah import airflow_connection

pytestmark = pytest.mark.cluster

TEMPLATES = PROJECT_ROOT / "include" / "connections"
INDEX_DAG_FILE = PROJECT_ROOT / "dags" / "koppel_dags.py"
#: How long a triggered run may take on the cluster, queueing included.
RUN_TIMEOUT = 600.0

FILE_CONNECTION = "itsperfect_acme"
FILE_DAG = f"{FILE_CONNECTION}__orders"
API_CONNECTION = "ipsoft_noordzee"
API_DAG = f"{API_CONNECTION}__orders"
SCSN_CONNECTION = "scsn_techparts"
SCSN_DAG = f"{SCSN_CONNECTION}__orders"
ORDER_NUMBERS = ("100231", "100232")
EXPORTABLE = {"LNB-100045", "LNB-100047"}  # the seed's orders with a valid ERP reference

FILE_MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {origin: acme-webshop}
  B2B: {origin: acme-wholesale}
vars:
  sftp_conn_id: sftp_cluster
flows:
  orders: {retries: 0}
"""
API_MERCHANT = """\
extends: _ipsoft_lenewblack
name: Noordzee Mode
prefix: noordzee
vars:
  ipsoft_conn_id: ipsoft_cluster
  lenewblack_conn_id: lenewblack_cluster
flows:
  orders: {retries: 0}
"""
SCSN_SUPPLIER = """\
extends: _scsn_isah
name: TechParts Precision
prefix: techparts
vars:
  sftp_conn_id: sftp_cluster
  erp_conn_id: isah_cluster
flows:
  orders: {retries: 0, options: {revision_management: true}}
"""
DAGS = (FILE_DAG, API_DAG, SCSN_DAG)

#: Seed 003's company: Helsinki (store A) orders from Tampere (store B) over the cluster's SFTP.
STORES_CONNECTION = "ubl_nordkauppa"
STORES_MERCHANT = """\
extends: _ubl_stores
name: Nordkauppa
prefix: nordkauppa
vars:
  sftp_conn_id: sftp_cluster
  store_a_conn_id: store_a_cluster
  store_b_conn_id: store_b_cluster
  language: fi
# Manual only: unpausing schedules no run of its own, so each triggered run is the one that
# takes the step, and the chain costs four short runs.
flows:
  purchase_orders: {retries: 0, schedule: null}
  orders: {retries: 0, schedule: null}
  despatches: {retries: 0, schedule: null}
  waybills: {retries: 0, schedule: null}
"""
#: The chain in its order: each flow takes what the one before it wrote.
STORES_FLOWS = ("purchase_orders", "orders", "despatches", "waybills")
STORES_DAGS = tuple(f"{STORES_CONNECTION}__{flow}" for flow in STORES_FLOWS)
#: Tampere delivers 8 of the 10 coffees (sales-order line 1) and the rest in full.
DELIVERED = {1: 8, 2: 5, 3: 2}
#: Demo orders that pass every check against the stand-in's master data: a new order, and a
#: "New" message updating the unconfirmed one.
SCSN_FILES = ("bakker_1001.xml", "bakker_0816.xml")
SCSN_CASES = {case.file: case for case in cases() if case.file in SCSN_FILES}


@dataclass
class Partners:
    sftp: SFTPServer
    ipsoft: IPSoftServer
    lenewblack: LeNewBlackServer


@pytest.fixture(scope="module")
def partners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Partners]:
    """The SFTP server and both emulators, seeded like tests/dags/test_ipsoft_lenewblack_flows."""
    root = tmp_path_factory.mktemp("sftp")
    with (
        SFTPServer(root, conn_id="sftp_cluster") as sftp,
        IPSoftServer(seed_demo(IPSoftState()), conn_id="ipsoft_cluster") as ipsoft,
        LeNewBlackServer(conn_id="lenewblack_cluster") as lenewblack,
    ):
        lenewblack.seed_demo()
        for sku in demo_order_skus():
            ipsoft.state.put(Product(article_id=f"A-{sku}", name=sku, sku=sku))
        yield Partners(sftp, ipsoft, lenewblack)


@pytest.fixture(scope="module")
def connections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("connections")
    templates = ("_itsperfect_monta", "_ipsoft_lenewblack", "_scsn_isah", "_ubl_stores")
    for template in templates:
        shutil.copy(TEMPLATES / f"{template}.yaml", folder)
    (folder / f"{FILE_CONNECTION}.yaml").write_text(FILE_MERCHANT)
    (folder / f"{API_CONNECTION}.yaml").write_text(API_MERCHANT)
    (folder / f"{SCSN_CONNECTION}.yaml").write_text(SCSN_SUPPLIER)
    (folder / f"{STORES_CONNECTION}.yaml").write_text(STORES_MERCHANT)
    return folder


@contextmanager
def _empty_database(admin: Engine, name: str) -> Iterator[None]:
    """A new database ``name`` on the tests' PostgreSQL server, dropped afterwards."""
    drop = text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.execute(drop)
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(drop)


@pytest.fixture(scope="module")
def erp(pg_server: URL, pg_admin_engine: Engine) -> Iterator[Engine]:
    """The SCSN supplier's Isah database, seeded, on the tests' PostgreSQL server."""
    with _empty_database(pg_admin_engine, "isah_cluster"):
        engine = create_erp_database(pg_server.set(database="isah_cluster"))
        yield engine
        engine.dispose()


@dataclass
class Stores:
    """Seed 003's two store databases: Helsinki (A) orders, Tampere (B) delivers."""

    a: Engine
    b: Engine


@pytest.fixture(scope="module")
def stores(pg_server: URL, pg_admin_engine: Engine) -> Iterator[Stores]:
    """Both stores, seeded (a purchase order to Tampere posted in A), on the tests' PostgreSQL."""
    with (
        _empty_database(pg_admin_engine, "store_a_cluster"),
        _empty_database(pg_admin_engine, "store_b_cluster"),
    ):
        a = create_store_database(pg_server.set(database="store_a_cluster"), STORE_A_SEED)
        b = create_store_database(pg_server.set(database="store_b_cluster"), STORE_B_SEED)
        yield Stores(a, b)
        a.dispose()
        b.dispose()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    partners: Partners,
    connections: Path,
    erp: Engine,
    stores: Stores,
) -> Iterator[Cluster]:
    """The running cluster with both merchants' DAGs parsed; stopped whatever happens."""
    base = tmp_path_factory.mktemp("cluster")
    dags = base / "dags"
    dags.mkdir()
    shutil.copy(INDEX_DAG_FILE, dags)
    sync_dag_files(dags / "connections", connections)
    stand_ins = {
        "sftp_cluster": partners.sftp.airflow_connection_uri(),
        "ipsoft_cluster": partners.ipsoft.airflow_connection(),
        "lenewblack_cluster": partners.lenewblack.airflow_connection(),
        "isah_cluster": airflow_connection(erp.url),
        "store_a_cluster": airflow_connection(stores.a.url),
        "store_b_cluster": airflow_connection(stores.b.url),
    }
    began = time.monotonic()
    with Cluster(base, dags, connections, stand_ins) as running:
        try:
            for dag_id in DAGS + STORES_DAGS:
                running.wait_for(f"{dag_id} to be parsed", lambda d=dag_id: _dag(running, d))
        except BaseException:
            print(running.tails(), flush=True)
            raise
        running.timings["cluster_up_s"] = time.monotonic() - began
        print(f"\ncluster: up in {running.timings['cluster_up_s']:.0f} s {_rounded(running)}")
        yield running


def _rounded(cluster: Cluster) -> dict[str, float]:
    return {k: round(v, 1) for k, v in cluster.timings.items()}


def _dag(cluster: Cluster, dag_id: str) -> dict[str, Any] | None:
    try:
        dag: dict[str, Any] = cluster.api("GET", f"/api/v2/dags/{dag_id}")
    except ClusterError:
        return None
    return dag


def _run(cluster: Cluster, dag_id: str, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
    return run


def _unfinished_runs(cluster: Cluster, dag_id: str) -> int:
    query = "state=queued&state=running"
    runs = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?{query}")
    return int(runs["total_entries"])


def _task_instances(cluster: Cluster, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
    return list(cluster.api("GET", path)["task_instances"])


def _trigger(cluster: Cluster, dag_id: str) -> str:
    """Unpause ``dag_id`` (new DAGs start paused) and trigger a run through the REST API."""
    dag = cluster.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    assert dag["is_paused"] is False
    run = cluster.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
    return str(run["dag_run_id"])


def _await_runs(cluster: Cluster, runs: dict[str, str]) -> None:
    """Wait until each triggered run (dag id -> run id) and any other run of its DAG has ended.

    Unpausing may also have scheduled a run of the latest interval; it is let
    end too, so that nothing of the DAG still runs when the test looks at the
    results. Every triggered run must have succeeded.
    """
    for dag_id, run_id in runs.items():
        cluster.wait_for(
            f"{dag_id} run {run_id} to finish",
            lambda d=dag_id, r=run_id: _run(cluster, d, r)["state"] in ("success", "failed"),
            timeout=RUN_TIMEOUT,
        )
        cluster.wait_for(
            f"every run of {dag_id} to finish",
            lambda d=dag_id: _unfinished_runs(cluster, d) == 0,
            timeout=RUN_TIMEOUT,
        )
    states = {dag_id: _run(cluster, dag_id, run_id)["state"] for dag_id, run_id in runs.items()}
    assert states == dict.fromkeys(runs, "success")


def _assert_ran_on_worker(cluster: Cluster, runs: dict[str, str]) -> None:
    """Celery ran every task of each run: the worker's log names each one, and its log exists."""
    executed = executed_on_worker(cluster.worker_log())
    for dag_id, run_id in runs.items():
        instances = _task_instances(cluster, dag_id, run_id)
        ran = {ti["task_id"] for ti in instances if ti["state"] == "success"}
        assert ran, f"no task of {dag_id} succeeded: {instances}"
        assert {ti["state"] for ti in instances} <= {"success", "skipped"}, instances
        on_worker = {task for d, r, task in executed if (d, r) == (dag_id, run_id)}
        assert ran <= on_worker, f"{dag_id}: not in the worker's log: {ran - on_worker}"
        print(f"cluster: on the Celery worker, {dag_id} {run_id}: {sorted(on_worker)}")
        for task_id in ran:
            task_logs = cluster.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
            assert list((task_logs / f"task_id={task_id}").glob("attempt=*.log")), task_id


@contextmanager
def _reported(cluster: Cluster, what: str) -> Iterator[None]:
    """Print the components' log tails when the block fails, and how long it took."""
    began = time.monotonic()
    try:
        yield
    except BaseException:
        print(cluster.tails(), flush=True)
        raise
    finally:
        print(f"cluster: {what} triggered, run and checked in {time.monotonic() - began:.0f} s")


def _local(sftp_root: Path, folder: str) -> Path:
    """The SFTP server's ``folder`` on disk, made if missing."""
    path = sftp_root / folder.lstrip("/")
    path.mkdir(parents=True, exist_ok=True)
    return path


#: The Celery provider's line for each task it runs: "[<celery id>] Executing workload in
#: Celery: ExecuteTask(..., ti=TaskInstance(..., task_id='fetch', dag_id='x', run_id='y', ...".
_EXECUTING = re.compile(
    r"Executing workload in Celery: .*?task_id='(?P<task>[^']+)', "
    r"dag_id='(?P<dag>[^']+)', run_id='(?P<run>[^']+)'"
)


def executed_on_worker(log: str) -> set[tuple[str, str, str]]:
    """(dag_id, run_id, task_id) of every task the worker's log says Celery executed."""
    return {(m["dag"], m["run"], m["task"]) for m in _EXECUTING.finditer(log)}


def test_a_file_flow_and_an_api_flow_run_on_the_celery_worker(
    cluster: Cluster, partners: Partners, connections: Path, erp: Engine
) -> None:
    with _reported(cluster, "flows"):
        _file_and_api_flows(cluster, partners, connections, erp)


def _file_and_api_flows(
    cluster: Cluster, partners: Partners, connections: Path, erp: Engine
) -> None:
    acme = load_connection(connections / f"{FILE_CONNECTION}.yaml").flows["orders"]
    scsn = load_connection(connections / f"{SCSN_CONNECTION}.yaml").flows["orders"]

    def local(folder: str) -> Path:
        return _local(partners.sftp.root, folder)

    for _, endpoint in acme.endpoints():
        local(endpoint.folder)
    for number in ORDER_NUMBERS:
        (local(acme.source.folder) / f"order_{number}.xml").write_bytes(samples.good_order(number))
    for _, endpoint in scsn.endpoints():
        if isinstance(endpoint, FileEndpoint):
            local(endpoint.folder)
    for name in SCSN_FILES:
        (local(scsn.source.folder) / name).write_bytes(order_message(SCSN_CASES[name].spec))

    # The three flows are independent: all triggered at once, then awaited.
    runs = {dag_id: _trigger(cluster, dag_id) for dag_id in DAGS}
    _await_runs(cluster, runs)
    _assert_ran_on_worker(cluster, runs)

    store = MessageStore(create_store_engine(cluster.sql_url("koppel_store")))
    try:
        # The file flow: one Monta file per order, the sources archived, each message delivered.
        monta = {p.name: p.read_bytes() for p in local(acme.target.folder).glob("*.xml")}
        assert sorted(monta) == [f"acme_order_{number}.xml" for number in ORDER_NUMBERS]
        reader = default_registry().get(acme.target.format)
        delivered_ids = [
            doc.order_id
            for name, data in monta.items()
            for doc in reader.read(data, source=name).documents
        ]
        assert sorted(delivered_ids) == list(ORDER_NUMBERS)
        assert not list(local(acme.source.folder).glob("*.xml"))
        assert acme.source.archive_folder is not None
        archived = sorted(p.name for p in local(acme.source.archive_folder).glob("*.xml"))
        assert archived == [f"order_{number}.xml" for number in ORDER_NUMBERS]
        inbound = store.find(connection_id=FILE_CONNECTION, flow="orders", direction=Direction.IN)
        assert sorted(m.document_key for m in inbound) == list(ORDER_NUMBERS)
        assert {m.status for m in inbound} == {MessageStatus.DELIVERED}

        _check_api_flow(store, partners)
        _check_scsn_import(store, erp, local(scsn.reply.folder))
    finally:
        store.engine.dispose()


def _check_scsn_import(store: MessageStore, erp: Engine, answers_folder: Path) -> None:
    """Each SCSN order in the ERP's tables once, written by Koppel; each message answered once."""
    references = [SCSN_CASES[name].spec.order_id for name in SCSN_FILES]
    with erp.connect() as conn:
        rows = conn.execute(
            select(sales_orders.c.order_reference, sales_orders.c.import_message).where(
                sales_orders.c.order_reference.in_(references)
            )
        ).all()
    assert sorted(reference for reference, _ in rows) == sorted(references)
    assert all(written for _, written in rows)
    answers = sorted(p.name for p in answers_folder.glob("*.xml"))
    assert len(answers) == len(SCSN_FILES), answers
    inbound = store.find(connection_id=SCSN_CONNECTION, flow="orders", direction=Direction.IN)
    assert {m.status for m in inbound} == {MessageStatus.DELIVERED}
    assert len(inbound) == len(SCSN_FILES)


def _check_api_flow(store: MessageStore, partners: Partners) -> None:
    """Each exportable portal order created in IPSoft once, and marked exported."""
    assert set(partners.ipsoft.state.orders) == EXPORTABLE
    created = [c for c in partners.ipsoft.calls if c[0] == "CreateOrder"]
    assert len(created) == len(EXPORTABLE)
    for reference in EXPORTABLE:
        assert partners.lenewblack.state.orders[reference].status == "exported"
    inbound = store.find(connection_id=API_CONNECTION, flow="orders", direction=Direction.IN)
    delivered = [m.document_key for m in inbound if m.status is MessageStatus.DELIVERED]
    assert sorted(delivered) == sorted(EXPORTABLE)


def test_seed_003_internal_orders_run_on_the_celery_worker(
    cluster: Cluster, partners: Partners, connections: Path, stores: Stores
) -> None:
    with _reported(cluster, "internal orders"):
        _internal_orders(cluster, partners, connections, stores)


def _internal_orders(
    cluster: Cluster, partners: Partners, connections: Path, stores: Stores
) -> None:
    """Seed 003's chain, one DAG at a time, since each takes what the one before it wrote."""
    company = load_connection(connections / f"{STORES_CONNECTION}.yaml")
    for config in company.flows.values():
        for _, endpoint in config.endpoints():
            if isinstance(endpoint, FileEndpoint):
                _local(partners.sftp.root, endpoint.folder)

    runs: dict[str, str] = {}
    for flow in STORES_FLOWS:
        if flow == "despatches":
            # Tampere delivers the sales order `orders` booked, short on the coffee.
            (sales_order,) = _with_lines(
                stores.b, store_erp_schema.sales_orders, store_erp_schema.sales_order_lines
            )
            deliver_sales_order(stores.b, sales_order["order_number"], DELIVERED)
        run = {company.dag_id(flow): _trigger(cluster, company.dag_id(flow))}
        _await_runs(cluster, run)
        runs.update(run)
    _assert_ran_on_worker(cluster, runs)

    store = MessageStore(create_store_engine(cluster.sql_url("koppel_store")))
    try:
        _check_internal_orders(store, stores, company, partners.sftp.root)
    finally:
        store.engine.dispose()


def _check_internal_orders(
    store: MessageStore, stores: Stores, company: ConnectionConfig, sftp_root: Path
) -> None:
    """One UBL order and one waybill, each sent and taken in once; both stores' rows updated.

    Tampere's internal sales order is priced at Tampere's average purchase
    price (else purchase price, else the message's), and Helsinki's purchase
    order is received with the waybill's quantities, the short line noted once.
    """
    (po,) = [
        p
        for p in _with_lines(
            stores.a, store_erp_schema.purchase_orders, store_erp_schema.purchase_order_lines
        )
        if p["supplier_id"] == STORE_B_ID
    ]
    order_number = str(po["order_number"])

    # purchase_orders -> orders: one UBL order file, taken in by `orders` and archived.
    order = _taken_in(company, sftp_root, "orders", "ubl.order")
    assert isinstance(order, Order)
    assert order.order_id == order_number
    assert [(line.supplier_article_code, line.quantity) for line in order.lines] == [
        (COFFEE, Decimal(10)),
        (TEA, Decimal(5)),
        (MUG, Decimal(2)),
    ]

    # orders: Tampere's one internal sales order, at its own average purchase prices.
    (sales_order,) = _with_lines(
        stores.b, store_erp_schema.sales_orders, store_erp_schema.sales_order_lines
    )
    assert sales_order["internal"] is True
    assert (sales_order["customer_id"], sales_order["order_reference"]) == (
        STORE_A_ID,
        order_number,
    )
    prices = [
        (line["product_code"], line["sales_price"], line["purchase_price"], line["price_source"])
        for line in sales_order["lines"]
    ]
    assert prices == [
        (COFFEE, Decimal("3.7200"), Decimal("3.7200"), "average_purchase_price"),
        (TEA, Decimal("2.2000"), Decimal("2.2000"), "purchase_price"),
        (MUG, Decimal("5.5000"), Decimal("5.5000"), "message"),
    ]

    # despatches -> waybills: one waybill with the delivered quantities and their prices.
    waybill = _taken_in(company, sftp_root, "waybills", "ubl.despatch_advice")
    assert isinstance(waybill, Waybill)
    assert waybill.order_id == order_number
    assert [(line.quantity, line.purchase_price) for line in waybill.lines] == [
        (Decimal(8), Decimal("3.7200")),
        (Decimal(5), Decimal("2.2000")),
        (Decimal(2), Decimal("5.5000")),
    ]

    # waybills: Helsinki's purchase order takes the waybill's quantities and prices, received.
    (received,) = [
        p
        for p in _with_lines(
            stores.a, store_erp_schema.purchase_orders, store_erp_schema.purchase_order_lines
        )
        if p["order_number"] == po["order_number"]
    ]
    assert received["status"] == "received"
    assert received["received_date"] is not None
    lines = [(line["quantity"], line["purchase_price"], line["text"]) for line in received["lines"]]
    assert lines == [
        (Decimal(8), Decimal("3.7200"), "Tilattu oli 10"),
        (Decimal(5), Decimal("2.2000"), None),
        (Decimal(2), Decimal("5.5000"), None),
    ]

    # Each document once in the store, also with the runs that unpausing scheduled.
    for flow, direction in (
        ("purchase_orders", Direction.OUT),
        ("orders", Direction.IN),
        ("despatches", Direction.OUT),
        ("waybills", Direction.IN),
    ):
        messages = store.find(connection_id=STORES_CONNECTION, flow=flow, direction=direction)
        assert [m.status for m in messages] == [MessageStatus.DELIVERED], flow


def _taken_in(company: ConnectionConfig, sftp_root: Path, flow: str, format_name: str) -> object:
    """The one document ``flow`` picked up: its folder is empty, its archive holds the file."""
    source = file_endpoint(company.flows[flow].source, "source")
    assert not list(_local(sftp_root, source.folder).glob("*.xml")), flow
    (archived,) = _local(sftp_root, source.archive_folder).glob("*.xml")
    result = default_registry().get(format_name).read(archived.read_bytes(), source=archived.name)
    assert not [p for p in result.problems if p.severity == "error"], result.problems
    (document,) = result.documents
    return document


def _with_lines(engine: Engine, header: Table, lines: Table) -> list[dict[str, Any]]:
    """Each row of a store's ``header`` table, by order number, with its ``lines`` in order."""
    key = "order_number"
    with engine.connect() as conn:
        heads = conn.execute(select(header).order_by(header.c[key])).mappings().all()
        children = conn.execute(
            select(lines).order_by(lines.c[key], lines.c.line_number)
        ).mappings()
        by_head: dict[Any, list[dict[str, Any]]] = {}
        for child in children:
            by_head.setdefault(child[key], []).append(dict(child))
    return [{**head, "lines": by_head.get(head[key], [])} for head in heads]
