"""The orders flow's engine against a real SFTP server and a real PostgreSQL store.

These run the pipeline steps directly (the DAG tests run them through
Airflow): good and bad files, hostile XML, reruns and crashes between steps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from koppel.config import ConnectionConfig, FileEndpoint, FlowConfig, load_connection
from koppel.formats import default_registry
from koppel.hooks.destinations import open_destinations
from koppel.hooks.file_sessions import open_file_session
from koppel.pipeline import acknowledge_batch, process_pending, receive_batch
from koppel.sandbox import samples
from koppel.sandbox.ftp_server import FTPServer
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MasterDataStore, MessageStatus, MessageStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MONTA_XSD = PROJECT_ROOT / "include" / "schemas" / "monta" / "order.xsd"

MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
  B2B: {{origin: acme-wholesale}}
vars:
  sftp_conn_id: {conn_id}
flows:
  orders:
    retries: 0
    max_file_bytes: 1000000
    source:
      stable_seconds: 0
"""


@pytest.fixture
def acme(connections_dir: Path, sftp_server: SFTPServer) -> ConnectionConfig:
    path = connections_dir / "itsperfect_acme.yaml"
    path.write_text(MERCHANT.format(conn_id=sftp_server.conn_id))
    return load_connection(path)


@pytest.fixture
def orders(acme: ConnectionConfig) -> FlowConfig:
    return acme.flows["orders"]


Step = Callable[..., None]


class Folders:
    """The merchant's folders on the SFTP server's disk."""

    def __init__(self, root: Path, flow: FlowConfig) -> None:
        self.inbound = root / flow.source.folder.lstrip("/")
        self.archive = root / flow.source.archive_folder.lstrip("/")
        self.error = root / flow.source.error_folder.lstrip("/")
        self.target = root / flow.target.folder.lstrip("/")
        self.inbound.mkdir(parents=True, exist_ok=True)

    def drop(self, name: str, payload: bytes) -> None:
        (self.inbound / name).write_bytes(payload)

    @staticmethod
    def names(folder: Path, pattern: str = "*") -> list[str]:
        return sorted(p.name for p in folder.glob(pattern)) if folder.exists() else []


@pytest.fixture
def folders(sftp_server: SFTPServer, orders: FlowConfig) -> Folders:
    return Folders(sftp_server.root, orders)


def receive(store: MessageStore, acme: ConnectionConfig, flow: FlowConfig, run_id: str) -> int:
    with open_file_session("sftp", flow.source.conn_id) as session:
        return receive_batch(session, store, acme, flow, run_id=run_id).received


def process(store: MessageStore, acme: ConnectionConfig, flow: FlowConfig, run_id: str) -> int:
    with open_destinations() as destinations:
        outcome = process_pending(
            store,
            MasterDataStore(store.engine),
            default_registry(),
            acme,
            flow,
            run_id=run_id,
            destination=destinations.get,
        )
    return outcome.delivered


def acknowledge(
    store: MessageStore, acme: ConnectionConfig, flow: FlowConfig, run_id: str = "run-1"
) -> None:
    with open_file_session("sftp", flow.source.conn_id) as session:
        acknowledge_batch(session, store, acme, flow, run_id=run_id)


def run(
    store: MessageStore, acme: ConnectionConfig, flow: FlowConfig, run_id: str = "run-1"
) -> None:
    receive(store, acme, flow, run_id)
    process(store, acme, flow, run_id)
    acknowledge(store, acme, flow, run_id)


def inbound(store: MessageStore, status: MessageStatus | None = None) -> list:
    statuses = [status] if status else None
    return store.find(
        connection_id="itsperfect_acme", flow="orders", direction=Direction.IN, statuses=statuses
    )


def assert_valid_monta(path: Path) -> etree._ElementTree:
    schema = etree.XMLSchema(etree.parse(str(MONTA_XSD)))
    tree = etree.parse(str(path))
    assert schema.validate(tree), schema.error_log
    return tree


