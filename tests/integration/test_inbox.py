"""The electronic-messages inbox end to end: ``koppel messages``, ``show``, ``edit`` and ``replay``.

Against a real PostgreSQL store and a real SFTP server; the commands run as a
user runs them (``koppel.cli.main``), the flow's steps as its tasks run them.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from koppel.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from koppel.config import ConnectionConfig, FlowConfig, file_endpoint, load_connection
from koppel.documents import Problem, Severity, StockLevel
from koppel.formats import default_registry
from koppel.hooks.destinations import open_destinations
from koppel.hooks.file_sessions import open_file_session
from koppel.hooks.lenewblack import LeNewBlackHook, api_path
from koppel.pipeline import acknowledge_batch, process_pending, receive_batch
from koppel.pipeline.portal_changes import order_source_name
from koppel.sandbox import samples
from koppel.sandbox.ipsoft import IPSoftServer, Product
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.lenewblack.seed import demo_order_skus
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import (
    Direction,
    MasterDataStore,
    Message,
    MessageStatus,
    MessageStore,
    StoreConflictError,
)
from koppel.store.schema import messages
from tests.fixtures.lenewblack import LENEWBLACK_CONN_ID, NOORDZEE_MERCHANT

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONNECTION = "itsperfect_acme"
MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
channels:
  B2C: {{origin: acme-webshop}}
vars:
  sftp_conn_id: {conn_id}
flows:
  orders:
    retries: 0
    max_file_bytes: 100000
    options: {{backorder_handling: {backorders}}}
    source: {{stable_seconds: 0}}
"""
DRESS, TEE = "JL-DRESS-001-BLK-M", "JL-TEE-203-WHT-S"


@pytest.fixture
def store_url(store_engine: Engine) -> str:
    return store_engine.url.render_as_string(hide_password=False)


