"""The compiled forms of a mapping give what the plain interpretation gives.

Read paths that are plain child steps are answered from an index of each
node's children instead of libxml2's XPath; the XML writer joins markup and
parses it once instead of making each element with lxml. Both must be
invisible: the same matches, texts, lines and bytes as XPath and lxml give.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from lxml import etree

from koppel.documents import Order
from koppel.formats import default_registry, parse_xml
from koppel.mapping import write_document
from koppel.mapping.definition import FieldRule, ListRule, MappingDefinition, ReadRule
from koppel.mapping.nodepath import ChildIndex, compile_path
from koppel.sandbox import samples, samples_catalogue, samples_warehouse

NS = {"p": "urn:test:p", "q": "urn:test:q"}

TRICKY = b"""<r xmlns="urn:test:p" xmlns:q="urn:test:q" id=" 7 ">
  <a/>
  <a><b>  </b><b>second</b></a>
  <a><b> x <i>y</i> z </b><!-- note --></a>
  <c q:y=" v " z="w"/><c y="later"/>
  <d>t<!--c-->u</d>
  <q:e>other namespace</q:e>
  <e>no namespace? no: default</e>
</r>"""

PATHS = [
    "p:a",
    "p:a/p:b",
    "p:a/p:b/p:i",
    "p:c/@q:y",
    "p:c/@y",
    "p:c/@z",
    "@id",
    "@missing",
    ".",
    "p:d",
    "q:e",
    "p:e",
    "e",
    "p:nothing/p:b",
    "p:a[2]/p:b",
    "string(p:d)",
    "count(p:a)",
    "p:a/p:b = 'second'",
]


def _reference(result: object) -> tuple[str | None, etree._Element | None]:
    """What the reader took from an XPath result before paths were compiled."""
    item = (result[0] if result else None) if isinstance(result, list) else result
    if isinstance(item, etree._Element):
        return "".join(item.itertext()).strip() or None, item
    if isinstance(item, str):
        parent = getattr(item, "getparent", lambda: None)()
        return item.strip() or None, parent
    if isinstance(item, bool):
        return ("true" if item else "false"), None
    if isinstance(item, float):
        if math.isnan(item):
            return None, None
        return (str(int(item)) if item.is_integer() else repr(item)), None
    return None, None


def _elements(result: object) -> list[etree._Element]:
    items = result if isinstance(result, list) else []
    return [item for item in items if isinstance(item, etree._Element)]


def test_which_paths_are_plain() -> None:
    def steps(expression: str) -> tuple[tuple[str, ...] | None, str | None]:
        compiled = compile_path(etree.XPath(expression, namespaces=NS), NS)
        return compiled.steps, compiled.attribute

    assert steps("p:a/p:b") == (("{urn:test:p}a", "{urn:test:p}b"), None)
    assert steps("e") == (("e",), None)
    assert steps("p:c/@q:y") == (("{urn:test:p}c",), "{urn:test:q}y")
    assert steps("@id") == ((), "id")
    assert steps(".") == ((), None)
    for other in ("p:a[2]/p:b", "../p:a", "//p:a", "p:a | p:c", "string(p:d)", "*", "p:a/text()"):
        assert steps(other)[0] is None, other


@pytest.mark.parametrize("expression", PATHS)
def test_a_compiled_path_gives_what_its_xpath_gives(expression: str) -> None:
    root = etree.fromstring(TRICKY)
    path = compile_path(etree.XPath(expression, namespaces=NS), NS)
    for node in root.iter(etree.Element):
        index = ChildIndex()
        assert path.first(node, index) == _reference(path.xpath(node)), etree.QName(node).localname
        assert path.elements(node, index) == _elements(path.xpath(node))


def _corpus() -> Iterator[tuple[str, bytes]]:
    yield "itsperfect.order", samples.good_orders(["IP-1", "IP-2"], lines=4)
    yield "itsperfect.order", samples.good_orders(["IP-3"], channel="wholesale", lines=5)
    yield "itsperfect.product", samples_catalogue.product_export()
    yield "itsperfect.inbound_forecast", samples_catalogue.inbound_forecast("IF-1", 3)
    yield "monta.inbound_update", samples_catalogue.inbound_update("IF-1", 3)
    yield "monta.return", samples_catalogue.return_registration("R-1", "IP-1", 2)
    yield "monta.stock", samples_warehouse.full_stock({"A-1": 3, "B-2": 0})


def _check_rules(
    node: etree._Element, rules: tuple[FieldRule | ListRule, ...], definition: MappingDefinition
) -> int:
    checked = 0
    for rule in rules:
        index = ChildIndex()
        if isinstance(rule, ListRule):
            items = rule.each.elements(node, index)
            assert items == _elements(rule.each.xpath(node)), (definition.name, rule.target)
            for item in items:
                checked += _check_rules(item, rule.rules, definition)
        elif rule.xpath is not None:
            found = rule.xpath.first(node, index)
            assert found == _reference(rule.xpath.xpath(node)), (definition.name, rule.target)
            checked += 1
    return checked


@pytest.mark.parametrize(("name", "data"), list(_corpus()))
def test_every_read_path_of_the_shipped_mappings_matches_its_xpath(name: str, data: bytes) -> None:
    definition = default_registry().get(name).definition
    assert isinstance(definition.read, ReadRule)
    tree = parse_xml(data, source="sample.xml")
    records = _elements(definition.read.record(tree))
    assert records
    assert sum(_check_rules(r, definition.read.rules, definition) for r in records) > len(records)


def _lxml_markup(text: str, *, attribute: bool = False) -> bytes:
    """How lxml itself writes a text or attribute value."""
    element = etree.Element("x")
    if attribute:
        element.set("a", text)
    else:
        element.text = text
    markup = etree.tostring(element, encoding="UTF-8", xml_declaration=False)
    return markup[len(b'<x a="') if attribute else 3 :]


@pytest.fixture(scope="module")
def order() -> Order:
    result = (
        default_registry()
        .get("itsperfect.order")
        .read(samples.good_order("IP-2025-0501", lines=2), source="o.xml")
    )
    (document,) = result.documents
    assert isinstance(document, Order)
    return document


MONTA_CONTEXT = {"origin": "acme-webshop"}


@pytest.mark.parametrize(
    "note", ["a & b < c > d ]]> \" ' end", "cr\r\nlf", " \t spaced \t ", "", "é ☃ 𝄞", "\x7f\x85"]
)
def test_written_text_is_what_lxml_writes(order: Order, note: str) -> None:
    definition = default_registry().get("monta.order").definition
    payload = write_document(
        definition, order.model_copy(update={"note": note}), context=MONTA_CONTEXT
    )
    expected = _lxml_markup(note).replace(b"</x>", b"</Comment>")
    assert b"<Comment>" + expected in payload


@pytest.mark.parametrize("reference", ['a"b', "tab\there", "new\nline", "cr\rx", "<&>", ""])
def test_written_attributes_are_what_lxml_writes(order: Order, reference: str) -> None:
    definition = default_registry().get("monta.order").definition
    line = order.lines[0].model_copy(update={"line_id": reference})
    payload = write_document(
        definition, order.model_copy(update={"lines": [line]}), context=MONTA_CONTEXT
    )
    expected = _lxml_markup(reference, attribute=True).replace(b"/>", b">")
    assert b'<Line reference="' + expected in payload


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x0b", "\x1f", "\ufffe"])
def test_a_value_lxml_refuses_is_refused_with_its_error(order: Order, bad: str) -> None:
    definition = default_registry().get("monta.order").definition
    with pytest.raises(ValueError, match="All strings must be XML compatible"):
        write_document(
            definition, order.model_copy(update={"note": f"x{bad}y"}), context=MONTA_CONTEXT
        )
