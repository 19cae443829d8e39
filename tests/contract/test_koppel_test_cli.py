"""`koppel test` on a copy of a merchant: a mapping change fails with a diff, --update takes it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from koppel import INCLUDE_DIR
from koppel.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main

CONNECTIONS = INCLUDE_DIR / "connections"
PHONE = "    - {element: PhoneNumber, from: buyer.contacts.0.phone}\n"


@pytest.fixture
def merchant(tmp_path: Path) -> Path:
    """Acme, its template and their cases (with Acme's pinned outcomes), in a folder of its own."""
    folder = tmp_path / "connections"
    folder.mkdir()
    for name in ("_itsperfect_monta.yaml", "itsperfect_acme.yaml"):
        shutil.copy(CONNECTIONS / name, folder / name)
    for name in ("_itsperfect_monta.cases", "itsperfect_acme.cases"):
        shutil.copytree(CONNECTIONS / name, folder / name)
    return folder


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """A copy of the mappings in which Monta's order no longer carries the phone number."""
    folder = tmp_path / "mappings"
    shutil.copytree(INCLUDE_DIR / "mappings", folder)
    order = folder / "monta.order.yaml"
    text = order.read_text(encoding="utf-8")
    assert text.count(PHONE) == 1
    order.write_text(text.replace(PHONE, ""), encoding="utf-8")
    return folder


def test_a_mapping_change_fails_with_a_diff_and_update_accepts_it(
    merchant: Path, mappings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["test", "itsperfect_acme", "--dir", str(merchant), "--mappings", str(mappings)]
    assert main(["test", "--dir", str(merchant)]) == EXIT_OK
    capsys.readouterr()

    assert main(args) == EXIT_PROBLEMS

    out = capsys.readouterr().out
    assert "FAIL itsperfect_acme orders/backorder_line_removed" in out
    assert "ok   itsperfect_acme orders/xsd_violation" in out
    pinned = merchant / "itsperfect_acme.cases/orders/backorder_line_removed/expected/target-1.xml"
    assert f"--- {pinned}" in out
    assert "-    <PhoneNumber>+491701234567</PhoneNumber>" in out
    # The cases that fail are the orders whose Monta order carried a phone; nothing was added.
    failed = re.findall(r"^FAIL itsperfect_acme (\S+)", out, flags=re.MULTILINE)
    summary = out.rstrip().splitlines()[-1]
    pattern = rf"\d+ passed, {len(failed)} failed(, \d+ flow\(s\) without cases)?"
    assert re.fullmatch(pattern, summary), summary
    assert all(name.startswith("orders/") for name in failed), failed
    assert "orders/backorder_line_removed" in failed
    assert not re.search(r"^ {4}\+ +<", out, flags=re.MULTILINE)  # nothing was added anywhere

    assert main([*args, "--update"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "-    <PhoneNumber>+491701234567</PhoneNumber>" in out  # shown first
    assert "updated itsperfect_acme orders/backorder_line_removed" in out
    assert b"PhoneNumber" not in pinned.read_bytes()

    assert main(args) == EXIT_OK
    assert "ok   itsperfect_acme orders/backorder_line_removed" in capsys.readouterr().out
    # The template case itself is untouched: only Acme's pinned outcome changed.
    template = merchant / "_itsperfect_monta.cases/orders/backorder_line_removed"
    assert sorted(p.name for p in template.iterdir()) == ["case.yaml", "input.xml"]


def test_a_new_merchant_has_no_outcome_until_update(
    merchant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (merchant / "itsperfect_nova.yaml").write_text(
        "extends: _itsperfect_monta\nname: Nova\nprefix: nova\nrelation_id: '30001'\n"
        "channels:\n  B2C: {origin: nova-webshop}\n",
        encoding="utf-8",
    )
    args = ["test", "itsperfect_nova", "--flow", "orders", "--dir", str(merchant)]

    assert main(args) == EXIT_PROBLEMS
    out = capsys.readouterr().out
    assert (
        "no expected outcome yet for itsperfect_nova: run `koppel test itsperfect_nova --update`"
        in out
    )

    assert main([*args, "--update"]) == EXIT_OK
    capsys.readouterr()
    target = merchant / "itsperfect_nova.cases/orders/backorder_line_removed/expected/target-1.xml"
    assert b"<Origin>nova-webshop</Origin>" in target.read_bytes()
    assert main(args) == EXIT_OK
    assert capsys.readouterr().out.rstrip().endswith("2 passed, 0 failed")


def test_a_broken_expectation_is_not_pinned_by_update(
    merchant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = merchant / "_itsperfect_monta.cases/orders/xsd_violation/case.yaml"
    case.write_text("expect: {status: delivered}\n", encoding="utf-8")

    assert main(["test", "--update", "--dir", str(merchant)]) == EXIT_PROBLEMS

    out = capsys.readouterr().out
    assert "FAIL itsperfect_acme orders/xsd_violation" in out
    assert (
        "expect.status: delivered, but the message is rejected (from template _itsperfect_monta)"
        in out
    )


def test_usage_errors_exit_2(merchant: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "itsperfect_nobody", "--dir", str(merchant)]) == EXIT_USAGE
    assert "no connection file for itsperfect_nobody" in capsys.readouterr().err
    assert main(["test", "--flow", "nosuch", "--dir", str(merchant)]) == EXIT_USAGE
    assert main(["test", "--dir", str(merchant / "missing")]) == EXIT_USAGE
