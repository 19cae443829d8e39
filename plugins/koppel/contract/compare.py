"""Comparing documents by meaning, and showing a difference a person can read.

XML is canonicalised (C14N 2.0, after prefixes are renumbered and whitespace-only
text and comments are dropped), so attribute order, namespace prefixes and indentation do
not count, and shown pretty-printed. JSON is parsed and dumped with sorted keys
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
    """Canonical XML, one element a line: whitespace between elements, attribute order and
    prefixes do not count. Parsed with Koppel's hardened parser (no DTDs, no entities)."""
    root = parse_xml(payload, source="document", max_bytes=_MAX_BYTES).getroot()
    namespace = etree.QName(root).namespace
    root = _rebuilt(root, {None: namespace} if namespace else None)
    canonical = etree.canonicalize(root)
    pretty = etree.tostring(
        parse_xml(canonical.encode("utf-8"), source="canonical", max_bytes=_MAX_BYTES),
        pretty_print=True,
        encoding="unicode",
    )
    return str(pretty)


def _rebuilt(element: etree._Element, nsmap: dict[str | None, str] | None = None) -> etree._Element:
    """A copy without the document's prefixes, comments and whitespace-only text.

    The root's namespace becomes the default one (``nsmap``); elements in any
    other namespace get prefixes lxml numbers in document order (``ns0``,
    ``ns1``), so two documents that differ only in their prefixes (or a default
    namespace against a prefix) come out the same.
    """
    copy = etree.Element(element.tag, attrib=dict(sorted(element.attrib.items())), nsmap=nsmap)
    copy.text = element.text if element.text and element.text.strip() else None
    for child in element:
        if not isinstance(child.tag, str):  # a comment or processing instruction
            continue
        rebuilt = _rebuilt(child)
        rebuilt.tail = None
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
