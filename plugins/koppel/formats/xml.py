"""Hardened XML parsing: every document from outside goes through :func:`parse_xml`.

Partners send us files we did not write, so the parser trusts nothing: no
DTDs at all (defusedxml's ``forbid_dtd`` stance, which rules out entity bombs
and XXE in one stroke), no entity resolution, no network, libxml2's default
size limits (``huge_tree=False``: 256 levels of nesting, 10,000,000 bytes per
text or value, reported in our words) and our own byte limit checked before a
single byte is parsed. Every refusal is a :class:`XmlDocumentError` carrying
one :class:`~koppel.documents.Problem`, so the caller can store the message
with a clear reason instead of crashing.
"""

from __future__ import annotations

import codecs
import re
import threading

from lxml import etree

from koppel.documents import Problem
from koppel.errors import FatalSyncError

#: Default upper bound for one inbound document; larger files are refused unread.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# libxml2 words its safety limits as advice to lift them ("use XML_PARSE_HUGE
# option"). A partner cannot act on that and we will not lift them, so each
# limit is said in our words: what is too big, and the limit it broke. These
# are the messages this libxml2 (2.14) gives for each limit, checked in
# tests/unit/formats/test_hostile_xml.py; any other resource-limit message
# becomes a plain ``xml.limit``.
_DEPTH = re.compile(r"Excessive depth in document: (\d+)")
_TOO_LONG: tuple[tuple[str, str], ...] = (
    ("Text node too long", "a text is longer than the limit of 10,000,000 bytes"),
    (
        "Buffer size limit exceeded",
        "an attribute value, CDATA section or processing instruction is longer than "
        "the limit of 10,000,000 bytes",
    ),
    ("Comment too big", "a comment is longer than the limit of 10,000,000 bytes"),
    ("Name too long", "an element or attribute name is longer than the limit of 50,000 bytes"),
)


class XmlDocumentError(FatalSyncError):
    """A document that must not or cannot be parsed; ``problem`` says why and where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _refuse(code: str, message: str, source: str, line: int | None = None) -> XmlDocumentError:
    return XmlDocumentError(Problem(code=code, message=message, file=source, line=line))


def _parse_refusal(exc: etree.XMLSyntaxError, source: str) -> XmlDocumentError:
    """libxml2's complaint as one problem with its line; a broken limit in our words."""
    text = str(exc.msg)
    depth = _DEPTH.search(text)
    if depth:
        message = f"elements are nested deeper than the limit of {int(depth[1]):,} levels"
        return _refuse("xml.too_deep", message, source, exc.lineno)
    for needle, message in _TOO_LONG:
        if needle in text:
            return _refuse("xml.too_long", message, source, exc.lineno)
    if exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT or "XML_PARSE_HUGE" in text:
        message = "the document exceeds a size limit of the XML parser"
        return _refuse("xml.limit", message, source, exc.lineno)
    return _refuse("xml.syntax", text, source, exc.lineno)


_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's hardened parser, made on first use and reused, as lxml reuses its default.

    lxml parsers are not safe to share between threads, and a fresh one per
    document costs more than parsing a small document: so one per thread.
    """
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_blank_text=False,
        )
    return parser


def _encoding_of(data: bytes) -> str:
    """The encoding the document claims: BOM first, then the XML declaration, else UTF-8."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    if data.startswith((b"<\x00?\x00", b"\x00<\x00?")):
        return "utf-16-le" if data[0] == ord("<") else "utf-16-be"
    match = _DECLARED_ENCODING.match(data)
    return match.group(1).decode("ascii") if match else "utf-8"


def _decode(data: bytes, source: str) -> str:
    """Decode strictly so that bad bytes are reported as such, with their line."""
    encoding = _encoding_of(data)
    try:
        return data.decode(encoding)
    except LookupError as exc:
        raise _refuse("xml.encoding", f"unknown encoding {encoding!r}", source, 1) from exc
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"bytes at offset {exc.start} are not valid {encoding}"
        raise _refuse("xml.encoding", message, source, line) from exc


def _doctype_line(text: str) -> int | None:
    """Line of a DOCTYPE in the prolog, or None; scanned before parsing so nothing expands.

    A DOCTYPE may only appear in the prolog, between the XML declaration,
    comments and processing instructions; anywhere else it is a syntax error
    that the parser reports without expanding anything.
    """
    pos, size = 0, len(text)
    while pos < size:
        if text[pos].isspace() or text[pos] == "\ufeff":
            pos += 1
        elif text.startswith("<!DOCTYPE", pos):
            return text.count("\n", 0, pos) + 1
        elif text.startswith(("<?", "<!--"), pos):
            terminator = "?>" if text[pos + 1] == "?" else "-->"
            end = text.find(terminator, pos + 2)
            if end < 0:
                return None
            pos = end + len(terminator)
        else:
            return None
    return None


def parse_xml(
    data: bytes, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._ElementTree:
    """Parse an untrusted document or refuse it with one problem.

    Args:
        data: The raw bytes as received.
        source: Name of the file or message, recorded on the problem.
        max_bytes: Larger documents are refused before parsing.

    Returns:
        The parsed tree; elements carry their source line for later problems.

    Raises:
        XmlDocumentError: With code ``xml.too_large``, ``xml.encoding``,
            ``xml.doctype``, ``xml.too_deep``, ``xml.too_long``, ``xml.limit``
            or ``xml.syntax``.
    """
    if len(data) > max_bytes:
        message = f"document is {len(data)} bytes, more than the limit of {max_bytes}"
        raise _refuse("xml.too_large", message, source)
    if not data.strip():
        raise _refuse("xml.syntax", "document is empty", source, 1)
    doctype_line = _doctype_line(_decode(data, source))
    if doctype_line is not None:
        raise _refuse("xml.doctype", "DOCTYPE declarations are not allowed", source, doctype_line)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _parse_refusal(exc, source) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _refuse("xml.doctype", "DOCTYPE declarations are not allowed", source, 1)
    return tree
