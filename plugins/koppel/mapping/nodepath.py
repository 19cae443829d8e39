"""Read paths compiled once: plain child steps answered from an index of children, XPath otherwise.

Nearly every path of a ``read:`` half is a plain child path (``ip:Customer/ip:Name``,
``@vatRate``, ``.``). libxml2 sets up an XPath context for every call, which made
one call per field a third of the time to read an order. So the loader compiles
such a path into its steps in Clark notation, and the reader answers it from
each node's children, indexed by tag once per node however many fields ask.
Any other expression (predicates, axes, functions, wildcards) keeps its
compiled :class:`etree.XPath`. Both give what the XPath gives: the matches in
document order, the first one's text, and the element whose line a problem names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

_NAME = r"[A-Za-z_][\w.\-]*"
# ``ip:Customer/ip:Name``, ``Name``, ``ip:Lines/ip:Line/@id``, ``@vatRate`` or ``.``;
# nothing else (whitespace, predicates, axes, functions) is taken for a plain path.
_PLAIN = re.compile(
    rf"(?P<steps>(?:{_NAME}:)?{_NAME}(?:/(?:{_NAME}:)?{_NAME})*)(?:/@(?P<attr>(?:{_NAME}:)?{_NAME}))?"
    rf"|@(?P<only_attr>(?:{_NAME}:)?{_NAME})"
    r"|(?P<self>\.)"
)

#: A node's element children by tag (Clark notation), in document order.
Children = dict[object, list[etree._Element]]


class ChildIndex:
    """The children of each node asked about, indexed once; lives as long as one document's read.

    Keyed by the element proxy itself: lxml hands out the same proxy for a
    node while a reference to it is alive, and this index keeps one.
    """

    def __init__(self) -> None:
        self._indexed: dict[etree._Element, Children] = {}

    def of(self, node: etree._Element) -> Children:
        """``node``'s children by tag; comments and processing instructions are indexed too,
        under a tag no path step can name."""
        children = self._indexed.get(node)
        if children is None:
            children = {}
            for child in node:
                tag = child.tag
                same = children.get(tag)
                if same is None:
                    children[tag] = [child]
                else:
                    same.append(child)
            self._indexed[node] = children
        return children


def element_text(element: etree._Element) -> str | None:
    """The stripped text of an element and its descendants, as the reader has always taken it."""
    if len(element) == 0:
        text = element.text
        return (text.strip() or None) if text is not None else None
    return "".join(element.itertext()).strip() or None


def _item_text(item: object) -> tuple[str | None, etree._Element | None]:
    """Text of one XPath result item and the element whose line it has, as XPath returned it."""
    if isinstance(item, etree._Element):
        return element_text(item), item
    if isinstance(item, str):
        parent = getattr(item, "getparent", lambda: None)()
        return item.strip() or None, parent
    if isinstance(item, bool):
        return ("true" if item else "false"), None
    if isinstance(item, float):
        if math.isnan(item):  # XPath's number() of nothing
            return None, None
        return (str(int(item)) if item.is_integer() else repr(item)), None
    return None, None


@dataclass(frozen=True)
class NodePath:
    """One compiled read path, evaluated relative to a record or list item node."""

    path: str
    """The expression as written in the mapping (``etree.XPath`` names it ``path`` too)."""
    xpath: etree.XPath
    steps: tuple[str, ...] | None = None
    """Child element steps in Clark notation for a plain path; None to evaluate ``xpath``."""
    attribute: str | None = None
    """The attribute a plain path ends in, in Clark notation for a prefixed one."""

    def _matches(
        self, node: etree._Element, index: ChildIndex, depth: int = 0
    ) -> Iterator[etree._Element]:
        """The elements the plain steps lead to from ``node``, in document order."""
        assert self.steps is not None
        if depth == len(self.steps):
            yield node
            return
        for child in index.of(node).get(self.steps[depth], ()):
            yield from self._matches(child, index, depth + 1)

    def elements(self, node: etree._Element, index: ChildIndex) -> list[etree._Element]:
        """The element nodes the path selects (a list's items, a document's records)."""
        if self.steps is None:
            found = self.xpath(node)
            items = found if isinstance(found, list) else []
            return [item for item in items if isinstance(item, etree._Element)]
        if self.attribute is not None:
            return []
        if len(self.steps) == 1:
            return list(index.of(node).get(self.steps[0], ()))
        return list(self._matches(node, index))

    def first(
        self, node: etree._Element, index: ChildIndex
    ) -> tuple[str | None, etree._Element | None]:
        """The text of the first match, and the element whose line it is on (None if unknown)."""
        if self.steps is None:
            found = self.xpath(node)
            if isinstance(found, list):
                return _item_text(found[0]) if found else (None, None)
            return _item_text(found)
        return self._first_plain(node, index)

    def _first_plain(
        self, node: etree._Element, index: ChildIndex
    ) -> tuple[str | None, etree._Element | None]:
        element = self._first_at(node, index, 0)
        if element is None:
            return None, None
        if self.attribute is None:
            return element_text(element), element
        value = str(element.get(self.attribute))
        return value.strip() or None, element

    def _first_at(
        self, node: etree._Element, index: ChildIndex, depth: int
    ) -> etree._Element | None:
        """The first element the steps from ``depth`` on lead to (that has the attribute, if
        the path ends in one): a depth-first search in document order."""
        assert self.steps is not None
        if depth == len(self.steps):
            has = self.attribute is None or node.get(self.attribute) is not None
            return node if has else None
        for child in index.of(node).get(self.steps[depth], ()):
            found = self._first_at(child, index, depth + 1)
            if found is not None:
                return found
        return None


def _clark(name: str, namespaces: dict[str, str]) -> str | None:
    """``{urn…}Name`` for ``ip:Name``, ``Name`` for an unprefixed name (XPath 1.0: no namespace).

    None for an undeclared prefix: the XPath then reports it.
    """
    prefix, _, local = name.rpartition(":")
    if not prefix:
        return local
    namespace = namespaces.get(prefix)
    return None if namespace is None else f"{{{namespace}}}{local}"


def compile_path(xpath: etree.XPath, namespaces: dict[str, str]) -> NodePath:
    """``xpath`` (compiled with ``namespaces``) as a plain path where it is one."""
    expression = str(xpath.path)
    plain = _PLAIN.fullmatch(expression)
    if plain is None:
        return NodePath(expression, xpath)
    if plain["self"]:
        return NodePath(expression, xpath, steps=())
    attribute_name = plain["attr"] or plain["only_attr"]
    names = plain["steps"].split("/") if plain["steps"] else []
    steps = [_clark(name, namespaces) for name in names]
    attribute = None if attribute_name is None else _clark(attribute_name, namespaces)
    if None in steps or (attribute_name is not None and attribute is None):
        return NodePath(expression, xpath)
    plain_steps = tuple(step for step in steps if step is not None)
    return NodePath(expression, xpath, steps=plain_steps, attribute=attribute)
