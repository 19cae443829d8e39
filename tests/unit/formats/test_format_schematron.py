"""A format with ``schematron: peppol:T01``: XSD, then the Peppol rules on the same tree.

The format under test is the project's own ``ubl.order`` mapping with the
one key added, loaded from a temporary mappings folder beside the project's
schemas, so these tests do not depend on any Peppol mapping.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from koppel import INCLUDE_DIR
from koppel.documents import Order, Severity, has_errors
from koppel.errors import MappingError
from koppel.formats import Format
from koppel.formats.registry import FormatRegistry
from koppel.mapping import load_mapping
from tests.fixtures.peppol import RULES_DIR

DATA = Path(__file__).parents[2] / "data" / "peppol"
UBL_ORDER = INCLUDE_DIR / "mappings" / "ubl.order.yaml"
needs_rules = pytest.mark.skipif(
    RULES_DIR is None,
    reason="PEPPOL RULES NOT FOUND: set KOPPEL_PEPPOL_RULES_DIR to the peppol-bis3 folder",
)


@pytest.fixture(autouse=True)
def _rules_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    if RULES_DIR is not None:
        monkeypatch.setenv("KOPPEL_PEPPOL_RULES_DIR", str(RULES_DIR))


def _mapping_with(tmp_path: Path, name: str, extra: str) -> Path:
    """``ubl.order.yaml`` renamed to ``name`` with ``extra`` appended, in ``tmp_path``."""
    text = UBL_ORDER.read_text(encoding="utf-8").replace("format: ubl.order", f"format: {name}")
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"{text}\n{extra}\n", encoding="utf-8")
    return path


@pytest.fixture
def ruled(tmp_path: Path) -> Format:
    """``ubl.order`` checked with the Peppol T01 rules too."""
    _mapping_with(tmp_path, "ruled.order", "schematron: peppol:T01")
    return FormatRegistry(tmp_path, INCLUDE_DIR / "schemas").get("ruled.order")


def _valid() -> bytes:
    return (DATA / "order_valid.xml").read_bytes()


def _without(data: bytes, element: str) -> bytes:
    pattern = rf"<{element}>.*?</{element}>\s*".encode()
    changed = re.sub(pattern, b"", data, count=1, flags=re.S)
    assert changed != data
    return changed


@needs_rules
def test_a_peppol_valid_order_is_read_without_problems(ruled: Format) -> None:
    result = ruled.read(_valid(), source="valid.xml")

    assert ruled.has_rules
    assert result.problems == []
    (order,) = result.documents
    assert isinstance(order, Order)
    assert order.order_id == "PO-1001"


@needs_rules
def test_a_rule_error_rejects_the_order_with_the_rule_id(ruled: Format) -> None:
    data = _without(_valid(), "cbc:CustomizationID")

    result = ruled.read(data, source="no-customization.xml")

    assert result.documents == []
    assert [(p.code, p.severity) for p in result.problems] == [
        ("PEPPOL-T01-B00101", Severity.ERROR)
    ]
    (problem,) = result.problems
    assert problem.file == "no-customization.xml"
    assert problem.line == 5  # the Order start tag (its last line), the rule's context
    assert "CustomizationID" in problem.message


@needs_rules
def test_a_rule_warning_is_returned_with_the_documents(ruled: Format) -> None:
    data = _without(_valid(), "cac:ValidityPeriod")

    result = ruled.read(data, source="no-validity.xml")

    (order,) = result.documents
    assert isinstance(order, Order)
    assert order.order_id == "PO-1001"
    assert [(p.code, p.severity) for p in result.problems] == [
        ("PEPPOL-T01-R002", Severity.WARNING)
    ]
    assert not has_errors(result.problems)


@needs_rules
def test_the_rules_do_not_run_when_the_xsd_finds_errors(ruled: Format) -> None:
    # Without cbc:ID the XSD fails, and so would rule B00103: only the XSD speaks.
    data = _without(_valid(), "cbc:ID")

    result = ruled.read(data, source="no-id.xml")

    assert result.documents == []
    assert result.problems
    assert {p.code for p in result.problems} == {"xsd.invalid"}


@needs_rules
def test_the_same_format_without_the_key_does_not_apply_the_rules(tmp_path: Path) -> None:
    _mapping_with(tmp_path, "plain.order", "")
    plain = FormatRegistry(tmp_path, INCLUDE_DIR / "schemas").get("plain.order")

    result = plain.read(_without(_valid(), "cbc:CustomizationID"), source="x.xml")

    assert not plain.has_rules
    assert result.problems == []
    assert len(result.documents) == 1


@needs_rules
def test_written_output_is_checked_against_the_rules(ruled: Format) -> None:
    # ubl.order's write half is no Peppol order: the rules must catch it before it leaves.
    (order,) = ruled.read(_valid(), source="valid.xml").documents

    written = ruled.write(order, context={})
    problems = ruled.validate(written, source="out.xml")

    codes = {p.code for p in problems}
    assert has_errors(problems)
    assert {"PEPPOL-T01-B00101", "PEPPOL-T01-B00102"} <= codes
    assert all(p.file == "out.xml" for p in problems)


@needs_rules
def test_a_written_order_passing_the_rules_validates_clean(ruled: Format) -> None:
    # Our own order written back by a format that only reads: pass its bytes through validate.
    assert ruled.validate(_valid(), source="valid.xml") == []
    warned = ruled.validate(_without(_valid(), "cac:ValidityPeriod"), source="w.xml")
    assert [(p.code, p.severity) for p in warned] == [("PEPPOL-T01-R002", Severity.WARNING)]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("foo:T01", "unknown rules 'foo:T01'"),
        ("peppol:T99", "unknown rules 'peppol:T99'"),
        ("peppol", "unknown rules 'peppol'"),
        ("T01", "unknown rules 'T01'"),
        ("[peppol, T01]", "unknown rules ['peppol', 'T01']"),
    ],
)
def test_the_loader_refuses_unknown_rules(tmp_path: Path, value: str, reason: str) -> None:
    path = _mapping_with(tmp_path, "bad.order", f"schematron: {value}")

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: schematron: {reason}")
    assert "known: peppol:T01, peppol:T76, peppol:T16" in message


def test_the_loader_keeps_the_rule_set_and_transaction(tmp_path: Path) -> None:
    definition = load_mapping(_mapping_with(tmp_path, "ok.order", "schematron: peppol:T01"))

    assert definition.schematron is not None
    assert (definition.schematron.rule_set, definition.schematron.transaction) == ("peppol", "T01")
    assert str(definition.schematron) == "peppol:T01"
    assert load_mapping(UBL_ORDER).schematron is None


def test_a_json_mapping_has_no_schematron(tmp_path: Path) -> None:
    path = tmp_path / "api.order.yaml"
    path.write_text(
        "format: api.order\ndocument: Order\nschema: x.json\nsyntax: json\n"
        "schematron: peppol:T01\nwrite: {order_id: {from: order_id}}\n",
        encoding="utf-8",
    )

    with pytest.raises(MappingError, match=r"schematron: only an XML mapping has Schematron"):
        load_mapping(path)
