"""``koppel post``: an order file posted to the ledger, the entry printed as JSON, exit codes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from koppel.documents import CostKind, CostLine, MutationLevel, Order, OrderLine
from koppel.formats import default_registry

ORDERS = Path(__file__).resolve().parents[1] / "data" / "orders"
LEVELS = [level.value for level in MutationLevel]


@pytest.fixture
def canonical_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """What ``koppel parse`` prints for IT's Perfect's good order, as a file."""
    assert main(["parse", "--format", "itsperfect.order", str(ORDERS / "itsperfect_good.xml")]) == 0
    path = tmp_path / "order.json"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    return path


@pytest.fixture
def awkward_file(tmp_path: Path) -> Path:
    """Seed 001's awkward order: 3 x 0.333 at 21 % and 9 %, shipping, a discount, and a
    total the source rounded its own way (6.70 where the lines give 6.69)."""
    order = Order(
        order_id="AWK-1",
        issue_date="2026-11-29",
        total_amount=Decimal("6.70"),
        lines=[
            OrderLine(line_id="1", quantity=Decimal(3), unit_price=Decimal("0.333"), tax_rate=21),
            OrderLine(line_id="2", quantity=Decimal(3), unit_price=Decimal("0.333"), tax_rate=9),
        ],
        costs=[
            CostLine(kind=CostKind.SHIPPING, amount=Decimal("4.13"), tax_rate=21),
            CostLine(kind=CostKind.DISCOUNT, amount=Decimal("0.50"), tax_rate=21),
        ],
    )
    path = tmp_path / "awkward.json"
    path.write_bytes(default_registry().get("canonical.order").write(order, context={}))
    return path


def _entry(out: str) -> tuple[dict[str, object], str]:
    """The printed entry and the line after it."""
    entry, end = json.JSONDecoder().raw_decode(out)
    assert isinstance(entry, dict)
    return entry, out[end:].strip()


def _totals(entry: dict[str, object]) -> tuple[Decimal, Decimal]:
    lines = entry["lines"]
    assert isinstance(lines, list)
    for line in lines:
        assert isinstance(line["debit"], str)  # decimals as strings, never floats
        assert isinstance(line["credit"], str)
    debit = sum((Decimal(line["debit"]) for line in lines), Decimal(0))
    credit = sum((Decimal(line["credit"]) for line in lines), Decimal(0))
    return debit, credit


@pytest.mark.parametrize("level", LEVELS)
def test_a_canonical_order_posts_balanced_at_every_level(
    level: str, canonical_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["post", "--level", level, "--format", "canonical.order", str(canonical_file)])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    entry, verdict = _entry(captured.out)
    assert entry["date"] == "2025-03-21"
    assert entry["reference"] == "IP-2025-0001"
    assert entry["level"] == level
    assert _totals(entry) == (Decimal("372.98"), Decimal("372.98"))
    lines = entry["lines"]
    assert isinstance(lines, list)
    assert lines[0] == {
        "account": "1300",
        "description": "Debtor",
        "debit": "372.98",
        "credit": "0.00",
        "tax_code": None,
        "rounding": False,
    }
    assert verdict == "balanced: debit 372.98 = credit 372.98 EUR; no rounding line"


@pytest.mark.parametrize(
    ("level", "total"),
    [
        ("recommended", "6.70"),  # the discount inside the revenue of its rate
        ("advanced", "7.20"),  # the discount debited on its own account: 6.70 + 0.50
        ("extreme", "7.20"),
    ],
)
def test_the_sources_rounding_sits_on_one_rounding_line(
    level: str, total: str, awkward_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["post", "--level", level, "--format", "canonical.order", str(awkward_file)])
    assert code == EXIT_OK
    entry, verdict = _entry(capsys.readouterr().out)
    assert _totals(entry) == (Decimal(total), Decimal(total))
    lines = entry["lines"]
    assert isinstance(lines, list)
    (rounding,) = [line for line in lines if line["rounding"]]
    assert (rounding["account"], rounding["credit"]) == ("8999", "0.01")
    assert verdict == f"balanced: debit {total} = credit {total} EUR; rounding line 0.01 EUR"


def test_any_order_format_posts(capsys: pytest.CaptureFixture[str]) -> None:
    sample = str(ORDERS / "itsperfect_good.xml")
    assert main(["post", "--level", "extreme", "--format", "itsperfect.order", sample]) == 0
    entry, verdict = _entry(capsys.readouterr().out)
    assert _totals(entry) == (Decimal("372.98"), Decimal("372.98"))
    assert verdict.startswith("balanced:")


def test_an_unreadable_file_exits_1_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('[{"order_id": "A1",', encoding="utf-8")
    code = main(["post", "--level", "simple", "--format", "canonical.order", str(broken)])
    captured = capsys.readouterr()
    assert code == EXIT_PROBLEMS
    assert captured.out == ""
    assert "broken.json" in captured.err
    assert "error json.syntax" in captured.err


def test_a_missing_account_exits_1_naming_it(
    tmp_path: Path, canonical_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        'debtor: "1300"\nrevenue: {21: "8000"}\ntax_payable: {9: "1510"}\nrounding: "8999"\n',
        encoding="utf-8",
    )
    argv = ["--format", "canonical.order", "--accounts", str(accounts), str(canonical_file)]
    code = main(["post", "--level", "recommended", *argv])
    captured = capsys.readouterr()
    assert code == EXIT_PROBLEMS
    assert captured.out == ""
    assert "order IP-2025-0001" in captured.err
    assert "error ledger.account.missing [accounts.tax_payable.21]" in captured.err


def test_accounts_from_yaml_are_used(
    tmp_path: Path, canonical_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(
        'debtor: "D1"\nrevenue: {21.0: "R21"}\ntax_payable: {"21.00": "T21"}\nrounding: "X"\n',
        encoding="utf-8",
    )
    argv = ["--format", "canonical.order", "--accounts", str(accounts), str(canonical_file)]
    assert main(["post", "--level", "recommended", *argv]) == EXIT_OK
    entry, _ = _entry(capsys.readouterr().out)
    lines = entry["lines"]
    assert isinstance(lines, list)
    assert [line["account"] for line in lines] == ["D1", "R21", "T21"]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ('debtor: 1300\nrevenue: {}\ntax_payable: {}\nrounding: "8"\n', "debtor: Input should"),
        ('revenue: {}\ntax_payable: {}\nrounding: "8"\n', "debtor: Field required"),
        ('debtor: "1"\nrevenue: {21: 8000}\ntax_payable: {}\nrounding: "8"\n', "revenue.21:"),
        ('debtor: "1"\ncolour: red\n', "unknown key 'colour'"),
        ("- debtor\n", "expected a mapping of accounts"),
        ("debtor: [\n", "cannot read the accounts"),
    ],
)
def test_a_broken_accounts_file_is_a_usage_error_naming_the_key(
    yaml_text: str,
    message: str,
    tmp_path: Path,
    canonical_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text(yaml_text, encoding="utf-8")
    argv = ["--format", "canonical.order", "--accounts", str(accounts), str(canonical_file)]
    assert main(["post", "--level", "simple", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "accounts.yaml" in err
    assert message in err


def test_a_bad_level_is_a_usage_error(
    canonical_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["post", "--level", "huge", "--format", "canonical.order", str(canonical_file)])
    assert exit_info.value.code == EXIT_USAGE
    assert "invalid choice: 'huge'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("format_name", "file", "message"),
    [
        ("itsperfect.product", None, "does not read orders"),
        ("no.such.format", None, "unknown format"),
        ("canonical.order", "/no/such/file.json", "no such file"),
    ],
)
def test_other_usage_errors_exit_2(
    format_name: str,
    file: str | None,
    message: str,
    canonical_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["post", "--level", "simple", "--format", format_name, file or str(canonical_file)]
    assert main(argv) == EXIT_USAGE
    assert message in capsys.readouterr().err