def test_good_files_are_delivered_and_bad_ones_rejected(
    store: MessageStore,
    acme: ConnectionConfig,
    orders: FlowConfig,
    folders: Folders,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folders.drop("order_1.xml", samples.good_order("1001", channel="webshop", lines=3))
    folders.drop("order_2.xml", samples.good_order("1002", channel="wholesale", lines=2))
    folders.drop("order_3.xml", samples.broken_xml())
    folders.drop("order_4.xml", samples.xsd_violation())
    folders.drop("order_5.xml", samples.unknown_value())
    folders.drop("notes.txt", b"not an order")
    # Airflow's logging set-up replaces the root handlers when the hooks first load it.
    task_log = logging.getLogger("koppel.pipeline.process")
    task_log.addHandler(caplog.handler)

    try:
        run(store, acme, orders)
    finally:
        task_log.removeHandler(caplog.handler)

    assert folders.names(folders.target) == ["acme_order_1001.xml", "acme_order_1002.xml"]
    for name in folders.names(folders.target):
        tree = assert_valid_monta(folders.target / name)
        assert (
            name.removeprefix("acme_order_").removesuffix(".xml") in etree.tostring(tree).decode()
        )
    assert folders.names(folders.archive) == ["order_1.xml", "order_2.xml"]
    assert folders.names(folders.error, "*.xml") == ["order_3.xml", "order_4.xml", "order_5.xml"]
    assert folders.names(folders.inbound, "*.*") == ["notes.txt"]

    by_source = {Path(m.source_name).name: m for m in inbound(store)}
    assert {n: m.status for n, m in by_source.items()} == {
        "order_1.xml": MessageStatus.DELIVERED,
        "order_2.xml": MessageStatus.DELIVERED,
        "order_3.xml": MessageStatus.REJECTED,
        "order_4.xml": MessageStatus.REJECTED,
        "order_5.xml": MessageStatus.REJECTED,
    }
    assert by_source["order_3.xml"].problems[0].code == "xml.syntax"
    assert by_source["order_3.xml"].problems[0].line is not None
    assert any(p.code.startswith("xsd.") for p in by_source["order_4.xml"].problems)
    assert any(p.code == "mapping.lookup" for p in by_source["order_5.xml"].problems)
    assert by_source["order_1.xml"].document[0]["order_id"] == "1001"
    assert by_source["order_1.xml"].payload == (folders.archive / "order_1.xml").read_bytes()
    report = (folders.error / "order_4.xml.problems.txt").read_text()
    assert "xsd." in report
    # The task log names each rejected document and why, not just a count.
    # A set: the record may reach the capture twice, through the logger and through root.
    logged = {r.getMessage() for r in caplog.records if r.name == "koppel.pipeline.process"}
    for name in ("order_3.xml", "order_4.xml", "order_5.xml"):
        message = by_source[name]
        (line,) = {x for x in logged if x.startswith(f"message {message.id} (")}
        assert "rejected: " in line
        assert message.problems[0].message.split(":")[0] in line


def test_rerun_delivers_nothing_twice(
    store: MessageStore, acme: ConnectionConfig, orders: FlowConfig, folders: Folders
) -> None:
    good = samples.good_order("2001")
    folders.drop("order_2001.xml", good)
    run(store, acme, orders, "run-1")
    delivered = (folders.target / "acme_order_2001.xml").read_bytes()

    run(store, acme, orders, "run-2")
    folders.drop("order_2001.xml", good)  # the partner sends the same file again
    run(store, acme, orders, "run-3")

    assert folders.names(folders.target) == ["acme_order_2001.xml"]
    assert (folders.target / "acme_order_2001.xml").read_bytes() == delivered
    (message,) = inbound(store)
    assert message.status is MessageStatus.DELIVERED
    assert [p.code for p in message.problems] == ["file.duplicate"]
    assert len(folders.names(folders.archive)) == 2
    (out,) = store.find(connection_id="itsperfect_acme", flow="orders", direction=Direction.OUT)
    assert [a.attempt_no for a in store.attempts(out.id)] == [1]


def test_a_file_another_run_archived_meanwhile_is_no_re_send(
    store: MessageStore, acme: ConnectionConfig, orders: FlowConfig, folders: Folders
) -> None:
    """Two runs list the same new file; the one that stored it archives it before the other
    moves it. The other must see no re-send (and not fail the run): the file is simply gone."""
    from koppel.pipeline.receive import _archive_duplicate

    good = samples.good_order("2002")
    folders.drop("order_2002.xml", good)
    source = orders.source
    assert isinstance(source, FileEndpoint)
    with open_file_session("sftp", source.conn_id) as session:
        (listed,) = [f for f in session.list_files(source.folder) if f.name == "order_2002.xml"]
    run(store, acme, orders, "run-1")  # stores, delivers and archives it meanwhile
    (message,) = inbound(store)

    with open_file_session("sftp", source.conn_id) as session:
        archived = _archive_duplicate(session, store, orders, listed, message.id)

    assert archived is False
    assert inbound(store)[0].problems == []  # no "file.duplicate" note
    assert folders.names(folders.archive) == ["order_2002.xml"]


def test_the_same_order_in_another_file_is_not_sent_again(
    store: MessageStore, acme: ConnectionConfig, orders: FlowConfig, folders: Folders
) -> None:
    folders.drop("a.xml", samples.good_order("3001", lines=1))
    run(store, acme, orders, "run-1")
    folders.drop("b.xml", samples.good_order("3001", lines=2))
    run(store, acme, orders, "run-2")

    assert folders.names(folders.target) == ["acme_order_3001.xml"]
    rejected = inbound(store, MessageStatus.REJECTED)
    assert [Path(m.source_name).name for m in rejected] == ["b.xml"]
    assert rejected[0].problems[0].code == "delivery.duplicate"


@pytest.mark.parametrize("crash_after", ["receive", "process"])
def test_a_crash_between_steps_loses_and_duplicates_nothing(
    crash_after: str,
    store: MessageStore,
    acme: ConnectionConfig,
    orders: FlowConfig,
    folders: Folders,
) -> None:
    folders.drop("order_4001.xml", samples.good_order("4001"))
    folders.drop("order_4002.xml", samples.good_order("4002"))
    receive(store, acme, orders, "crashed")
    if crash_after == "process":
        process(store, acme, orders, "crashed")

    run(store, acme, orders, "rerun")

    assert folders.names(folders.target) == ["acme_order_4001.xml", "acme_order_4002.xml"]
    assert folders.names(folders.archive) == ["order_4001.xml", "order_4002.xml"]
    assert len(inbound(store)) == 2
    assert all(m.status is MessageStatus.DELIVERED for m in inbound(store))
    outbound = store.find(connection_id="itsperfect_acme", flow="orders", direction=Direction.OUT)
    assert len(outbound) == 2
    assert all(len(store.attempts(m.id)) == 1 for m in outbound)


def test_a_different_file_already_at_the_target_is_never_overwritten(
    store: MessageStore, acme: ConnectionConfig, orders: FlowConfig, folders: Folders
) -> None:
    folders.target.mkdir(parents=True)
    (folders.target / "acme_order_5001.xml").write_bytes(b"<somebody-elses/>")
    folders.drop("order_5001.xml", samples.good_order("5001"))

    run(store, acme, orders)

    assert (folders.target / "acme_order_5001.xml").read_bytes() == b"<somebody-elses/>"
    (message,) = inbound(store)
    assert message.status is MessageStatus.REJECTED
    assert message.problems[-1].code == "delivery.refused"
    assert folders.names(folders.error, "*.xml") == ["order_5001.xml"]


def test_an_order_for_a_channel_the_merchant_lacks_is_rejected(
    store: MessageStore, connections_dir: Path, sftp_server: SFTPServer
) -> None:
    path = connections_dir / "itsperfect_acme.yaml"
    path.write_text(
        MERCHANT.format(conn_id=sftp_server.conn_id).replace(
            "  B2B: {origin: acme-wholesale}\n", ""
        )
    )
    acme = load_connection(path)
    flow = acme.flows["orders"]
    folders = Folders(sftp_server.root, flow)
    folders.drop("order_6001.xml", samples.good_order("6001", channel="wholesale"))

    run(store, acme, flow)

    (message,) = inbound(store)
    assert message.status is MessageStatus.REJECTED
    assert message.problems[0].code == "channel.not_configured"
    assert folders.names(folders.target) == []


SECRET = "TOP-SECRET-CONTENT-4711"


def _hostile_files(secret_file: Path) -> dict[str, tuple[bytes, str]]:
    """Each hostile file and the problem code it must be rejected with."""
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE Orders [<!ENTITY x SYSTEM "file://{secret_file}">]>\n'
        '<Orders xmlns="urn:koppel:itsperfect:order:1"><Order><OrderNumber>&x;</OrderNumber>'
        "</Order></Orders>"
    ).encode()
    laughs = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
        for i in range(9)
    )
    laughs += ']>\n<Orders xmlns="urn:koppel:itsperfect:order:1">&lol8;</Orders>'
    huge = b'<?xml version="1.0"?><Orders>' + b"<!-- padding -->" * 3_300_000 + b"</Orders>"
    latin1 = samples.good_order("7001").replace(
        b"</Orders>", "<!-- Café -->".encode("latin-1") + b"</Orders>"
    )
    truncated = samples.good_order("7002")[:-40]
    return {
        "xxe.xml": (xxe, "xml.doctype"),
        "laughs.xml": (laughs.encode(), "xml.doctype"),
        "huge.xml": (huge, "file.too_large"),
        "latin1.xml": (latin1, "xml.encoding"),
        "truncated.xml": (truncated, "xml.syntax"),
    }


