"""XSD validation while parsing: every error counted, the first ones located, in linear time.

lxml names the node of every error of ``XMLSchema.validate(tree)`` as it logs
it (libxml2's ``xmlGetNodePath`` counts the preceding siblings of each
ancestor), so a flat file of a million bad siblings costs hours. lxml offers
no option to skip that path or to stop after some errors. Validating while
parsing the document's bytes logs errors without a node, hence without path
or line, at a cost linear in the document: :func:`count_errors` uses that to
decide validity and count the errors. :func:`first_errors` parses once more
with a target that sees every element start, end and text, and stops after
the first errors: libxml2 validates each event right after the target has
seen it, so the errors logged between two events belong to the earlier one.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from lxml import etree

_TYPES = etree.ErrorTypes

# Errors libxml2 raises at a child's start tag about the parent it entered
# (element content in a simple, empty or nilled element): the parent is
# the element they name and the node lxml's tree validation points at.
_ABOUT_PARENT = frozenset(
    {
        _TYPES.SCHEMAV_CVC_COMPLEX_TYPE_2_1,
        _TYPES.SCHEMAV_CVC_COMPLEX_TYPE_2_2,
        _TYPES.SCHEMAV_CVC_TYPE_3_1_2,
        _TYPES.SCHEMAV_CVC_ELT_3_2_1,
    }
)


@dataclass(frozen=True)
class XsdError:
    """One schema violation: what libxml2 says, and where, when that is known."""

    type: int
    message: str
    line: int | None
    path: str | None
    """libxml2's node path, e.g. ``/*/*[3]/*[2]``."""


def _validating_parser(schema: etree.XMLSchema, target: object = None) -> etree.XMLParser:
    """A parser for our own serialization of a tree that was already parsed under the limits.

    ``huge_tree`` only because escaping can make a serialized text longer
    than the text the limits measured.
    """
    return etree.XMLParser(
        schema=schema, target=target, huge_tree=True, resolve_entities=False, no_network=True
    )


def count_errors(data: bytes, schema: etree.XMLSchema) -> int:
    """How many schema errors the document in ``data`` has; 0 when it is valid."""
    parser = _validating_parser(schema)
    with suppress(etree.XMLSyntaxError):  # raised when invalid; the log says why
        etree.fromstring(data, parser)
    return sum(1 for entry in parser.error_log if _is_schema_error(entry))


def _is_schema_error(entry: etree._LogEntry) -> bool:
    """True for a schema violation; the parser's log may also hold its own warnings."""
    return bool(entry.domain == etree.ErrorDomains.SCHEMASV)


class _Enough(Exception):  # noqa: N818  # a stop signal, not an error
    """Raised from the target to stop parsing once enough errors are located."""


class _Locator:
    """Parser target that ties each newly logged error to the event libxml2 just validated.

    An event is ``(kind, n)``: the start, end or text of the ``n``-th
    element in document order.
    """

    def __init__(self, schema: etree.XMLSchema, limit: int) -> None:
        self.found: list[tuple[tuple[str, int], etree._LogEntry]] = []
        self._limit = limit
        self._parser = _validating_parser(schema, self)
        self._event = ("start", 0)
        self._open: list[int] = []
        self._elements = 0
        self._logged = 0

    def run(self, data: bytes) -> None:
        """Parse ``data`` until the end or until ``limit`` errors are found."""
        with suppress(_Enough):
            etree.fromstring(data, self._parser)

    def _collect(self) -> None:
        """Credit the errors logged since the last event to it; stop when enough are found.

        ``error_log`` copies the log, which stays short: parsing stops after
        ``limit`` errors.
        """
        log = self._parser.error_log
        new = list(log)[self._logged :]
        self.found += [(self._event, entry) for entry in new if _is_schema_error(entry)]
        self._logged = len(log)
        if len(self.found) >= self._limit:
            raise _Enough

    def start(self, _tag: str, _attrib: dict[str, str]) -> None:
        """An element starts: libxml2 checks it (and its parent's content) next."""
        self._collect()
        self._event = ("start", self._elements)
        self._open.append(self._elements)
        self._elements += 1

    def end(self, _tag: str) -> None:
        """An element ends: libxml2 checks its content and value next."""
        self._collect()
        self._event = ("end", self._open.pop())

    def data(self, _text: str) -> None:
        """Text of the innermost open element, checked next."""
        self._collect()
        self._event = ("text", self._open[-1])

    def close(self) -> None:
        """The end of the document: the last event's errors are logged by now."""
        self._collect()


def first_errors(
    tree: etree._ElementTree, data: bytes, schema: etree.XMLSchema, limit: int
) -> list[XsdError]:
    """The first ``limit`` schema errors of ``tree``, each with its element's line and path.

    Args:
        tree: The document.
        data: ``tree`` serialized: its elements in the same order.
        schema: The schema to validate against.
        limit: How many errors to locate; parsing stops there.
    """
    locator = _Locator(schema, limit)
    locator.run(data)
    found = locator.found[:limit]
    elements = _elements_by_position(tree, {position for (_, position), _ in found})
    return [_located(entry, kind, elements[position], tree) for (kind, position), entry in found]


def _elements_by_position(tree: etree._ElementTree, wanted: set[int]) -> dict[int, etree._Element]:
    """The elements at the given positions in document order, walking no further than needed."""
    found: dict[int, etree._Element] = {}
    for position, element in enumerate(tree.getroot().iter(etree.Element)):
        if len(found) == len(wanted):
            break
        if position in wanted:
            found[position] = element
    return found


def _located(
    entry: etree._LogEntry, kind: str, element: etree._Element, tree: etree._ElementTree
) -> XsdError:
    """The error with the line and node path lxml's tree validation would have given it."""
    parent = element.getparent()
    if kind == "start" and entry.type in _ABOUT_PARENT and parent is not None:
        element = parent
    return XsdError(entry.type, entry.message, element.sourceline, tree.getpath(element))
