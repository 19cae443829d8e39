"""The Peppol BIS 3 rules run through :mod:`koppel.formats.schematron`, and OpenPEPPOL's own tests.

The 210 upstream rule unit tests (VEFA ``testSet`` files, see the NOTICE in
the rules folder) are a suite written by others: every one of them runs here.
Each ``test`` holds a document and the rule ids expected to fire (``error`` or
``warning``, optionally how many times) or not to fire (``success``).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from koppel import PROJECT_ROOT, settings
from koppel.documents import Severity, has_errors
from koppel.errors import ConfigError
from koppel.formats.schematron import FAILED, load_rules, peppol_rules
from tests.fixtures.peppol import RULES_DIR

if RULES_DIR is None:
    pytest.skip(
        "PEPPOL RULES NOT FOUND: set KOPPEL_PEPPOL_RULES_DIR to the peppol-bis3 folder "
        "(xslt/ and unit-tests/) to run the Peppol rule tests",
        allow_module_level=True,
    )

DATA = Path(__file__).parents[2] / "data" / "peppol"
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"
#: Which transaction's rules each upstream unit-test folder tests.
TRANSACTION = {
    "unit-order": "T01",
    "unit-common": "T01",
    "unit-order-response": "T76",
    "unit-despatch-advice": "T16",
}
UPSTREAM_CASES = 210
#: The one case that disagrees with the compiled rules, and why (from the NOTICE).
R048_REASON = (
    "upstream expects PEPPOL-COMMON-R048 to warn on an invalid Italian 9906 EndpointID; "
    "the compiled 2026.5 rules no longer fire it (NOTICE.md: 209 of 210 agree)"
)


@dataclass(frozen=True)
class Expected:
    """One expectation of an upstream test: ``kind`` is success, error or warning."""

    kind: str
    rule: str
    count: int | None


@dataclass(frozen=True)
class Case:
    """One upstream ``test``: its document, the transaction it is checked against, expectations."""

    transaction: str
    document: etree._Element
    expected: tuple[Expected, ...]


def _cases(rules_dir: Path) -> list[pytest.ParameterSet]:
    """Every ``test`` of every upstream file, the known odd one marked strict xfail."""
    params = []
    for folder, transaction in TRANSACTION.items():
        for path in sorted((rules_dir / "unit-tests" / folder).glob("*.xml")):
            tests = etree.parse(path).getroot().iter(f"{VEFA}test")
            for index, test in enumerate(tests, start=1):
                assertion = test.find(f"{VEFA}assert")
                assert assertion is not None, f"{path}: test {index} has no assert"
                expected = tuple(
                    Expected(
                        kind=etree.QName(e).localname,
                        rule=(e.text or "").strip(),
                        count=int(e.get("number", "0")) or None,
                    )
                    for e in assertion
                    if isinstance(e.tag, str)
                )
                document = next(
                    c for c in test if isinstance(c.tag, str) and not c.tag.startswith(VEFA)
                )
                marks = []
                if path.stem == "PEPPOL-COMMON-R048" and any(e.kind == "warning" for e in expected):
                    marks.append(pytest.mark.xfail(strict=True, reason=R048_REASON))
                params.append(
                    pytest.param(
                        Case(transaction, document, expected),
                        id=f"{folder}/{path.stem}#{index}",
                        marks=marks,
                    )
                )
    return params


CASES = _cases(RULES_DIR)


@pytest.fixture(autouse=True)
def _rules_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the setting at the folder found above, as a deployment would."""
    monkeypatch.setenv("KOPPEL_PEPPOL_RULES_DIR", str(RULES_DIR))


def test_every_upstream_case_is_collected() -> None:
    assert len(CASES) == UPSTREAM_CASES


@pytest.mark.parametrize("case", CASES)
def test_upstream_rule_unit_test(case: Case) -> None:
    tree = etree.ElementTree(copy.deepcopy(case.document))
    problems = peppol_rules(case.transaction).validate_tree(tree, source="unit-test")
    fired = Counter((p.code, p.severity) for p in problems)
    for e in case.expected:
        if e.kind == "success":
            assert not [p for p in problems if p.code == e.rule], f"{e.rule} must not fire"
            continue
        times = fired[(e.rule, Severity(e.kind))]
        if e.count is None:
            assert times > 0, f"{e.rule} must fire as {e.kind}; got {sorted(fired)}"
        else:
            assert times == e.count, f"{e.rule} must fire {e.count} times as {e.kind}; got {times}"


def test_a_valid_order_has_no_problems() -> None:
    document = (DATA / "order_valid.xml").read_bytes()
    assert peppol_rules("T01").validate(document, source="order_valid.xml") == []