def _connection(folder: Path, sftp: SFTPServer, *, backorders: bool) -> ConnectionConfig:
    path = folder / f"{CONNECTION}.yaml"
    path.write_text(MERCHANT.format(conn_id=sftp.conn_id, backorders=str(backorders).lower()))
    connection = load_connection(path)
    for role, endpoint in connection.flows["orders"].endpoints():
        remote = file_endpoint(endpoint, role).folder
        (sftp.root / remote.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return connection


@pytest.fixture
def acme(connections_dir: Path, sftp_server: SFTPServer) -> ConnectionConfig:
    return _connection(connections_dir, sftp_server, backorders=False)


class Server:
    """The flow's folders on the SFTP server's disk, and its steps run as its tasks run them."""

    def __init__(self, sftp: SFTPServer, store: MessageStore, connection: ConnectionConfig) -> None:
        self.store = store
        self.connection = connection
        self.flow: FlowConfig = connection.flows["orders"]
        self.source = file_endpoint(self.flow.source, "source")
        self.inbound = sftp.root / self.source.folder.lstrip("/")
        self.archive = sftp.root / self.source.archive_folder.lstrip("/")
        self.error = sftp.root / self.source.error_folder.lstrip("/")
        self.target = sftp.root / file_endpoint(self.flow.target, "target").folder.lstrip("/")

    def drop(self, name: str, payload: bytes) -> None:
        (self.inbound / name).write_bytes(payload)

    def run(self, run_id: str = "run-1") -> None:
        """Receive, process and acknowledge, as one scheduled run of the flow."""
        with open_file_session("sftp", self.source.conn_id) as session:
            receive_batch(session, self.store, self.connection, self.flow, run_id=run_id)
        with open_destinations() as destinations:
            process_pending(
                self.store,
                MasterDataStore(self.store.engine),
                default_registry(),
                self.connection,
                self.flow,
                run_id=run_id,
                destination=destinations.get,
            )
        with open_file_session("sftp", self.source.conn_id) as session:
            acknowledge_batch(session, self.store, self.connection, self.flow, run_id=run_id)

    def inbound_messages(self) -> list[Message]:
        return self.store.find(connection_id=CONNECTION, flow="orders", direction=Direction.IN)

    @staticmethod
    def names(folder: Path) -> list[str]:
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


@pytest.fixture
def server(sftp_server: SFTPServer, store: MessageStore, acme: ConnectionConfig) -> Server:
    return Server(sftp_server, store, acme)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- koppel messages -----------------------------------------------------------------------


def _stored(
    store: MessageStore,
    name: str,
    status: MessageStatus,
    problems: list[Problem] = (),  # type: ignore[assignment]
    *,
    flow: str = "orders",
) -> int:
    receipt = store.receive(connection_id="scsn_acme", flow=flow, source_name=name, payload=b"<o/>")
    store.update(receipt.message_id, status=status, problems=list(problems))
    return receipt.message_id


def _listed(out: str) -> list[int]:
    return [int(line.split()[0]) for line in out.splitlines()[1:]]


def test_messages_filters_by_problem_code_status_direction_and_time(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    price = Problem(code="scsn.price.mismatch", message="price differs", field="cbc:PriceAmount")
    price_list = Problem(code="scsn.price_list", message="no price list")
    credit = Problem(code="scsn.credit_limit", message="over the limit")
    deviation = Problem(code="scsn.price.deviation", message="taken over", severity=Severity.INFO)
    a = _stored(store, "/in/a.xml", MessageStatus.REJECTED, [price, credit])
    b = _stored(store, "/in/b.xml", MessageStatus.REJECTED, [price_list])
    c = _stored(store, "/in/c.xml", MessageStatus.DELIVERED, [deviation])
    d = _stored(store, "/in/d.xml", MessageStatus.HELD, [credit], flow="invoices")
    e = _stored(store, "/in/e.xml", MessageStatus.RECEIVED)
    with store.engine.begin() as conn:  # a and b came in a week earlier
        conn.execute(
            update(messages)
            .where(messages.c.id.in_([a, b]))
            .values(created_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
        )
    url = ("--store-url", store_url)

    code, out, _ = _cli(capsys, "messages", *url, "--problem", "scsn.price")
    assert (code, _listed(out)) == (EXIT_OK, [c, b, a])
    # "_" is a character of the code, not a wildcard: scsn.price.mismatch does not match.
    assert _listed(_cli(capsys, "messages", *url, "--problem", "scsn.price_")[1]) == [b]
    assert _listed(_cli(capsys, "messages", *url, "--problem", "scsn.credit")[1]) == [d, a]
    assert _listed(_cli(capsys, "messages", *url, "--problem", "xml")[1]) == []
    argv: tuple[str, ...] = ("--status", "rejected", "--status", "held")
    assert _listed(_cli(capsys, "messages", *url, *argv)[1]) == [d, b, a]
    argv = ("--status", "rejected", "--problem", "scsn.price", "--flow", "orders")
    assert _listed(_cli(capsys, "messages", *url, *argv)[1]) == [b, a]
    assert _listed(_cli(capsys, "messages", *url, "--direction", "out")[1]) == []
    assert _listed(_cli(capsys, "messages", *url, "--direction", "in")[1]) == [e, d, c, b, a]
    assert _listed(_cli(capsys, "messages", *url, "--until", "2026-11-20")[1]) == [b, a]
    argv = ("--until", "2026-11-20T09:30:00Z")  # the end of a range is not in it
    assert _listed(_cli(capsys, "messages", *url, *argv)[1]) == []
    assert _listed(_cli(capsys, "messages", *url, "--since", "2026-11-21")[1]) == [e, d, c]
    argv = ("--since", "2026-11-20T10:30:00+01:00")  # 09:30 UTC
    assert _listed(_cli(capsys, "messages", *url, *argv)[1]) == [e, d, c, b, a]

    code, out, err = _cli(capsys, "messages", *url, "--problem", "scsn.", "--limit", "2")
    assert (code, _listed(out)) == (EXIT_OK, [d, c])
    assert err == "showing the newest 2 of 4; use --limit to see more\n"


def test_messages_list_escapes_what_the_partner_named(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = Problem(code="xml.syntax", message="bad \x1b[2J\x1b]0;owned\x07 value")
    _stored(store, "/in/\x1b[31mred\u202e.xml", MessageStatus.REJECTED, [hostile])
    code, out, _ = _cli(capsys, "messages", "--store-url", store_url, "--problems")
    assert code == EXIT_OK
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\x07" not in out
    assert "/in/\\x1b[31mred\\u202e.xml" in out
    assert "bad \\x1b[2J\\x1b]0;owned\\x07 value" in out


# -- koppel messages show / edit ---------------------------------------------------------------


HOSTILE_ORDER = (
    b'<?xml version="1.0"?>\n<Orders><Order><Note>pay to \xe2\x80\xae'
    b"LN99 \x1b]0;owned\x07</Note></Order></Orders>\n"
)


def test_show_prints_payload_problems_decisions_edits_and_copies_escaped(
    server: Server, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.drop("order_1.xml", samples.good_order("1001", channel="webshop"))
    server.drop("order_2.xml", HOSTILE_ORDER)
    server.run()
    delivered, rejected = server.inbound_messages()
    note = Problem(code="backorder.line_removed", message="line 2 \x1b[1m", severity=Severity.INFO)
    server.store.add_problems(delivered.id, [note])

    code, out, _ = _cli(capsys, "messages", "show", str(delivered.id), "--store-url", store_url)
    assert code == EXIT_OK
    assert f"message {delivered.id} (inbound, {CONNECTION} / orders)" in out
    assert "status      delivered" in out
    assert "problems (0)" in out
    assert "decisions (1)\n  info    backorder.line_removed: line 2 \\x1b[1m" in out
    (copy,) = server.store.find(connection_id=CONNECTION, flow="orders", direction=Direction.OUT)
    assert f"outbound (1)\n  message {copy.id} target delivered -> {copy.target_name}" in out
    assert f"attempt 1 delivered sftp:{copy.target_name}" in out
    assert "file        archive:" in out
    assert "payload (" in out
    assert "XML, pretty-printed" in out
    assert '"order_id": "1001"' in out  # the parsed document

    # The hostile file is not XML (a control character): shown raw, and escaped.
    code, out, _ = _cli(capsys, "messages", "show", str(rejected.id), "--store-url", store_url)
    assert code == EXIT_OK
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\x07" not in out
    assert "raw)" in out
    assert "pay to \\u202eLN99 \\x1b]0;owned\\x07" in out
    assert "problems (1)\n  error   xml.syntax order_2.xml:2: PCDATA invalid Char value 27" in out
    assert "edits (0)" in out
    assert "document (parsed)\n  (not parsed)" in out


def test_edit_keeps_the_original_and_records_who_when_and_the_diff(
    server: Server, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.drop("order_3.xml", samples.unknown_value())
    server.run()
    (message,) = server.inbound_messages()
    assert message.status is MessageStatus.REJECTED
    fixed = samples.unknown_value().replace(b"marketplace", b"webshop")
    corrected = tmp_path / "fixed.xml"
    corrected.write_bytes(fixed)
    before = datetime.now(UTC)

    code, out, _ = _cli(
        capsys,
        "messages", "edit", str(message.id), "--file", str(corrected), "--user", "alice",
        "--store-url", store_url,
    )  # fmt: skip

    assert code == EXIT_OK
    assert f"message {message.id}: edit " in out
    assert "stored by alice" in out
    assert "-" in out
    assert "+" in out
    assert "webshop" in out
    assert f"`koppel replay {message.id}`" in out
    (edit,) = server.store.edits(message.id)
    assert edit.edited_by == "alice"
    assert edit.edited_at >= before
    assert edit.payload == fixed
    assert edit.original_checksum == message.checksum
    assert f"--- message {message.id} (received)" in edit.diff
    assert "+" in edit.diff
    assert "webshop" in edit.diff
    assert "marketplace" in edit.diff
    reopened = server.store.get(message.id)
    assert reopened.status is MessageStatus.RECEIVED  # back to be processed, as a replay does
    assert reopened.payload == fixed
    assert reopened.edit_id == edit.id
    assert server.store.received_payload(message.id) == samples.unknown_value()  # kept

    code, out, _ = _cli(capsys, "messages", "show", str(message.id), "--store-url", store_url)
    assert f"edits (1)\n  edit {edit.id} by alice at " in out
    assert "payload as received (" in out
    assert f"payload of edit {edit.id} (processed) (" in out

    # The same bytes again store nothing; too large for the flow is refused.
    code, out, _ = _cli(
        capsys, "messages", "edit", str(message.id), "--file", str(corrected),
        "--store-url", store_url,
    )  # fmt: skip
    assert (code, len(server.store.edits(message.id))) == (EXIT_OK, 1)
    assert "holds this payload already" in out
    corrected.write_bytes(b"<x>" + b"a" * 100_000 + b"</x>")
    code, _, err = _cli(
        capsys, "messages", "edit", str(message.id), "--file", str(corrected),
        "--store-url", store_url,
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert "max_file_bytes of 100,000" in err


# -- koppel replay -----------------------------------------------------------------------------


def test_replay_of_a_fixed_rejected_order_delivers_it_once_and_archives_its_file(
    server: Server,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.drop("order_3.xml", samples.unknown_value())
    server.run()
    (message,) = server.inbound_messages()
    assert message.status is MessageStatus.REJECTED
    assert server.names(server.error) == ["order_3.xml", "order_3.xml.problems.txt"]
    assert server.names(server.target) == []

    code, out, _ = _cli(capsys, "replay", str(message.id), "--store-url", store_url)
    assert code == EXIT_PROBLEMS  # nothing fixed yet: every check runs again and fails again
    assert f"message {message.id} ({CONNECTION}__orders, was rejected): rejected" in out
    assert "error   mapping.lookup" in out
    assert f"koppel messages edit {message.id} --file FILE" in out
    assert server.names(server.error) == ["order_3.xml", "order_3.xml.problems.txt"]
    report = (server.error / "order_3.xml.problems.txt").read_text()
    assert "error mapping.lookup" in report  # rewritten with today's problems

    corrected = tmp_path / "fixed.xml"
    corrected.write_bytes(samples.unknown_value().replace(b"marketplace", b"webshop"))
    argv = ("--file", str(corrected), "--store-url", store_url)
    monkeypatch.setenv("LOGNAME", "bob")
    assert _cli(capsys, "messages", "edit", str(message.id), *argv)[0] == EXIT_OK
    assert [e.edited_by for e in server.store.edits(message.id)] == ["bob"]  # the login name

    code, out, _ = _cli(capsys, "replay", str(message.id), "--store-url", store_url)

    assert code == EXIT_OK, out
    assert f"message {message.id} ({CONNECTION}__orders, was received): delivered" in out
    (copy,) = server.store.find(connection_id=CONNECTION, flow="orders", direction=Direction.OUT)
    assert f"target message {copy.id} delivered -> {copy.target_name} (sent now)" in out
    error_file = f"{server.source.error_folder}/order_3.xml"
    archived = f"{server.source.archive_folder}/order_3.xml"
    assert f"file error:{error_file} -> archive:{archived}" in out
    assert server.names(server.target) == [Path(copy.target_name or "").name]
    assert server.names(server.error) == []  # the file and its stale report are gone
    assert server.names(server.archive) == ["order_3.xml"]
    replayed = server.store.get(message.id)
    assert (replayed.status, replayed.disposition) == (
        MessageStatus.DELIVERED,
        f"archive:{archived}",
    )
    assert [a.outcome.value for a in server.store.attempts(copy.id)] == ["delivered"]

    server.run("run-2")  # the next scheduled run has nothing left to do with it
    assert server.names(server.archive) == ["order_3.xml"]
    assert len(server.store.attempts(copy.id)) == 1


def test_replay_of_a_delivered_message_delivers_nothing_twice(
    server: Server, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.drop("order_1.xml", samples.good_order("1001"))
    server.run()
    (message,) = server.inbound_messages()
    (copy,) = server.store.find(connection_id=CONNECTION, flow="orders", direction=Direction.OUT)
    delivered = server.names(server.target)
    note = Problem(code="stock.unknown_passed", message="sent as is", severity=Severity.INFO)
    server.store.add_problems(message.id, [note])

    code, _, err = _cli(capsys, "replay", str(message.id), "--store-url", store_url)
    assert code == EXIT_USAGE
    assert "was delivered; replaying it now delivers nothing twice" in err
    assert "Pass --force" in err

    code, out, _ = _cli(capsys, "replay", str(message.id), "--force", "--store-url", store_url)

    assert code == EXIT_OK, out
    assert "was delivered): delivered" in out
    assert f"target message {copy.id} delivered -> {copy.target_name} (delivered before" in out
    assert "nothing was delivered twice" in out
    assert server.names(server.target) == delivered
    assert len(server.store.attempts(copy.id)) == 1
    assert server.names(server.archive) == ["order_1.xml"]
    assert server.store.get(message.id).problems == [note]  # its decisions are kept


def test_replay_of_a_held_order_delivers_it_once_the_stock_arrived(
    connections_dir: Path,
    sftp_server: SFTPServer,
    store: MessageStore,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = Server(sftp_server, store, _connection(connections_dir, sftp_server, backorders=True))
    server.drop("order_9.xml", samples.order_with_lines("901", [(DRESS, 2), (TEE, 1)]))
    server.run()
    (message,) = server.inbound_messages()
    assert message.status is MessageStatus.HELD  # no stock update received yet
    assert server.names(server.inbound) == ["order_9.xml"]

    code, out, _ = _cli(capsys, "replay", str(message.id), "--store-url", store_url)
    assert code == EXIT_PROBLEMS
    assert "was held): held" in out
    assert "warning stock.unknown" in out

    MasterDataStore(store.engine).replace_stock(
        CONNECTION,
        [StockLevel(sku=DRESS, quantity=Decimal(5)), StockLevel(sku=TEE, quantity=Decimal(0))],
        as_of=datetime.now(UTC),
        message_id=None,
    )
    code, out, _ = _cli(capsys, "replay", str(message.id), "--store-url", store_url)

    assert code == EXIT_OK, out
    assert f"message {message.id} ({CONNECTION}__orders, was held): delivered" in out
    assert "(sent now)" in out
    assert "info    backorder.line_removed" in out
    assert len(server.names(server.target)) == 1
    assert server.names(server.archive) == ["order_9.xml"]
    assert server.names(server.inbound) == []


def test_replay_queue_only_requeues_for_the_next_run(
    server: Server, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.drop("order_3.xml", samples.unknown_value())
    server.run()
    (message,) = server.inbound_messages()

    code, out, _ = _cli(capsys, "replay", str(message.id), "--queue", "--store-url", store_url)

    assert code == EXIT_OK
    assert f"queued for the next run of {CONNECTION}__orders" in out
    assert server.store.get(message.id).status is MessageStatus.RECEIVED
    assert server.names(server.target) == []
    assert server.names(server.error) == ["order_3.xml", "order_3.xml.problems.txt"]


def test_a_queued_replay_that_passes_has_its_file_moved_from_error_to_archive_by_the_run(
    server: Server, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The acknowledge step itself archives a file that passed while it lay in error/."""
    server.drop("order_3.xml", samples.unknown_value())
    server.run()
    (message,) = server.inbound_messages()
    corrected = tmp_path / "fixed.xml"
    corrected.write_bytes(samples.unknown_value().replace(b"marketplace", b"webshop"))
    argv = ("--file", str(corrected), "--store-url", store_url)
    assert _cli(capsys, "messages", "edit", str(message.id), *argv)[0] == EXIT_OK
    assert server.store.get(message.id).status is MessageStatus.RECEIVED  # queued by the edit

    server.run("run-2")

    replayed = server.store.get(message.id)
    assert replayed.status is MessageStatus.DELIVERED
    assert replayed.disposition == f"archive:{server.source.archive_folder}/order_3.xml"
    assert server.names(server.error) == []
    assert server.names(server.archive) == ["order_3.xml"]
    assert len(server.names(server.target)) == 1
    assert server.store.misfiled_ids(connection_id=CONNECTION, flow="orders") == []


def test_problem_code_filter_and_edits_work_on_postgresql_and_sqlite(
    any_store: MessageStore,
) -> None:
    price = Problem(code="scsn.price.mismatch", message="differs")
    receipt = any_store.receive(
        connection_id="c", flow="orders", source_name="/in/a.xml", payload=b"<a/>"
    )
    any_store.update(receipt.message_id, status=MessageStatus.REJECTED, problems=[price])
    other = any_store.receive(connection_id="c", flow="orders", source_name="/b", payload=b"<b/>")

    assert [m.id for m in any_store.list_messages(problem_code="scsn.price")] == [
        receipt.message_id
    ]
    assert any_store.count_messages(problem_code="scsn.pric_") == 0
    assert any_store.count_messages(problem_code="scsn.price.mismatch") == 1
    assert any_store.get(other.message_id).edit_id is None

    original = any_store.get(receipt.message_id)
    first = any_store.record_edit(
        receipt.message_id,
        payload=b"<a>1</a>",
        edited_by="alice",
        original_checksum=original.checksum,
        diff="-<a/>\n+<a>1</a>\n",
    )
    with pytest.raises(StoreConflictError, match="edited meanwhile"):
        any_store.record_edit(
            receipt.message_id,
            payload=b"<a>2</a>",
            edited_by="bob",
            original_checksum=original.checksum,  # not the copy alice stored
            diff="",
        )
    second = any_store.record_edit(
        receipt.message_id,
        payload=b"<a>2</a>",
        edited_by="bob",
        original_checksum=first.checksum,
        diff="",
    )
    (read,) = any_store.get_many([receipt.message_id])
    assert (read.payload, read.edit_id) == (b"<a>2</a>", second.id)
    assert any_store.received_payload(receipt.message_id) == b"<a/>"
    assert [e.edited_by for e in any_store.edits(receipt.message_id)] == ["alice", "bob"]


def test_replay_of_an_unknown_message_is_a_usage_error(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["replay", "999"], ["messages", "show", "999"]):
        code, out, err = _cli(capsys, *argv, "--store-url", store_url)
        assert (code, out) == (EXIT_USAGE, "")
        assert "no message 999" in err


# -- the other platforms' flows ----------------------------------------------------------------


PORTAL_MERCHANT = (
    NOORDZEE_MERCHANT
    + """\
flows:
  orders: {retries: 0}
"""
)


def test_replay_of_a_held_portal_order_creates_it_in_ipsoft_once_its_customer_is_fixed(
    connections_dir: Path,
    ipsoft_server: IPSoftServer,
    lenewblack_server: LeNewBlackServer,
    store: MessageStore,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An API flow (Le New Black -> IPSoft): held for a missing ERP reference, fixed, replayed."""
    shutil.copy(
        PROJECT_ROOT / "include" / "connections" / "_ipsoft_lenewblack.yaml", connections_dir
    )
    (connections_dir / "ipsoft_noordzee.yaml").write_text(PORTAL_MERCHANT)
    lenewblack_server.seed_demo()
    for sku in demo_order_skus():
        ipsoft_server.state.put(Product(article_id=f"A-{sku}", name=sku, sku=sku))
    reference = "LNB-100046"  # its customer LNB-4711 has no IPSoft reference yet
    order = LeNewBlackHook(LENEWBLACK_CONN_ID).get_bytes(api_path("orders", reference))
    message_id = store.receive(
        connection_id="ipsoft_noordzee",
        flow="orders",
        source_name=order_source_name("/api/v1/orders", reference),
        payload=order,
    ).message_id

    code, out, _ = _cli(capsys, "replay", str(message_id), "--store-url", store_url)
    assert code == EXIT_PROBLEMS
    assert "(ipsoft_noordzee__orders, was received): held" in out
    assert "has no ERP customer reference" in out
    assert ipsoft_server.state.orders == {}

    lenewblack_server.state.customers["LNB-4711"].body["erp_reference"] = "C10047"
    code, out, _ = _cli(capsys, "replay", str(message_id), "--store-url", store_url)

    assert code == EXIT_OK, out
    assert "(ipsoft_noordzee__orders, was held): delivered" in out
    assert f"target message {message_id + 1} delivered -> CreateOrder/{reference} (sent now)" in out
    assert "the portal is told it was exported by the flow's next run" in out
    assert list(ipsoft_server.state.orders) == [reference]
    assert ipsoft_server.state.orders[reference].customer_number == "C10047"
    assert _cli(capsys, "replay", str(message_id), "--force", "--store-url", store_url)[0] == 0
    assert len([c for c in ipsoft_server.calls if c[0] == "CreateOrder"]) == 1