def test_hostile_files_end_as_stored_rejected_messages(
    tmp_path: Path,
    store: MessageStore,
    acme: ConnectionConfig,
    orders: FlowConfig,
    folders: Folders,
) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    hostile = _hostile_files(secret_file)
    for name, (payload, _) in hostile.items():
        folders.drop(name, payload)
    folders.drop("order_7003.xml", samples.good_order("7003"))

    run(store, acme, orders)

    assert folders.names(folders.target) == ["acme_order_7003.xml"]
    by_source = {Path(m.source_name).name: m for m in inbound(store)}
    for name, (_, code) in hostile.items():
        message = by_source[name]
        assert message.status is MessageStatus.REJECTED, name
        assert message.problems[0].code == code, (name, message.problems)
        assert (folders.error / name).exists()
        assert SECRET not in str(message.problems)
        assert message.document is None
    assert by_source["huge.xml"].payload == b""
    assert by_source["huge.xml"].size_bytes == 0
    for path in folders.target.iterdir():
        assert SECRET not in path.read_text()


def test_an_order_the_target_format_cannot_express_is_rejected_before_delivery(
    store: MessageStore, acme: ConnectionConfig, orders: FlowConfig, folders: Folders
) -> None:
    order = samples.good_order("9001")
    method = etree.fromstring(order).find(".//{urn:koppel:itsperfect:order:1}ShippingMethod")
    assert method is not None
    folders.drop("order_9001.xml", order.replace(f">{method.text}<".encode(), b">Teleport<"))

    run(store, acme, orders)

    (message,) = inbound(store)
    assert message.status is MessageStatus.REJECTED
    assert any("Teleport" in p.message for p in message.problems), message.problems
    assert folders.names(folders.target) == []
    assert folders.names(folders.error, "*.xml") == ["order_9001.xml"]


