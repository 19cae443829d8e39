"""XSD validation: every error listed with line and a readable element path."""

from __future__ import annotations

from pathlib import Path

import pytest

from koppel import INCLUDE_DIR
from koppel.errors import ConfigError
from koppel.formats import load_schema, parse_xml, validate
from koppel.sandbox import samples

ITSPERFECT_XSD = INCLUDE_DIR / "schemas" / "itsperfect" / "order.xsd"
MONTA_XSD = INCLUDE_DIR / "schemas" / "monta" / "order.xsd"


def test_a_sample_order_is_valid() -> None:
    tree = parse_xml(samples.good_order("IP-1"), source="good.xml")
    assert validate(tree, load_schema(ITSPERFECT_XSD), source="good.xml") == []


def test_every_error_is_listed_with_line_and_path() -> None:
    data = samples.good_order("IP-2", lines=2)
    data = data.replace(b"<Quantity>", b"<Quantity>x", 2)  # both lines: "x2" is no integer
    data = data.replace(b"<Country>", b"<Country>x", 1)  # "xNL" is no ISO country code
    tree = parse_xml(data, source="bad.xml")
    problems = validate(tree, load_schema(ITSPERFECT_XSD), source="bad.xml")
    text = data.decode().splitlines()
    assert {p.code for p in problems} == {"xsd.invalid"}
    assert {p.file for p in problems} == {"bad.xml"}
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {
        "/Orders/Order/InvoiceAddress/Country",
        "/Orders/Order/Lines/Line[1]/Quantity",
        "/Orders/Order/Lines/Line[2]/Quantity",
    }
    for field, problem in by_field.items():
        assert problem.line is not None
        assert f"<{field.rsplit('/', 1)[1]}>" in text[problem.line - 1]


def test_schemas_are_compiled_once_per_path() -> None:
    assert load_schema(MONTA_XSD) is load_schema(MONTA_XSD.parent / ".." / "monta" / "order.xsd")


def test_an_included_schema_is_resolved_relative_to_the_including_one() -> None:
    # The Monta order schema takes Barcode from common.xsd through xs:include.
    bad = (
        b'<MontaOrder xmlns="urn:koppel:monta:order:1" version="1"><WebshopOrderId>1'
        b"</WebshopOrderId></MontaOrder>"
    )
    problems = validate(parse_xml(bad, source="m.xml"), load_schema(MONTA_XSD), source="m.xml")
    assert problems
    assert "Origin" in problems[0].message


def test_a_missing_or_broken_schema_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.xsd"):
        load_schema(tmp_path / "missing.xsd")
    broken = tmp_path / "broken.xsd"
    broken.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element/>')
    with pytest.raises(ConfigError, match=r"broken\.xsd"):
        load_schema(broken)
