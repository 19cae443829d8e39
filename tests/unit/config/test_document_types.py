"""Seed 001's document type is one option: it picks the IPSoft operation and format, and
``koppel lint`` checks the ledger accounts a financial mutation posts to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from koppel.config import ApiEndpoint, ConnectionFileError, lint_paths, load_connection
from koppel.rules.financial_mutation import DEFAULT_ACCOUNTS

CONNECTIONS = Path(__file__).parents[3] / "include" / "connections"


def merchant(folder: Path, body: str) -> Path:
    shutil.copy(CONNECTIONS / "_webshop_ipsoft.yaml", folder)
    path = folder / "webshop_test.yaml"
    path.write_text("extends: _webshop_ipsoft\nname: Test shop\nprefix: test\n" + body)
    return path


@pytest.mark.parametrize(
    ("document_type", "operation", "fmt"),
    [
        ("quote", "CreateQuote", "ipsoft.create_quote"),
        ("order", "CreateOrder", "ipsoft.create_order"),
        ("invoice", "CreateInvoice", "ipsoft.create_invoice"),
        ("direct_invoice", "CreateDirectInvoice", "ipsoft.create_direct_invoice"),
        ("sales_invoice", "CreateSalesInvoice", "ipsoft.create_sales_invoice"),
        ("financial_mutation", "CreateJournalEntry", "ipsoft.create_journal_entry"),
    ],
)
def test_the_document_type_picks_the_operation_and_the_format(
    tmp_path: Path, document_type: str, operation: str, fmt: str
) -> None:
    """One line in the merchant's file changes the phase; the template's target follows."""
    option = f"{{document_type: {document_type}}}"
    path = merchant(tmp_path, f"flows:\n  orders:\n    options: {option}\n")
    target = load_connection(path).flows["orders"].target
    assert isinstance(target, ApiEndpoint)
    assert (target.operation, target.format) == (operation, fmt)


def test_the_template_chart_is_the_default_and_a_merchant_overrides_one_account(
    tmp_path: Path,
) -> None:
    path = merchant(tmp_path, 'ledger_accounts:\n  rounding: "8990"\n')
    accounts = load_connection(path).accounts()
    assert accounts.rounding == "8990"
    assert accounts.debtor == DEFAULT_ACCOUNTS.debtor
    assert dict(accounts.revenue) == {"21": "8000", "9": "8010", "0": "8020"}


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        (
            "ledger_accounts:\n  debtor: 1300\n",
            "ledger_accounts",
            "debtor: Input should be a valid string (quote account numbers: '1300')",
        ),
        ("ledger_accounts:\n  colour: red\n", "ledger_accounts", "unknown key 'colour'"),
        (
            "flows:\n  orders:\n    options: {ledger_level: simple}\n",
            "flows.orders.options.ledger_level",
            "only with document_type: financial_mutation",
        ),
        (
            "flows:\n  postings:\n    options: {ledger_level: huge}\n",
            "flows.postings.options.ledger_level",
            "must be one of simple, recommended, advanced, extreme",
        ),
        (
            "flows:\n  orders:\n    options: {document_type: pro_forma}\n",
            "flows.orders.options.document_type",
            "must be one of quote, order, invoice, direct_invoice, sales_invoice, "
            "financial_mutation",
        ),
        (
            "ledger_accounts:\n  turnover: null\n"
            "flows:\n  postings:\n    options: {ledger_level: simple}\n",
            "flows.postings.options.ledger_level",
            "the simple level books the total on ledger_accounts.turnover",
        ),
    ],
)
def test_lint_names_what_cannot_post(tmp_path: Path, body: str, field: str, text: str) -> None:
    path = merchant(tmp_path, body)
    problems = lint_paths([path])
    assert [p.field for p in problems] == [field], problems
    assert text in problems[0].message
    with pytest.raises(ConnectionFileError):
        load_connection(path)


def test_a_connection_that_posts_must_map_its_accounts(tmp_path: Path) -> None:
    template = (CONNECTIONS / "_webshop_ipsoft.yaml").read_text()
    start = template.index("ledger_accounts:")
    end = template.index("flows:")
    (tmp_path / "_webshop_ipsoft.yaml").write_text(template[:start] + template[end:])
    path = tmp_path / "webshop_test.yaml"
    path.write_text("extends: _webshop_ipsoft\nname: Test shop\nprefix: test\n")
    problems = lint_paths([path])
    assert [p.field for p in problems] == ["ledger_accounts"]
    assert "a flow posts financial mutations" in problems[0].message


def test_a_document_type_needs_a_target_that_creates_documents(tmp_path: Path) -> None:
    shutil.copy(CONNECTIONS / "_ipsoft_lenewblack.yaml", tmp_path)
    path = tmp_path / "ipsoft_test.yaml"
    path.write_text(
        "extends: _ipsoft_lenewblack\nname: Test\nprefix: test\n"
        "flows:\n  stock:\n    options: {document_type: order}\n"
    )
    problems = lint_paths([path])
    assert [p.field for p in problems] == ["flows.stock.options.document_type"]
    assert "does not create documents per type" in problems[0].message