def test_a_broken_order_reports_each_rule_with_its_flag_and_place() -> None:
    document = (DATA / "order_broken.xml").read_bytes()
    problems = peppol_rules("T01").validate(document, source="order_broken.xml")
    line_item = (
        "/*:Order[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Order-2'][1]"
        "/*:OrderLine[namespace-uri()="
        "'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2'][1]"
        "/*:LineItem[namespace-uri()="
        "'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2'][1]"
    )
    found = {p.code: p for p in problems}
    assert set(found) == {
        "PEPPOL-T01-B24102",  # unit code not in UN/ECE Rec 20
        "PEPPOL-T01-R002",  # no validity end date
        "PEPPOL-T01-R008",  # line total is not the sum of the lines
        "PEPPOL-T01-R024",  # line amount is not quantity times price
    }
    assert found["PEPPOL-T01-R002"].severity is Severity.WARNING
    assert all(found[c].severity is Severity.ERROR for c in set(found) - {"PEPPOL-T01-R002"})
    assert has_errors(problems)
    r024 = found["PEPPOL-T01-R024"]
    assert r024.field == line_item
    assert r024.line == 47
    assert r024.file == "order_broken.xml"
    assert r024.message.startswith("[PEPPOL-T01-R024]-Order line net amount SHALL equal")
    unit = found["PEPPOL-T01-B24102"]
    assert unit.field == line_item + (
        "/*:Quantity[namespace-uri()="
        "'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2'][1]"
    )
    assert unit.line == 49


def test_each_stylesheet_is_compiled_once_per_process() -> None:
    assert peppol_rules("T01") is peppol_rules("T01")
    assert RULES_DIR is not None
    t76 = RULES_DIR / "xslt" / "PEPPOLBIS-T76.xslt"
    assert load_rules(t76) is load_rules(t76.parent / ".." / "xslt" / t76.name)
    assert load_rules(t76) is peppol_rules("T76")
    assert peppol_rules("T16") is not peppol_rules("T76")


def test_concurrent_validations_agree_with_serial_ones() -> None:
    rules = peppol_rules("T01")
    documents = [(DATA / name).read_bytes() for name in ("order_valid.xml", "order_broken.xml")]
    serial = [rules.validate(d, source="order") for d in documents]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda d: rules.validate(d, source="order"), documents * 8))
    assert results == serial * 8


def test_a_doctype_is_refused_before_saxon_sees_it() -> None:
    hostile = (
        b'<?xml version="1.0"?>\n<!DOCTYPE Order [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2">&x;</Order>'
    )
    problems = peppol_rules("T01").validate(hostile, source="hostile.xml")
    assert [p.code for p in problems] == ["xml.doctype"]


def test_a_transformation_error_is_one_problem(tmp_path: Path) -> None:
    stylesheet = tmp_path / "fails.xslt"
    stylesheet.write_text(
        '<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="2.0">'
        '<xsl:template match="/"><xsl:sequence select="error()"/></xsl:template>'
        "</xsl:stylesheet>"
    )
    problems = load_rules(stylesheet).validate(b"<Order/>", source="order.xml")
    assert [(p.code, p.severity, p.file) for p in problems] == [
        (FAILED, Severity.ERROR, "order.xml")
    ]
    assert "fails.xslt" in problems[0].message


def test_a_stylesheet_that_does_not_compile_is_a_config_error(tmp_path: Path) -> None:
    stylesheet = tmp_path / "broken.xslt"
    stylesheet.write_text("<not-a-stylesheet/>")
    with pytest.raises(ConfigError, match=re.escape("broken.xslt")):
        load_rules(stylesheet)


def test_a_missing_rules_dir_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "peppol-bis3"
    monkeypatch.setenv("KOPPEL_PEPPOL_RULES_DIR", str(missing))
    with pytest.raises(ConfigError, match=f"KOPPEL_PEPPOL_RULES_DIR.*{re.escape(str(missing))}"):
        peppol_rules("T01")


def test_a_missing_rules_file_names_the_setting_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPPEL_PEPPOL_RULES_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=r"KOPPEL_PEPPOL_RULES_DIR.*PEPPOLBIS-T01\.xslt"):
        peppol_rules("T01")
    with pytest.raises(ConfigError, match="does not exist"):
        load_rules(tmp_path / "PEPPOLBIS-T01.xslt")


def test_the_setting_defaults_to_the_shared_folder_beside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documented = PROJECT_ROOT.parent / "shared" / "standards" / "peppol-bis3"
    assert documented == settings.DEFAULT_PEPPOL_RULES_DIR
    monkeypatch.delenv("KOPPEL_PEPPOL_RULES_DIR")
    monkeypatch.setattr(settings, "DEFAULT_PEPPOL_RULES_DIR", tmp_path)
    assert settings.peppol_rules_dir() == tmp_path
