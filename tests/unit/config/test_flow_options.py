"""Flow options are declared: ``koppel lint`` accepts the values each takes and refuses the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from koppel.config import ConnectionFileError, lint_paths, load_connection

TEMPLATE = Path(__file__).parents[3] / "include" / "connections" / "_itsperfect_monta.yaml"
MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
flows:
  orders:
    options:
      {option}
"""

#: (option line in the merchant file, field reported, text the message must contain)
REFUSED = [
    ("unknown_stock: maybe", "unknown_stock", "must be one of hold, pass, not 'maybe'"),
    ("unknown_stock: true", "unknown_stock", "must be one of hold, pass, not True"),
    ("backorder_handling: 'false'", "backorder_handling", "must be true or false"),
    ("backorder_handlng: true", "backorder_handlng", "did you mean 'backorder_handling'?"),
    ("unknown_stok: pass", "unknown_stok", "did you mean 'unknown_stock'?"),
    ("timezone: Mars/Olympus", "timezone", "'Mars/Olympus' is not an IANA time zone"),
    ("timezone: Europe", "timezone", "'Europe' is not an IANA time zone"),
]
ACCEPTED = [
    "unknown_stock: hold",
    "unknown_stock: pass",
    "backorder_handling: true",
    "timezone: Europe/Amsterdam",
]


def merchant(folder: Path, option: str) -> Path:
    shutil.copy(TEMPLATE, folder)
    path = folder / "itsperfect_acme.yaml"
    path.write_text(MERCHANT.format(option=option))
    return path


@pytest.mark.parametrize(("option", "field", "text"), REFUSED, ids=[c[0] for c in REFUSED])
def test_lint_refuses_an_unknown_option_or_value(
    tmp_path: Path, option: str, field: str, text: str
) -> None:
    path = merchant(tmp_path, option)

    problems = lint_paths([path])

    assert [(p.file, p.field) for p in problems] == [(str(path), f"flows.orders.options.{field}")]
    assert text in problems[0].message


@pytest.mark.parametrize("option", ACCEPTED)
def test_lint_accepts_the_declared_values(tmp_path: Path, option: str) -> None:
    assert lint_paths([merchant(tmp_path, option)]) == []


def test_a_refused_option_keeps_the_connection_from_loading(tmp_path: Path) -> None:
    """DAG parsing refuses it too: a flow must not run with an option it would misread."""
    with pytest.raises(ConnectionFileError, match=r"flows\.orders\.options\.unknown_stock"):
        load_connection(merchant(tmp_path, "unknown_stock: later"))


def test_the_template_holds_orders_while_stock_is_unknown(tmp_path: Path) -> None:
    connection = load_connection(merchant(tmp_path, "backorder_handling: true"))
    assert connection.flows["orders"].options["unknown_stock"] == "hold"
