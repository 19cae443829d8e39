"""Invalid documents that cost us little: capped problem lists, wrong roots, readable paths."""

from __future__ import annotations

import pytest
from lxml import etree

from koppel.documents import TRUNCATED, Severity
from koppel.formats import default_registry, parse_xml
from koppel.formats.paths import ReadablePaths
from koppel.sandbox import samples, samples_warehouse

UBL_INVOICE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">\n'
    b"  <cbc:ID>INV-1</cbc:ID>\n"
    b"</Invoice>\n"
)


def _stock_with_bad_quantities(count: int) -> bytes:
    """A Monta full stock file of ``count`` products, each with the negative quantity -1."""
    return samples_warehouse.full_stock({f"SKU-{n:06d}": -1 for n in range(count)})


def test_8000_bad_quantities_are_stored_as_the_first_100_and_a_count() -> None:
    data = _stock_with_bad_quantities(8000)  # 1.15 MB, as in the report
    bad_lines = [
        number
        for number, text in enumerate(data.decode().splitlines(), start=1)
        if "<AvailableQuantity>-1<" in text
    ]
    result = default_registry().get("monta.stock").read(data, source="stock.xml")
    assert result.documents == []
    assert len(result.problems) == 101
    first, summary = result.problems[:100], result.problems[100]
    assert [(p.code, p.file, p.line, p.field) for p in first] == [
        ("xsd.invalid", "stock.xml", line, f"/StockUpdate/Products/Product[{n}]/AvailableQuantity")
        for n, line in enumerate(bad_lines[:100], start=1)
    ]
    assert "'-1' is not a valid value" in first[0].message
    assert (summary.code, summary.severity, summary.file) == (
        TRUNCATED,
        Severity.ERROR,
        "stock.xml",
    )
    assert summary.message.startswith(
        "… and 7,900 more problems were not stored (7,900 xsd.invalid)"
    )


def test_a_file_with_exactly_100_errors_is_stored_whole() -> None:
    data = _stock_with_bad_quantities(100)
    problems = default_registry().get("monta.stock").read(data, source="s.xml").problems
    assert len(problems) == 100
    assert TRUNCATED not in {p.code for p in problems}


@pytest.mark.parametrize(
    ("format_name", "data", "message"),
    [
        (
            "itsperfect.order",
            samples_warehouse.full_stock({"JL-TEE-203-WHT-S": 4}),
            "the document is a <StockUpdate> in namespace urn:koppel:monta:stock:1, "
            "but format itsperfect.order expects <Orders> in namespace "
            "urn:koppel:itsperfect:order:1",
        ),
        (
            "monta.stock",
            UBL_INVOICE,
            "the document is a <Invoice> in namespace "
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2, "
            "but format monta.stock expects <StockUpdate> in namespace urn:koppel:monta:stock:1",
        ),
        (
            "itsperfect.order",
            b"<?xml version='1.0'?>\n<Orders><Order/></Orders>",
            "the document is a <Orders> without a namespace, "
            "but format itsperfect.order expects <Orders> in namespace "
            "urn:koppel:itsperfect:order:1",
        ),
    ],
)
def test_a_document_of_another_type_names_its_root_and_the_expected_one(
    format_name: str, data: bytes, message: str
) -> None:
    result = default_registry().get(format_name).read(data, source="other.xml")
    assert [(p.code, p.file, p.line, p.message) for p in result.problems] == [
        ("xsd.wrong_root", "other.xml", 2, message)
    ]


def _by_sibling_scan(element: etree._Element) -> str:
    """The readable path by its definition: local names, indexed where a name repeats."""
    steps: list[str] = []
    current: etree._Element | None = element
    while current is not None:
        parent = current.getparent()
        same = [] if parent is None else [c for c in parent if c.tag == current.tag]
        name = etree.QName(current).localname
        steps.append(f"{name}[{same.index(current) + 1}]" if len(same) > 1 else name)
        current = parent
    return "/" + "/".join(reversed(steps))


MIXED_NAMESPACES = b"""<r xmlns="urn:d" xmlns:p="urn:p">
  <a/><!-- a comment is no step --><p:a/><a/><?pi between?>
  <b xmlns=""><a/><a><c/><c/></a><c/></b>
  <p:a><p:x/><x/><p:x/></p:a>
  <q:a xmlns:q="urn:p"/>
</r>"""


@pytest.mark.parametrize(
    "data",
    [
        MIXED_NAMESPACES,
        samples.good_orders(["IP-1", "IP-2"], lines=3),
        samples_warehouse.full_stock({"A": 1, "B": 2}),
        b"<p:root xmlns:p='urn:p'><p:x/><p:x><y/></p:x></p:root>",
    ],
)
def test_readable_paths_name_the_element_libxml2_points_at(data: bytes) -> None:
    tree = parse_xml(data, source="t.xml")
    paths = ReadablePaths(tree)
    for element in tree.iter(etree.Element):
        # getpath() is the libxml2 function that names the node of every XSD error.
        assert paths.readable(tree.getpath(element)) == _by_sibling_scan(element)


@pytest.mark.parametrize("raw", ["/*/text()", "/*/@version", "/*/*[99]", "/other", "*[1]"])
def test_a_path_that_names_no_element_is_kept_as_libxml2_wrote_it(raw: str) -> None:
    paths = ReadablePaths(parse_xml(b"<a version='1'><b/></a>", source="t.xml"))
    assert paths.readable(raw) == raw
