"""Readable element paths for libxml2's node paths, at a cost linear in the errors.

libxml2 names the node of an error by a path such as ``/*/*[3]/*[2]/*[3]``
(``*`` for an element in a default namespace). A person wants
``/StockUpdate/Products/Product[2]/AvailableQuantity``: local names, with an
index only where a parent has several children of that name. Looking each
path up with XPath and then counting same-named siblings per ancestor scans
whole sibling lists per error, which made a stock file with 8,000 bad
quantities take minutes. :class:`ReadablePaths` indexes each parent's
children once and remembers every path prefix it resolved, so an error costs
its depth.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lxml import etree

# One element step of a libxml2 node path: ``*``, ``name`` or ``prefix:name``,
# with an optional 1-based index. Other steps (``text()``, ``@name``) never
# match: XSD errors point at elements, and anything else keeps its raw path.
_STEP = re.compile(
    r"(?:(?P<prefix>[^:\[\]@/()]+):)?(?P<name>\*|[^:\[\]@/()]+)(?:\[(?P<index>[1-9][0-9]*)\])?"
)


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _named_key(element: etree._Element) -> tuple[str | None, str] | None:
    """How libxml2 names ``element`` in a path step, or None when it writes ``*``.

    An element in a default namespace (no prefix) is written ``*`` and counted
    among all element siblings; others by ``prefix:name`` or plain ``name``.
    """
    if element.prefix is None and etree.QName(element).namespace is not None:
        return None
    return (element.prefix, _local(element))


@dataclass
class _Children:
    """The element children of one parent, indexed once for every later lookup."""

    elements: list[etree._Element]
    steps: list[str]
    """The readable step of each child: ``name``, or ``name[n]`` when the name repeats."""
    named: dict[tuple[str | None, str], list[int]]
    """Positions in ``elements`` per libxml2 step name, for ``prefix:name[n]`` steps."""

    @classmethod
    def of(cls, parent: etree._Element) -> _Children:
        """Index ``parent``'s element children (comments and PIs are no path steps)."""
        elements = [child for child in parent if isinstance(child.tag, str)]
        totals = Counter(child.tag for child in elements)
        seen: Counter[str] = Counter()
        steps: list[str] = []
        named: dict[tuple[str | None, str], list[int]] = {}
        for position, child in enumerate(elements):
            seen[child.tag] += 1
            repeated = totals[child.tag] > 1
            steps.append(f"{_local(child)}[{seen[child.tag]}]" if repeated else _local(child))
            key = _named_key(child)
            if key is not None:
                named.setdefault(key, []).append(position)
        return cls(elements, steps, named)

    def position(self, prefix: str | None, name: str, index: int) -> int | None:
        """Position in ``elements`` of the child a libxml2 step names, or None."""
        candidates = (
            range(len(self.elements)) if name == "*" else self.named.get((prefix, name), [])
        )
        return candidates[index - 1] if 0 < index <= len(candidates) else None


@dataclass
class _Resolved:
    """An element a path prefix led to, with its readable path."""

    element: etree._Element
    readable: str
    children: _Children | None = None

    def child_index(self) -> _Children:
        """This element's children, indexed on first use: only parents on an error's way."""
        if self.children is None:
            self.children = _Children.of(self.element)
        return self.children


class ReadablePaths:
    """Turns libxml2 node paths of one tree into readable ones, reusing all work between paths."""

    def __init__(self, tree: etree._ElementTree) -> None:
        self._root = tree.getroot()
        self._resolved: dict[str, _Resolved | None] = {}

    def readable(self, raw_path: str | None) -> str | None:
        """``/Orders/Order[2]/Quantity`` for libxml2's ``/*/*[2]/*[4]``.

        A path this class cannot follow (a text node, an attribute, a node not
        in the tree) is returned as given: still better than no location at all.
        """
        if not raw_path or not raw_path.startswith("/"):
            return raw_path or None
        found = self._resolve(raw_path)
        return raw_path if found is None else found.readable

    def _resolve(self, raw_path: str) -> _Resolved | None:
        """The element at ``raw_path``, resolving only the prefixes not seen before.

        Iterative rather than recursive: documents may nest 256 levels deep.
        """
        pending: list[str] = []
        known = raw_path
        while known and known not in self._resolved:
            pending.append(known)
            known = known.rpartition("/")[0]
        parent = self._resolved[known] if known else None
        for path in reversed(pending):
            parent = self._resolved[path] = self._step(path, parent)
        return self._resolved[raw_path]

    def _step(self, raw_path: str, parent: _Resolved | None) -> _Resolved | None:
        """The element the last step of ``raw_path`` names under ``parent`` (the root if none)."""
        head, _, last = raw_path.rpartition("/")
        step = _STEP.fullmatch(last)
        if step is None:
            return None
        index = int(step["index"] or 1)
        if not head:
            is_root = step["name"] in ("*", _local(self._root)) and index == 1
            return _Resolved(self._root, f"/{_local(self._root)}") if is_root else None
        if parent is None:
            return None
        children = parent.child_index()
        position = children.position(step["prefix"], step["name"], index)
        if position is None:
            return None
        readable = f"{parent.readable}/{children.steps[position]}"
        return _Resolved(children.elements[position], readable)
