"""``koppel new`` end to end, for every platform template, in a copy of include/connections.

Each new merchant's file is written, loads with the real loader, passes lint,
gets its template's cases pinned (and passing), and its DAGs are the expected
ones when Airflow parses the DAG file ``koppel dags`` writes for it. The
printed plan names every Airflow connection with placeholders only.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from koppel.config import load_connection
from koppel.dag_files import plan_dag_files, sync_dag_files
from koppel.onboarding.command import main
from koppel.onboarding.new import platform_names
from koppel.settings import INCLUDE_DIR

EXAMPLES = INCLUDE_DIR / "connections"

#: The Peppol supplier's cases validate with OpenPEPPOL's rules, which live outside the project.
pytestmark = pytest.mark.usefixtures("peppol_rules_if_present")

#: Plausible options per platform: (id, extra options, expected flows, expected conn ids).
NEW_MERCHANTS: dict[str, tuple[str, list[str], list[str], list[str]]] = {
    "itsperfect_monta": (
        "itsperfect_jackyluxury",
        ["--prefix", "jackyluxury", "--relation-id", "27794", "--channels", "B2C,B2B"],
        [
            "products",
            "orders",
            "status_updates",
            "stock",
            "returns",
            "inbound_forecasts",
            "inbound_updates",
        ],
        ["sftp_jackyluxury"],
    ),
    "crm_ipsoft": (
        "crm_zuidas",
        ["--prefix", "zuidas", "--name", "Zuidas Advies"],
        ["quotes", "sales_invoices"],
        ["crm_zuidas", "ipsoft_zuidas"],
    ),
    "ipsoft_lenewblack": (
        "ipsoft_duinmode",
        ["--prefix", "duinmode", "--var", "lenewblack_conn_id=lnb_duinmode"],
        ["customers", "products", "prices", "stock", "orders"],
        ["ipsoft_duinmode", "lnb_duinmode"],
    ),
    "peppol_supplier": (
        "peppol_fjordtools",
        ["--prefix", "fjordtools", "--alert-email", "orders@fjordtools.example"],
        ["orders", "despatches"],
        ["peppol_sftp_fjordtools", "erp_fjordtools"],
    ),
    "scsn_isah": (
        "scsn_metaalwerk",
        ["--prefix", "metaalwerk"],
        ["orders"],
        ["scsn_sftp_metaalwerk", "isah_metaalwerk"],
    ),
    "ubl_stores": (
        "ubl_kauppa",
        ["--prefix", "kauppa", "--var", "language=fi"],
        ["purchase_orders", "orders", "despatches", "waybills"],
        ["store_a_kauppa", "stores_sftp_kauppa", "store_b_kauppa"],
    ),
    "webshop_ipsoft": (
        "webshop_theehuis",
        ["--prefix", "theehuis"],
        ["orders", "invoices", "direct_invoices", "postings"],
        ["webshop_theehuis", "ipsoft_theehuis"],
    ),
}


@pytest.fixture
def connections(tmp_path: Path) -> Path:
    """A copy of the project's connection files, templates and cases."""
    folder = tmp_path / "connections"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_every_platform_template_has_a_merchant_here() -> None:
    assert sorted(NEW_MERCHANTS) == platform_names(EXAMPLES)


