"""The ``koppel`` command: output and exit codes as scripts rely on them."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from koppel.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from koppel.documents import Problem
from koppel.inbox import parse_moment, safe
from koppel.store import MessageStatus, MessageStore

DATA = Path(__file__).resolve().parents[1] / "data"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_formats_lists_one_name_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formats"]) == EXIT_OK
    names = capsys.readouterr().out.splitlines()
    assert names == sorted(names)
    assert {
        "itsperfect.order",
        "monta.order",
        "monta.stock",
        "itsperfect.status_update",
        "canonical.order",
    } <= set(names)


def test_parse_prints_documents_as_json_and_exits_0_when_valid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["parse", "--format", "itsperfect.order", str(DATA / "orders" / "itsperfect_good.xml")]
    )
    assert code == EXIT_OK
    documents = json.loads(capsys.readouterr().out)
    assert len(documents) == 1
    assert documents[0]["order_id"]
    assert documents[0]["lines"][0]["quantity"]


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        ("itsperfect_broken_xml.xml", "xml.syntax"),
        ("itsperfect_xsd_violation.xml", "xsd.invalid"),
        ("itsperfect_unknown_channel.xml", "mapping.lookup"),
    ],
)
def test_parse_exits_1_and_names_the_problem(
    sample: str, code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", "--format", "itsperfect.order", str(DATA / "orders" / sample)]) == 1
    out = capsys.readouterr().out
    documents, _ = json.JSONDecoder().raw_decode(out)
    assert documents == []
    assert f"{sample}:" in out
    assert f"error {code}" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["parse", "--format", "no.such.format", str(DATA / "orders" / "itsperfect_good.xml")],
        ["parse", "--format", "itsperfect.order", "/no/such/file.xml"],
        ["lint", "/no/such/folder"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    assert capsys.readouterr().err


def test_parse_without_a_file_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["parse", "--format", "itsperfect.order"])
    assert exit_info.value.code == EXIT_USAGE


def test_lint_passes_the_example_connections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(PROJECT_ROOT / "include" / "connections")]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "ok"


def test_lint_names_file_and_field_of_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(DATA / "bad_connections")]) == EXIT_PROBLEMS
    lines = capsys.readouterr().out.splitlines()
    assert any("typo_key.yaml: flows.orders" in line for line in lines), lines
    assert any("unknown_flow.yaml: flows" in line for line in lines), lines
    assert any("bad_cron.yaml: flows.orders.schedule" in line for line in lines), lines
    assert any("missing_template.yaml: extends" in line for line in lines), lines
    assert any("syntax_error.yaml" in line and "line" in line for line in lines), lines
    assert all(": " in line for line in lines)


@pytest.fixture
def store_url(store_engine: Engine) -> str:
    return store_engine.url.render_as_string(hide_password=False)


def test_messages_lists_filters_and_shows_problems(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = store.receive(
        connection_id="acme", flow="orders", source_name="/in/a.xml", payload=b"<a/>"
    )
    bad = store.receive(connection_id="acme", flow="orders", source_name="/in/b.xml", payload=b"<b")
    store.update(good.message_id, status=MessageStatus.DELIVERED, document_key="1001")
    problem = Problem(code="xml.syntax", message="premature end", file="b.xml", line=1)
    store.update(bad.message_id, status=MessageStatus.REJECTED, problems=[problem])

    assert main(["messages", "--store-url", store_url, "--status", "rejected", "--problems"]) == 0
    out = capsys.readouterr().out
    assert "/in/b.xml" in out
    assert "b.xml:1: error xml.syntax: premature end" in out
    assert "/in/a.xml" not in out

    assert main(["messages", "--store-url", store_url, "--connection", "acme"]) == 0
    out = capsys.readouterr().out
    assert "1001" in out
    assert "rejected" in out


def _inbound(store: MessageStore, name: str, status: MessageStatus) -> int:
    receipt = store.receive(connection_id="acme", flow="orders", source_name=name, payload=b"<o/>")
    store.update(receipt.message_id, status=status)
    return receipt.message_id


def _outbound(store: MessageStore, parent_id: int, name: str, status: MessageStatus) -> int:
    receipt = store.create_outbound(
        parent_id=parent_id,
        connection_id="acme",
        flow="orders",
        delivery_key=f"target:{name}",
        target_name=name,
        payload=b"<order/>",
        document={},
        document_key="1001",
    )
    store.update(receipt.message_id, status=status)
    return receipt.message_id


def test_messages_says_when_the_limit_cut_the_list(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):
        _inbound(store, f"/in/{n}.xml", MessageStatus.DELIVERED)
    _inbound(store, "/in/bad.xml", MessageStatus.REJECTED)

    assert main(["messages", "--store-url", store_url, "--limit", "2"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 + 2
    assert err == "showing the newest 2 of 4; use --limit to see more\n"

    argv = ["messages", "--store-url", store_url, "--status", "delivered", "--limit", "2"]
    assert main(argv) == EXIT_OK
    assert capsys.readouterr().err == "showing the newest 2 of 3; use --limit to see more\n"

    for limit in ("4", "5"):  # the whole list, whether the page is full or not: no note
        assert main(["messages", "--store-url", store_url, "--limit", limit]) == EXIT_OK
        out, err = capsys.readouterr()
        assert (len(out.splitlines()), err) == (1 + 4, "")


@pytest.mark.parametrize("argv", [["--status", "delivred"], ["--limit", "0"]])
def test_messages_refuses_an_unknown_status_or_an_empty_limit(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["messages", *argv])
    assert exit_info.value.code == EXIT_USAGE
    assert argv[0] in capsys.readouterr().err


def test_replay_queues_a_rejected_message_for_the_next_run(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = store.receive(
        connection_id="acme", flow="orders", source_name="/in/c.xml", payload=b"<c"
    )
    problem = Problem(code="xml.syntax", message="premature end")
    store.update(receipt.message_id, status=MessageStatus.REJECTED, problems=[problem])

    argv = ["replay", str(receipt.message_id), "--queue", "--store-url", store_url]
    assert main(argv) == EXIT_OK
    out = capsys.readouterr().out
    assert f"message {receipt.message_id} (rejected) queued for the next run of acme__orders" in out
    assert "checks and maps it again" in out
    replayed = store.get(receipt.message_id)
    assert replayed.status is MessageStatus.RECEIVED
    assert replayed.problems == []


def test_replay_of_a_delivered_message_says_it_sends_nothing_and_needs_force(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message_id = _inbound(store, "/in/d.xml", MessageStatus.DELIVERED)
    _outbound(store, message_id, "/out/acme_order_1001.xml", MessageStatus.DELIVERED)

    assert main(["replay", str(message_id), "--queue", "--store-url", store_url]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert f"koppel replay: message {message_id} was delivered; if replayed," in err
    assert "the next run sends nothing" in err
    assert "(1 delivered)" in err
    assert "Pass --force" in err
    assert store.get(message_id).status is MessageStatus.DELIVERED

    argv = ["replay", str(message_id), "--queue", "--force", "--store-url", store_url]
    assert main(argv) == EXIT_OK
    out = capsys.readouterr().out
    assert f"message {message_id} (delivered) queued" in out
    assert "the next run sends nothing" in out
    assert store.get(message_id).status is MessageStatus.RECEIVED


def test_replay_of_a_skipped_message_names_the_duplicate_check_and_needs_force(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message_id = _inbound(store, "/in/s.xml", MessageStatus.SKIPPED)

    assert main(["replay", str(message_id), "--queue", "--store-url", store_url]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "was skipped" in err
    assert "refused as a duplicate, not sent twice" in err
    assert store.get(message_id).status is MessageStatus.SKIPPED

    argv = ["replay", str(message_id), "--queue", "--force", "--store-url", store_url]
    assert main(argv) == EXIT_OK
    assert store.get(message_id).status is MessageStatus.RECEIVED


def test_replay_of_a_failed_message_counts_what_is_left_to_deliver(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message_id = _inbound(store, "/in/f.xml", MessageStatus.FAILED)
    _outbound(store, message_id, "/out/a.xml", MessageStatus.DELIVERED)
    _outbound(store, message_id, "/out/b.xml", MessageStatus.FAILED)

    assert main(["replay", str(message_id), "--queue", "--store-url", store_url]) == EXIT_OK
    out = capsys.readouterr().out
    assert "delivers the 1 of its outbound documents still pending or failed" in out
    assert "(1 delivered, 1 failed)" in out


def test_replay_leaves_a_waiting_message_alone(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    message_id = _inbound(store, "/in/w.xml", MessageStatus.RECEIVED)
    assert main(["replay", str(message_id), "--queue", "--store-url", store_url]) == EXIT_OK
    assert "already waits for the next run of acme__orders" in capsys.readouterr().out


def test_replay_of_an_outbound_message_names_its_inbound_one(
    store: MessageStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = _inbound(store, "/in/o.xml", MessageStatus.DELIVERED)
    child = _outbound(store, parent, "/out/o.xml", MessageStatus.DELIVERED)
    assert main(["replay", str(child), "--force", "--store-url", store_url]) == EXIT_USAGE
    assert f"replay its inbound message {parent}" in capsys.readouterr().err
    assert store.get(child).status is MessageStatus.DELIVERED


@pytest.mark.parametrize("argv", [["messages"], ["replay", "1"]])
def test_no_store_configured_is_one_line_naming_what_to_set(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KOPPEL_STORE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_KOPPEL_STORE", raising=False)
    assert main(argv) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("koppel: no message store configured")
    assert all(name in err for name in ("--store-url", "KOPPEL_STORE_URL", "AIRFLOW_CONN_"))


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        (
            "postgresql+psycopg://koppel:s3cret@127.0.0.1:1/koppel",
            EXIT_PROBLEMS,
            "postgresql+psycopg://koppel:***@127.0.0.1:1/koppel",
        ),
        ("sqlite:////no/such/folder/store.db", EXIT_PROBLEMS, "unable to open database file"),
        ("mysql://koppel:s3cret@127.0.0.1/koppel", EXIT_USAGE, "No module named"),
        ("koppel:s3cret@127.0.0.1", EXIT_USAGE, "Could not parse"),
    ],
)
def test_a_store_it_cannot_open_is_one_line_without_the_password(
    url: str, code: int, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["messages", "--store-url", url]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert says in err
    assert "s3cret" not in err


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["messages", "show", "--help"], ["messages", "edit", "--help"]]
    + [[c, "--help"] for c in ("lint", "parse", "messages", "replay", "dags")],
)
def test_help_is_plain_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("usage: koppel")
    assert not any(markup in out for markup in ("``", ":class:", ":meth:", ":func:"))


def test_lint_names_an_unknown_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(PROJECT_ROOT / "include" / "connections" / "_itsperfect_monta.yaml", tmp_path)
    (tmp_path / "itsperfect_typo.yaml").write_text(
        "extends: _itsperfect_monta\nname: Typo\nprefix: typo\n"
        "channels:\n  B2C: {origin: typo-web}\n"
        "flows:\n  orders:\n    rules: [stock_alocation]\n"
    )
    assert main(["lint", str(tmp_path)]) == EXIT_PROBLEMS
    out = capsys.readouterr().out
    assert "itsperfect_typo.yaml: flows.orders.rules: unknown rule 'stock_alocation'" in out


def test_dags_writes_one_dag_file_per_connection_and_check_then_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    connections = tmp_path / "connections"
    shutil.copytree(PROJECT_ROOT / "include" / "connections", connections)
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(connections))
    dags = tmp_path / "dags"

    assert main(["dags", "--check", "--dags-folder", str(dags)]) == EXIT_PROBLEMS
    captured = capsys.readouterr()
    assert f"{connections / 'itsperfect_acme.yaml'}: no DAG file" in captured.out
    assert "run `koppel dags`" in captured.err
    assert not dags.exists()

    assert main(["dags", "--dags-folder", str(dags)]) == EXIT_OK
    assert f"wrote {dags / 'connections' / 'itsperfect_acme.py'}" in capsys.readouterr().out
    assert main(["dags", "--check", "--dags-folder", str(dags)]) == EXIT_OK
    assert "up to date" in capsys.readouterr().out

    (connections / "itsperfect_acme.yaml").unlink()
    assert main(["dags", "--dags-folder", str(dags)]) == EXIT_OK
    assert f"removed {dags / 'connections' / 'itsperfect_acme.py'}" in capsys.readouterr().out


def test_dags_check_passes_on_the_project(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `make lint` runs: the committed DAG files match include/connections."""
    monkeypatch.delenv("KOPPEL_CONNECTIONS_DIR", raising=False)
    assert main(["dags", "--check"]) == EXIT_OK
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--since", "yesterday"],
        ["--until", "2026-13-01"],
        ["--direction", "sideways"],
        ["--status", "rejected", "--status", "lost"],
    ],
)
def test_messages_refuses_a_bad_filter_naming_the_option(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["messages", *argv])
    assert exit_info.value.code == EXIT_USAGE
    assert argv[-2] in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["messages", "show"],
        ["messages", "show", "abc"],
        ["messages", "edit", "1"],
        ["messages", "unknown", "1"],
        ["replay"],
        ["replay", "x"],
    ],
)
def test_inbox_commands_refuse_missing_or_malformed_arguments(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == EXIT_USAGE
    assert capsys.readouterr().err.startswith("usage: koppel")


def test_edit_of_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["messages", "edit", "1", "--file", "/no/such/fixed.xml"]) == EXIT_USAGE
    assert "no such file: /no/such/fixed.xml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-11-29", False, datetime(2026, 11, 29, tzinfo=UTC)),
        ("2026-11-29", True, datetime(2026, 11, 30, tzinfo=UTC)),  # the whole day
        ("2026-11-29T08:15:00", False, datetime(2026, 11, 29, 8, 15, tzinfo=UTC)),
        ("2026-11-29T08:15:00+01:00", True, datetime(2026, 11, 29, 7, 15, tzinfo=UTC)),
        ("2026-11-29T08:15:00Z", False, datetime(2026, 11, 29, 8, 15, tzinfo=UTC)),
    ],
)
def test_since_and_until_read_dates_and_iso_times_as_utc(
    text: str, end: bool, expected: datetime
) -> None:
    assert parse_moment(text, end=end) == expected


