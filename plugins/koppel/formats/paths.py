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
from dataclasses import dataclass, field

from lxml import etree

# One element step of a libxml2 node path: ``*``, ``name`` or ``prefix:name``,
# with an optional 1-based index. Other steps (``text()``, ``@name``) never
# match: XSD errors point at elements, and anything else keeps its raw path.
_STEP = re.compile(
    r"(?:(?P<prefix>[^:\[\]@/()]+):)?(?P<name>\*|[^:\[\]@/()]+)(?:\[(?P<index>[1-9][0-9]*)\])?"
)


def _local(tag: str) -> str:
    """``Orders`` for ``{urn:…}Orders``: plain string work, no QName per element."""
    return tag.rpartition("}")[2]


@dataclass
class _Children:
    """The element children of one parent, indexed once for every later lookup."""

    elements: list[etree._Element]
    steps: list[str]
    """The readable step of each child: ``name``, or ``name[n]`` when the name repeats."""
    _named: dict[tuple[str | None, str], list[int]] | None = field(default=None, init=False)

    @classmethod
    def of(cls, parent: etree._Element) -> _Children:
        """Index ``parent``'s element children (comments and PIs are no path steps)."""
        elements = [child for child in parent if isinstance(child.tag, str)]
        tags = [child.tag for child in elements]
        totals = Counter(tags)
        seen: Counter[str] = Counter()
        steps: list[str] = []
        for tag in tags:
            seen[tag] += 1
            steps.append(f"{_local(tag)}[{seen[tag]}]" if totals[tag] > 1 else _local(tag))
        return cls(elements, steps)

    def position(self, prefix: str | None, name: str, index: int) -> int | None:
        """Position in ``elements`` of the child a libxml2 step names, or None."""
        candidates = range(len(self.elements)) if name == "*" else self.named().get((prefix, name))
        return candidates[index - 1] if candidates and 0 < index <= len(candidates) else None

    def named(self) -> dict[tuple[str | None, str], list[int]]:
        """Positions per ``prefix:name`` step, built on the first such step.

        libxml2 writes ``*`` for an element in a default namespace and counts
        it among all element siblings; only other elements have a name step.
        Common documents use a default namespace, so this is rarely needed.
        """
        if self._named is None:
            self._named = {}
            for position, child in enumerate(self.elements):
                in_default_namespace = child.prefix is None and child.tag.startswith("{")
                if not in_default_namespace:
                    key = (child.prefix, _local(child.tag))
                    self._named.setdefault(key, []).append(position)
        return self._named


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
            local = _local(self._root.tag)
            is_root = step["name"] in ("*", local) and index == 1
            return _Resolved(self._root, f"/{local}") if is_root else None
        if parent is None:
            return None
        children = parent.child_index()
        position = children.position(step["prefix"], step["name"], index)
        if position is None:
            return None
        readable = f"{parent.readable}/{children.steps[position]}"
        return _Resolved(children.elements[position], readable)