@pytest.mark.parametrize("platform", sorted(NEW_MERCHANTS))
def test_koppel_new_onboards_a_merchant_whose_dags_load(
    platform: str,
    connections: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection_id, options, flows, conn_ids = NEW_MERCHANTS[platform]
    code = main(
        ["new", "--platform", platform, "--id", connection_id, "--dir", str(connections), *options]
    )
    out = capsys.readouterr().out
    assert code == 0, out

    path = connections / f"{connection_id}.yaml"
    assert f"wrote {path} (flows paused)" in out
    assert "lint: ok" in out
    config = load_connection(path)
    assert list(config.flows) == flows
    assert config.enabled is False
    assert config.platform == platform

    # The plan: one `airflow connections add` per Airflow connection, placeholders only.
    added = re.findall(r"airflow connections add '([^']+)'", out)
    assert sorted(added) == sorted(conn_ids)
    secrets = re.findall(r"--conn-(?:host|login|password|schema) '([^']*)'", out)
    assert secrets
    assert all(re.fullmatch(r"<[A-Z_]+>", value) for value in secrets), secrets
    for flow in flows:
        assert f"   {connection_id}__{flow}\n" in out

    # The template's cases are pinned for the merchant and pass.
    template_cases = connections / f"_{platform}.cases"
    if template_cases.is_dir():
        for case in sorted(template_cases.glob("*/*/case.yaml")):
            pinned = (
                connections / f"{connection_id}.cases" / case.parent.relative_to(template_cases)
            )
            assert (pinned / "expected.yaml").is_file(), pinned
        assert "cases: ok" in out
    else:
        assert "cases: none" in out

    # `koppel dags`, then Airflow's own parse of the merchant's DAG file.
    stubs = tmp_path / "dags" / "connections"
    changes = sync_dag_files(stubs, connections)
    assert stubs / f"{connection_id}.py" in changes.missing
    assert not plan_dag_files(stubs, connections)  # what `koppel dags --check` checks
    monkeypatch.setenv("KOPPEL_CONNECTIONS_DIR", str(connections))
    bag = DagBag(str(stubs / f"{connection_id}.py"))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(f"{connection_id}__{flow}" for flow in flows)
    assert all(dag.is_paused_upon_creation for dag in bag.dags.values())


def test_the_file_for_acmes_options_is_what_the_readme_shows(
    connections: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (connections / "itsperfect_acme.yaml").unlink()
    shutil.rmtree(connections / "itsperfect_acme.cases")
    options = ["--prefix", "acme", "--relation-id", "27794", "--channels", "B2C,B2B"]
    code = main(
        [
            "new",
            "--platform",
            "itsperfect_monta",
            "--id",
            "itsperfect_acme",
            "--name",
            "Acme Fashion",
            "--dir",
            str(connections),
            *options,
        ]
    )
    assert code == 0, capsys.readouterr()
    written = load_connection(connections / "itsperfect_acme.yaml")
    assert written.channels["B2C"].origin == "acme-webshop"
    assert written.channels["B2B"].origin == "acme-wholesale"
    assert written.vars == {"sftp_conn_id": "sftp_acme"}
    assert written.flows["orders"].source.folder == "/acme/itsperfect/orders"  # type: ignore[union-attr]


def test_dry_run_prints_the_file_and_the_plan_and_writes_nothing(
    connections: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in connections.iterdir())
    code = main(
        [
            "new",
            "--platform",
            "scsn_isah",
            "--id",
            "scsn_draaierij",
            "--prefix",
            "draaierij",
            "--dir",
            str(connections),
            "--dry-run",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in connections.iterdir()) == before
    assert "(dry run: nothing written)" in out
    assert "extends: _scsn_isah\n" in out
    assert "/draaierij/inbound/orders/archive" in out
    assert "airflow connections add 'isah_draaierij' --conn-type postgres" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "--platform",
                "itsperfect_monta",
                "--id",
                "itsperfect_jacky",
                "--prefix",
                "jacky",
                "--channels",
                "B2C",
            ],
            "--relation-id is required for platform itsperfect_monta",
        ),
        (
            [
                "--platform",
                "itsperfect_monta",
                "--id",
                "itsperfect_acme",
                "--prefix",
                "acme2",
                "--relation-id",
                "1",
                "--channels",
                "B2C",
            ],
            "itsperfect_acme.yaml exists already; not overwritten",
        ),
        (
            [
                "--platform",
                "itsperfect_monta",
                "--id",
                "monta_jacky",
                "--prefix",
                "jacky",
                "--relation-id",
                "1",
                "--channels",
                "B2C",
            ],
            "a merchant of platform itsperfect_monta is called itsperfect_<name>",
        ),
        (
            ["--platform", "sap_monta", "--id", "sap_x", "--prefix", "x"],
            "no platform template _sap_monta.yaml",
        ),
        (["--platform", "crm_ipsoft", "--id", "crm_delta"], "--prefix is required"),
        (
            [
                "--platform",
                "crm_ipsoft",
                "--id",
                "crm_delta",
                "--prefix",
                "delta",
                "--var",
                "crm_conn_id=bad id",
            ],
            "flows.quotes.source.conn_id: conn_id 'bad id' is not",
        ),
    ],
)
def test_usage_errors_exit_2_name_the_option_and_write_nothing(
    argv: list[str], message: str, connections: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p.name: p.read_bytes() for p in connections.glob("*.yaml")}
    code = main(["new", "--dir", str(connections), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert {p.name: p.read_bytes() for p in connections.glob("*.yaml")} == before


def test_a_lint_problem_after_writing_exits_1(
    connections: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lint knows more than the loader (the formats and rules that exist): a template naming
    a rule that does not exist loads, but the merchant file fails lint."""
    template = connections / "_crm_ipsoft.yaml"
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "rules: [document_type]", "rules: [document_typo]", 1
        ),
        encoding="utf-8",
    )
    code = main(
        [
            "new",
            "--platform",
            "crm_ipsoft",
            "--id",
            "crm_delta",
            "--prefix",
            "delta",
            "--dir",
            str(connections),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert (connections / "crm_delta.yaml").is_file()
    assert "lint: " in out
    assert "unknown rule 'document_typo'" in out
    assert "airflow connections add 'crm_delta'" in out  # the plan is printed all the same


def test_a_template_case_that_fails_for_the_merchant_exits_1(
    connections: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A template case whose hand-written expectation does not hold cannot be pinned."""
    case = connections / "_ipsoft_lenewblack.cases" / "orders" / "customer_without_reference"
    text = (case / "case.yaml").read_text(encoding="utf-8")
    assert "status: held" in text
    (case / "case.yaml").write_text(text.replace("status: held", "status: delivered"), "utf-8")
    argv = ["new", "--platform", "ipsoft_lenewblack", "--id", "ipsoft_duinmode"]
    code = main([*argv, "--prefix", "duinmode", "--dir", str(connections)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL ipsoft_duinmode orders/customer_without_reference" in out
    assert "cases: 1 failed" in out
    assert "airflow connections add 'lenewblack_duinmode'" in out