def test_a_manual_run_can_take_only_some_files(
    store: MessageStore, acme: ConnectionConfig, orders: FlowConfig, folders: Folders
) -> None:
    for number in ("10001", "10002", "20001"):
        folders.drop(f"order_{number}.xml", samples.good_order(number))
    with open_file_session("sftp", orders.source.conn_id) as session:
        outcome = receive_batch(session, store, acme, orders, run_id="manual", only=["order_1*"])
    assert outcome.received == 2
    with open_file_session("sftp", orders.source.conn_id) as session:
        outcome = receive_batch(session, store, acme, orders, run_id="manual-2", limit=1)
    assert outcome.received == 0  # the first file (by name) is already stored
    process(store, acme, orders, "manual")
    acknowledge(store, acme, orders)

    assert folders.names(folders.target) == ["acme_order_10001.xml", "acme_order_10002.xml"]
    assert folders.names(folders.inbound, "*.xml") == ["order_20001.xml"]


FTP_MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
flows:
  orders:
    source:
      transport: ftp
      conn_id: {conn_id}
      done_suffix: .done
    target:
      transport: ftp
      conn_id: {conn_id}
      done_suffix: .ready
"""


def test_the_same_flow_runs_over_ftp_with_done_markers(
    store: MessageStore, connections_dir: Path, ftp_server: FTPServer
) -> None:
    path = connections_dir / "itsperfect_acme.yaml"
    path.write_text(FTP_MERCHANT.format(conn_id=ftp_server.conn_id))
    acme = load_connection(path)
    flow = acme.flows["orders"]
    folders = Folders(ftp_server.root, flow)
    folders.drop("order_1.xml", samples.good_order("11001"))
    folders.drop("order_1.xml.done", b"")
    folders.drop("order_2.xml", samples.good_order("11002"))  # no marker yet: not complete

    with open_file_session("ftp", flow.source.conn_id) as session:
        receive_batch(session, store, acme, flow, run_id="ftp-1")
    with open_destinations() as destinations:
        process_pending(
            store,
            MasterDataStore(store.engine),
            default_registry(),
            acme,
            flow,
            run_id="ftp-1",
            destination=destinations.get,
        )
    with open_file_session("ftp", flow.source.conn_id) as session:
        acknowledge_batch(session, store, acme, flow, run_id="ftp-1")

    assert folders.names(folders.target) == ["acme_order_11001.xml", "acme_order_11001.xml.ready"]
    assert_valid_monta(folders.target / "acme_order_11001.xml")
    assert folders.names(folders.archive) == ["order_1.xml", "order_1.xml.done"]
    assert folders.names(folders.inbound, "*.xml") == ["order_2.xml"]
