"""A case runs through the real engine: its master data, lookups and stand-in databases count."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from koppel import INCLUDE_DIR
from koppel.contract import Case, discover, run_case
from koppel.contract.report import check
from koppel.sandbox import samples_warehouse
from koppel.sandbox.scsn import OrderLineSpec, OrderSpec, order_message

CONNECTIONS = INCLUDE_DIR / "connections"
LNB_CASE = CONNECTIONS / "_ipsoft_lenewblack.cases/orders/customer_without_reference"
#: An SCSN order from a buyer the ERP does not know.
STRANGER = OrderSpec(
    order_id="PO-1",
    buyer_scsn_id="NL-SCSN-NOBODY",
    buyer_name="Nobody B.V.",
    lines=[OrderLineSpec(line_id="1", quantity=Decimal(1), supplier_code="X-1")],
)


def folder_with(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(CONNECTIONS / name, tmp_path / name)
    return tmp_path


def one_case(folder: Path, connection_id: str, case_dir: Path, **files: str | bytes) -> Case:
    case_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = case_dir / name.replace("_", ".", 1)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (case,) = [c for c in discover(folder, [connection_id]).cases if c.folder.name == case_dir.name]
    return case


def test_the_portal_s_reference_releases_the_order_to_ipsoft(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "_ipsoft_lenewblack.yaml", "ipsoft_noordzee.yaml")
    case = one_case(
        folder,
        "ipsoft_noordzee",
        folder / "ipsoft_noordzee.cases/orders/reference_fixed",
        input_json=(LNB_CASE / "input.json").read_bytes(),
        case_yaml="source_name: /api/v1/orders/LNB-100046\n"
        "lookups: {customer_reference: {LNB-4711: C10047}}\n",
    )

    outcome = run_case(case)

    assert outcome.error is None
    assert outcome.status == "delivered"
    assert [p.code for p in outcome.problems] == ["customer.reference_fixed"]
    (order,) = outcome.outputs
    assert (order.role, order.name, order.extension) == ("target", "CreateOrder/LNB-100046", "xml")
    assert b"C10047" in order.payload


def test_seeded_orders_decide_what_a_status_update_reports(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "_itsperfect_monta.yaml", "itsperfect_acme.yaml")
    update = samples_warehouse.order_update(
        "100233", status="shipped", lines=[("JL-DRESS-001-BLK-M", 2, 2)]
    )
    known = one_case(
        folder,
        "itsperfect_acme",
        folder / "itsperfect_acme.cases/status_updates/shipped",
        input_xml=update,
        case_yaml="master_data:\n  orders:\n    - order_id: '100233'\n"
        "      lines: [{line_id: '1', sku: JL-DRESS-001-BLK-M, quantity: 2}]\n",
    )

    outcome = run_case(known)

    assert outcome.error is None, outcome.error
    assert outcome.status == "delivered"
    (report,) = outcome.outputs
    assert report.name == "/acme/itsperfect/order_updates/acme_update_100233_1.xml"
    assert b"<QuantityShipped>2</QuantityShipped>" in report.payload


def test_the_isah_database_answers_the_scsn_checks(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "_scsn_isah.yaml", "scsn_techparts.yaml")
    case = one_case(
        folder,
        "scsn_techparts",
        folder / "scsn_techparts.cases/orders/unknown_buyer",
        input_xml=order_message(STRANGER),
        case_yaml="lookups: {database: isah}\ntoday: 2027-02-01\n",
    )

    outcome = run_case(case)

    assert outcome.error is None, outcome.error
    assert outcome.status == "rejected"
    assert any(p.code.startswith("scsn.customer") for p in outcome.problems), outcome.problems
    (response,) = outcome.outputs
    assert response.role == "rejection"
    # The order response is dated by the case's day, so it is the same on every run.
    assert b"<cbc:IssueDate>2027-02-01</cbc:IssueDate>" in response.payload
    assert run_case(case).outputs[0].payload == response.payload


def test_a_lookup_the_rules_need_but_the_case_lacks_fails_the_case(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "_scsn_isah.yaml", "scsn_techparts.yaml")
    case = one_case(
        folder,
        "scsn_techparts",
        folder / "scsn_techparts.cases/orders/no_database",
        input_xml=order_message(STRANGER),
    )

    outcome = run_case(case)

    assert outcome.error is not None
    assert "scsn_order_import needs the ERP database" in outcome.error
    assert check(case, outcome) == (f"{outcome.error}\n", False)


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("lookups: {database: oracle}\n", "unknown database 'oracle'"),
        ("source_name: order.csv\n", "does its name match the flow's pattern '*.xml'"),
    ],
)
def test_a_case_that_cannot_run_says_why(tmp_path: Path, yaml: str, message: str) -> None:
    folder = folder_with(tmp_path, "_itsperfect_monta.yaml", "itsperfect_acme.yaml")
    case = one_case(
        folder,
        "itsperfect_acme",
        folder / "itsperfect_acme.cases/orders/bad",
        input_xml=b"<Orders/>",
        case_yaml=yaml,
    )

    outcome = run_case(case)

    assert outcome.error is not None
    assert message in outcome.error


def test_the_inbound_message_is_always_message_1(tmp_path: Path) -> None:
    # Names and ids built from the message id are the same on every run.
    folder = folder_with(tmp_path, "_itsperfect_monta.yaml", "itsperfect_acme.yaml")
    case = one_case(
        folder,
        "itsperfect_acme",
        folder / "itsperfect_acme.cases/orders/twice",
        input_xml=(
            CONNECTIONS / "_itsperfect_monta.cases/orders/backorder_line_removed/input.xml"
        ).read_bytes(),
        case_yaml="options: {backorder_handling: true}\n"
        "master_data: {stock: {JL-DRESS-001-BLK-M: 3}, orders: [{order_id: X, lines: []}]}\n",
    )

    first, second = run_case(case), run_case(case)

    assert [o.name for o in first.outputs] == [o.name for o in second.outputs]
    assert first.outputs[1].name == "/acme/itsperfect/order_updates/acme_import_100233_1.xml"
    assert [o.payload for o in first.outputs] == [o.payload for o in second.outputs]


def test_running_cases_imports_nothing_from_airflow() -> None:
    # The runner is the core plus the store: it must work where Airflow is not installed.
    script = (
        "import sys\n"
        "from koppel import INCLUDE_DIR\n"
        "from koppel.contract import run_cases\n"
        "report = run_cases(INCLUDE_DIR / 'connections', ['ipsoft_noordzee'], out=lambda _: None)\n"
        "assert report.passed and not report.failed, report.summary()\n"
        "leaked = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "assert not leaked, leaked\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=INCLUDE_DIR.parent)
