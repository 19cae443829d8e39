"""One hardened parser per thread, reused: nothing of one document carries over to the next."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from lxml import etree

from koppel.formats import XmlDocumentError, parse_xml
from koppel.sandbox import samples

HOSTILE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'


def _outcome(data: bytes) -> str:
    try:
        tree = parse_xml(data, source="x.xml")
    except XmlDocumentError as exc:
        return exc.problem.code
    return str(etree.QName(tree.getroot()).localname)


def test_a_refused_document_leaves_the_parser_as_it_was() -> None:
    good = samples.good_order("IP-2025-0701")
    assert _outcome(good) == "Orders"
    assert _outcome(samples.broken_xml()) == "xml.syntax"
    assert _outcome(HOSTILE) == "xml.doctype"
    assert _outcome(good) == "Orders"
    with pytest.raises(XmlDocumentError):
        parse_xml(b"<a><b></a>", source="bad.xml")
    assert parse_xml(good, source="again.xml").getroot().sourceline == 2


def test_threads_parsing_at_once_each_get_their_own_results() -> None:
    documents = [
        samples.good_order(f"IP-2025-{n:04d}") if n % 3 else samples.broken_xml() for n in range(60)
    ]
    expected = [_outcome(data) for data in documents]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(_outcome, documents)) == expected
