"""Finding cases: a template's cases run for every connection extending it, overlaid by its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from koppel import INCLUDE_DIR
from koppel.contract import CaseFileError, discover
from koppel.contract.spec import read_spec
from koppel.store import MessageStatus

CONNECTIONS = INCLUDE_DIR / "connections"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A connections folder with the IT's Perfect template and its two example merchants."""
    for name in ("_itsperfect_monta.yaml", "itsperfect_acme.yaml", "itsperfect_bellamoda.yaml"):
        shutil.copy(CONNECTIONS / name, tmp_path / name)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_template_case_runs_for_every_merchant_and_is_pinned_in_its_folder(
    folder: Path,
) -> None:
    template_case = folder / "_itsperfect_monta.cases" / "orders" / "held"
    write(template_case / "input.xml", "<Orders/>")
    write(template_case / "case.yaml", "expect: {status: held}\n")

    cases = discover(folder).cases

    assert [c.label for c in cases] == [
        "itsperfect_acme orders/held",
        "itsperfect_bellamoda orders/held",
    ]
    acme = cases[0]
    assert acme.template == "_itsperfect_monta"
    assert acme.input_path == template_case / "input.xml"
    assert acme.folder == folder / "itsperfect_acme.cases" / "orders" / "held"
    assert acme.spec.expect.status is MessageStatus.HELD
    assert acme.error is None


def test_a_merchant_s_own_files_replace_the_template_s(folder: Path) -> None:
    template_case = folder / "_itsperfect_monta.cases" / "orders" / "held"
    write(template_case / "input.xml", "<Orders/>")
    write(template_case / "case.yaml", "description: template\n")
    own = folder / "itsperfect_acme.cases" / "orders" / "held"
    write(own / "case.yaml", "description: acme's own\noptions: {backorder_handling: false}\n")
    write(folder / "itsperfect_acme.cases" / "orders" / "only_acme" / "input.json", "{}")

    cases = {c.label: c for c in discover(folder, ["itsperfect_acme"]).cases}

    held = cases["itsperfect_acme orders/held"]
    assert held.spec.description == "acme's own"
    assert held.spec.options == {"backorder_handling": False}
    assert held.input_path == template_case / "input.xml"  # not replaced: the template's
    assert cases["itsperfect_acme orders/only_acme"].template is None


def test_flows_without_cases_are_listed_not_failed(folder: Path) -> None:
    write(folder / "itsperfect_acme.cases" / "orders" / "one" / "input.xml", "<Orders/>")

    found = discover(folder, ["itsperfect_acme"])

    assert ("itsperfect_acme", "orders") not in found.uncovered
    assert ("itsperfect_acme", "stock") in found.uncovered
    assert [c.error for c in found.cases] == [None]


def test_only_the_flow_asked_for(folder: Path) -> None:
    write(folder / "itsperfect_acme.cases" / "orders" / "one" / "input.xml", "<Orders/>")
    write(folder / "itsperfect_acme.cases" / "stock" / "two" / "input.xml", "<Stock/>")

    found = discover(folder, ["itsperfect_acme"], flow="stock")

    assert [c.label for c in found.cases] == ["itsperfect_acme stock/two"]
    assert found.uncovered == []
    with pytest.raises(CaseFileError, match="flow 'nosuch'"):
        discover(folder, flow="nosuch")


def test_an_unknown_connection_is_a_usage_error(folder: Path) -> None:
    with pytest.raises(CaseFileError, match="no connection file for itsperfect_nobody"):
        discover(folder, ["itsperfect_nobody"])


def test_broken_cases_fail_alone_and_say_why(folder: Path) -> None:
    cases_dir = folder / "itsperfect_acme.cases"
    write(cases_dir / "orders" / "no_input" / "case.yaml", "description: nothing to read\n")
    write(cases_dir / "orders" / "two_inputs" / "input.xml", "<a/>")
    write(cases_dir / "orders" / "two_inputs" / "input.json", "{}")
    write(cases_dir / "nosuchflow" / "x" / "input.xml", "<a/>")
    write(cases_dir / "orders" / "good" / "input.xml", "<a/>")

    errors = {c.name: c.error for c in discover(folder, ["itsperfect_acme"]).cases}

    assert errors["good"] is None
    assert "no input file" in (errors["no_input"] or "")
    assert "more than one input file (input.json, input.xml)" in (errors["two_inputs"] or "")
    assert "has no flow 'nosuchflow'" in (errors["x"] or "")


def test_a_connection_that_does_not_load_is_one_failed_case(folder: Path) -> None:
    write(folder / "itsperfect_broken.yaml", "extends: _itsperfect_monta\nprefix: [not, text]\n")

    (case,) = discover(folder, ["itsperfect_broken"]).cases

    assert case.error is not None
    assert case.error.startswith("connection itsperfect_broken does not load")


def test_case_yaml_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "case.yaml",
        "sourcename: x.xml\nmaster_data: {stock: {SKU-1: many}}\nexpect: {status: lost}\n",
    )

    with pytest.raises(CaseFileError) as raised:
        read_spec(path)

    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert "sourcename: Extra inputs are not permitted" in text
    assert "master_data.stock.SKU-1:" in text
    assert "expect.status:" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list\n", "must be a mapping of keys, not list"),
        ("key: [unclosed\n", "cannot read it"),
    ],
)
def test_a_case_yaml_that_is_no_mapping(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CaseFileError, match=message):
        read_spec(write(tmp_path / "case.yaml", text))


def test_an_empty_case_yaml_means_all_defaults(tmp_path: Path) -> None:
    spec = read_spec(write(tmp_path / "case.yaml", ""))
    assert spec.options == {}
    assert spec.master_data.stock is None
    assert spec.expect.problems == []