def test_safe_escapes_what_could_drive_a_terminal() -> None:
    hostile = "a\x1b[2Jb\x07c\u202ed\x9be\r\nf\tg"
    assert safe(hostile) == "a\\x1b[2Jb\\x07c\\u202ed\\x9be\\r\\nf\\tg"
    assert safe(hostile, inline=False) == "a\\x1b[2Jb\\x07c\\u202ed\\x9be\\r\nf\tg"
    assert safe("Müller, café: 5 €") == "Müller, café: 5 €"


def test_store_url_before_show_is_kept(
    store: MessageStore,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KOPPEL_STORE_URL", raising=False)
    message_id = _inbound(store, "/in/s.xml", MessageStatus.REJECTED)
    assert main(["messages", "--store-url", store_url, "show", str(message_id)]) == EXIT_OK
    assert f"message {message_id} (inbound, acme / orders)" in capsys.readouterr().out


def test_unknown_ids_and_outbound_messages_are_usage_errors(
    store: MessageStore, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixed = tmp_path / "fixed.xml"
    fixed.write_bytes(b"<o/>")
    for argv in (["replay", "42"], ["messages", "show", "42"], ["messages", "edit", "42"]):
        extra = ["--file", str(fixed)] if "edit" in argv else []
        assert main([*argv, *extra, "--store-url", store_url]) == EXIT_USAGE
        assert "no message 42" in capsys.readouterr().err
    parent = _inbound(store, "/in/p.xml", MessageStatus.DELIVERED)
    child = _outbound(store, parent, "/out/p.xml", MessageStatus.DELIVERED)
    argv = ["messages", "edit", str(child), "--file", str(fixed), "--store-url", store_url]
    assert main(argv) == EXIT_USAGE
    assert f"message {child} is outbound" in capsys.readouterr().err
    assert main(["replay", str(child), "--store-url", store_url]) == EXIT_USAGE
    assert f"replay its inbound message {parent}" in capsys.readouterr().err
