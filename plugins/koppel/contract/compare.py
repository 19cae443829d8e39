"""Comparing documents by meaning, and showing a difference a person can read.

XML is rebuilt with its namespaces declared once on the root under numbered
prefixes, attributes sorted, and whitespace-only text and comments dropped, so
attribute order, namespace prefixes and indentation do not count; it is compared
and shown pretty-printed. JSON is parsed and dumped with sorted keys
and an indent of 2. Anything else is text with normalised line ends. A
document that does not parse is compared as text: a broken output is still a
difference worth showing, never a crash of the runner.
"""

from __future__ import annotations

import difflib
import json

from lxml import etree

from koppel.formats.xml import XmlDocumentError, parse_xml

#: Documents larger than this are compared as they are parsed anyway: cases are small.
_MAX_BYTES = 50 * 1024 * 1024


def normalise(payload: bytes, extension: str) -> str:
    """The document in the form it is compared and shown in."""
    if extension == "xml":
        try:
            return _xml(payload)
        except (XmlDocumentError, etree.LxmlError, ValueError):
            pass
    elif extension == "json":
        try:
            parsed = json.loads(payload)
            return json.dumps(parsed, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        except (UnicodeDecodeError, ValueError):
            pass
    return _text(payload)


def _text(payload: bytes) -> str:
    text = payload.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") or not text else text + "\n"


def _xml(payload: bytes) -> str:
    """The XML, one element a line: whitespace between elements, attribute order and prefixes
    do not count. Parsed with Koppel's hardened parser (no DTDs, no entities).

    Every namespace is declared once, on the root (the root's as the default,
    the others ``ns0``, ``ns1`` in the order they first occur), so a diff shows
    elements as a person reads them, not a declaration on each one.
    """
    root = parse_xml(payload, source="document", max_bytes=_MAX_BYTES).getroot()
    rebuilt = _rebuilt(root, _namespaces(root))
    return str(etree.tostring(rebuilt, pretty_print=True, encoding="unicode"))


def _namespaces(root: etree._Element) -> dict[str | None, str] | None:
    """The root's namespace as the default, every other one numbered in document order."""
    found: dict[str, None] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):  # a comment or processing instruction
            continue
        for name in (element.tag, *element.attrib):
            namespace = etree.QName(name).namespace
            if namespace:
                found.setdefault(namespace, None)
    own = etree.QName(root).namespace
    nsmap: dict[str | None, str] = {None: own} if own else {}
    nsmap |= {f"ns{n}": namespace for n, namespace in enumerate(ns for ns in found if ns != own)}
    return nsmap or None


def _rebuilt(element: etree._Element, nsmap: dict[str | None, str] | None = None) -> etree._Element:
    """A copy without the document's prefixes, comments and whitespace-only text.

    Only the root is given ``nsmap``; its descendants use the prefixes it
    declares, so two documents that differ only in their prefixes (or a
    default namespace against a prefix) come out the same. Text between
    elements is kept unless it is whitespace only.
    """
    copy = etree.Element(element.tag, attrib=dict(sorted(element.attrib.items())), nsmap=nsmap)
    copy.text = element.text if element.text and element.text.strip() else None
    for child in element:
        if not isinstance(child.tag, str):  # a comment or processing instruction
            continue
        rebuilt = _rebuilt(child)
        rebuilt.tail = child.tail if child.tail and child.tail.strip() else None
        copy.append(rebuilt)
    return copy


def same(expected: bytes, actual: bytes, extension: str) -> bool:
    """Whether two documents mean the same."""
    return normalise(expected, extension) == normalise(actual, extension)


def diff(expected: str, actual: str, *, expected_name: str, actual_name: str) -> str:
    """A unified diff of two normalised texts, empty when they are equal."""
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        fromfile=expected_name,
        tofile=actual_name,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def document_diff(
    expected: bytes, actual: bytes, extension: str, *, expected_name: str, actual_name: str
) -> str:
    """The unified diff of two documents in their compared form; empty when they mean the same."""
    return diff(
        normalise(expected, extension),
        normalise(actual, extension),
        expected_name=expected_name,
        actual_name=actual_name,
    )
