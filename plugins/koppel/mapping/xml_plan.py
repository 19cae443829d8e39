"""A ``write:`` tree compiled once into functions that append markup, one per node.

Interpreting the tree per value (is it an attribute, a leaf, a list? what is
its name in this namespace?) cost more than the value itself. So each node
becomes a function that already knows its start and end tags, as lxml would
write them below a root carrying the mapping's namespaces, and what kind of
node it is. Values, defaults, lookups and every problem still come from
:class:`~koppel.mapping.writer.WireWriter`; only the common leaf (a plain
``from`` to a text field) reads its value itself, and hands anything else
(no value, another type) to the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from koppel.mapping.canonical import value_at
from koppel.mapping.definition import MappingDefinition, Total, WriteNode
from koppel.mapping.values import format_value
from koppel.mapping.writer import WireWriter, node_scopes

#: Appends one node's markup (or, for an attribute, its value) in one scope:
#: ``emit(writer, scope, path, attributes, body)``.
Emit = Callable[[WireWriter, object, str, dict[str, str], list[str]], None]


def text_escaped(text: str) -> str:
    """Element text as markup; an empty text stays an empty text node."""
    return escaped_text(text) or "<![CDATA[]]>"  # as ``element.text = ""`` makes


def escaped_text(text: str) -> str:
    """Text as markup; ``\\r`` as a reference, or the parser would turn it into ``\\n``.

    Most values have nothing to escape and are returned as they are, not copied.
    """
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def attribute_escaped(value: str) -> str:
    """An attribute value as markup; whitespace as references, or the parser would normalize it."""
    for raw, markup in (("&", "&amp;"), ("<", "&lt;"), ('"', "&quot;")):
        if raw in value:
            value = value.replace(raw, markup)
    for raw, markup in (("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;")):
        if raw in value:
            value = value.replace(raw, markup)
    return value


@dataclass(frozen=True)
class _Names:
    """How each name of a write tree is written, as lxml would write it in that tree."""

    starts: dict[str, str]
    """Element start tags up to their attributes (``<Sku``), by Clark name."""
    ends: dict[str, str]
    """Element end tags (``</Sku>``), by Clark name."""
    attributes: dict[str, str]
    """Qualified attribute names (with a declaration where the namespace needs one)."""


@dataclass(frozen=True)
class XmlPlan:
    """The compiled ``write:`` tree of one mapping."""

    root: WriteNode
    root_start: str
    """The root's start tag up to its attributes, with every namespace declaration."""
    root_end: str
    children: tuple[Emit, ...]


def _nodes(node: WriteNode) -> Iterator[WriteNode]:
    for child in node.children:
        yield child
        yield from _nodes(child)


def _qualified(element: etree._Element) -> str:
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _attribute_name(name: str, nsmap: dict[str | None, str], position: int) -> str:
    """``currency``, ``p:currency``, or ``ns0:currency`` with its declaration for a namespace
    the root has no prefix for."""
    if not name.startswith("{"):
        return name
    qname = etree.QName(name)
    prefix = next((p for p, uri in nsmap.items() if p is not None and uri == qname.namespace), None)
    if prefix is not None:
        return f"{prefix}:{qname.localname}"
    own = f"ns{position}"
    return f'xmlns:{own}="{attribute_escaped(str(qname.namespace))}" {own}:{qname.localname}'


def _names(root: WriteNode, element: etree._Element) -> _Names:
    """Ask lxml how it writes each name below ``element`` (the root, with its namespaces).

    An element in a namespace the root does not declare gets its own
    declaration, as lxml gives it one. Raises ValueError for a name lxml
    refuses, as making the element would.
    """
    in_scope = set(element.nsmap.items())
    starts: dict[str, str] = {}
    ends: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for node in _nodes(root):
        if node.is_attribute:
            attributes[node.name] = _attribute_name(node.name, element.nsmap, len(attributes))
            continue
        if node.name in starts:
            continue
        probe = etree.SubElement(element, node.name)
        qualified = _qualified(probe)
        declared = set(probe.nsmap.items()) - in_scope
        declarations = "".join(
            f' xmlns="{uri}"' if prefix is None else f' xmlns:{prefix}="{uri}"'
            for prefix, uri in sorted(declared, key=lambda pair: pair[0] or "")
        )
        starts[node.name] = f"<{qualified}{declarations}"
        ends[node.name] = f"</{qualified}>"
        element.remove(probe)
    return _Names(starts, ends, attributes)


def compile_plan(definition: MappingDefinition, root: WriteNode) -> XmlPlan:
    """The plan for ``root``, the ``write:`` tree of ``definition``."""
    element = etree.Element(root.name, nsmap=definition.root_nsmap)
    root_start = etree.tostring(element, encoding="unicode").removesuffix("/>")
    names = _names(root, element)
    file_level = definition.writes_batches
    children = tuple(_emitter(child, names, file_level=file_level) for child in root.children)
    return XmlPlan(root, root_start, f"</{_qualified(element)}>", children)


def content(
    writer: WireWriter, node: WriteNode, children: tuple[Emit, ...], scope: object, path: str
) -> tuple[str, str, bool] | None:
    """The attributes and content of ``node``'s element, and whether it holds anything.

    None when the node's own value is missing: then its children are not
    looked at, nor their problems reported.
    """
    text = None
    if node.has_value:
        text = writer.text(node, scope, path)
        if text is None:
            return None
    attributes: dict[str, str] = {}
    body: list[str] = []
    for emit in children:
        emit(writer, scope, path, attributes, body)
    keep = node.has_value or node.required or bool(body) or bool(attributes)
    markup = "".join(f' {name}="{attribute_escaped(v)}"' for name, v in attributes.items())
    inner = "" if text is None else text_escaped(text)
    return markup, inner + "".join(body), keep


def _emitter(node: WriteNode, names: _Names, *, file_level: bool) -> Emit:
    """The function for ``node``: once per scope, or per item of its list or batch.

    ``file_level``: the node is outside a batch's record, where the scope is the batch.
    """
    single = _single(node, names, file_level=file_level and not node.record)
    if node.when is not None:
        single = _conditional(node, single)
    if not node.repeats:
        return single

    def repeated(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        for item, item_path in node_scopes(node, scope, path):
            if node.record:
                writer.document, writer.document_path = item, item_path
            single(writer, item, item_path, attributes, body)

    return repeated


def _conditional(node: WriteNode, emit: Emit) -> Emit:
    """``emit`` only in the scopes where the node's ``when`` value is present."""

    def conditional(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        if node.wanted(scope, writer.document):
            emit(writer, scope, path, attributes, body)

    return conditional


def _single(node: WriteNode, names: _Names, *, file_level: bool) -> Emit:
    if node.is_attribute:
        return _attribute(node, names.attributes[node.name])
    start, end = names.starts[node.name], names.ends[node.name]
    if node.total is not None:
        children = tuple(_emitter(child, names, file_level=file_level) for child in node.children)
        return _summed(node, node.total, children, start, end)
    if node.children:
        children = tuple(_emitter(child, names, file_level=file_level) for child in node.children)
        return _element(node, children, start, end)
    if not node.has_value:
        return _empty(start) if node.required else _nothing
    simple = node.plain_source and len(node.source_steps) == 1 and node.conversion.type == "str"
    if simple and not file_level:
        return _text_field(node, node.source_steps[0], f"{start}>", end)
    return _leaf(node, f"{start}>", end)


def _nothing(
    writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
) -> None:
    """A leaf with no value that is not required: never written."""


def _empty(start: str) -> Emit:
    def emit(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        body.append(f"{start}/>")

    return emit


def _attribute(node: WriteNode, name: str) -> Emit:
    def emit(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        text = writer.plain_text(node, scope, path)
        if text is not None:
            attributes[name] = text

    return emit


def _text_field(node: WriteNode, field: str, start: str, end: str) -> Emit:
    """The common leaf: a text field of the scope, read here; anything else by the writer."""

    def emit(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        value = getattr(scope, field, None)
        text = value if type(value) is str else writer.text(node, scope, path)
        if text is not None:
            body.append(f"{start}{text_escaped(text)}{end}")

    return emit


def _leaf(node: WriteNode, start: str, end: str) -> Emit:
    def emit(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        text = writer.plain_text(node, scope, path)
        if text is not None:
            body.append(f"{start}{text_escaped(text)}{end}")

    return emit


def _element(node: WriteNode, children: tuple[Emit, ...], start: str, end: str) -> Emit:
    def emit(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        inner = content(writer, node, children, scope, path)
        if inner is not None and inner[2]:
            body.append(f"{start}{inner[0]}>{inner[1]}{end}")

    return emit


def total_text(node: WriteNode, total: Total, scope: object, document: object) -> str:
    """The written sum of ``total.value`` over the items of ``total.each`` that it selects.

    Each value is added as it is written (rounded to the node's places), so the
    total equals the sum of the amounts that stand in the same document.
    """
    start = document if total.each.startswith("/") else scope
    items = value_at(start, total.each.removeprefix("/"))
    amount = Decimal(0)
    for item in items if isinstance(items, list) else []:
        value = value_at(item, total.value) if total.selects(item) else None
        if value is not None:
            amount += Decimal(format_value(value, node.conversion))
    return format_value(amount, node.conversion)


def _summed(
    node: WriteNode, total: Total, children: tuple[Emit, ...], start: str, end: str
) -> Emit:
    def emit(
        writer: WireWriter, scope: object, path: str, attributes: dict[str, str], body: list[str]
    ) -> None:
        try:
            text = total_text(node, total, scope, writer.document)
        except ValueError as exc:  # a value its type cannot hold, e.g. 1.5 as int
            writer.problem("mapping.value", str(exc), path or ".")
            return
        own: dict[str, str] = {}
        inner: list[str] = []
        for child in children:
            child(writer, scope, path, own, inner)
        markup = "".join(f' {name}="{attribute_escaped(v)}"' for name, v in own.items())
        body.append(f"{start}{markup}>{text_escaped(text)}{''.join(inner)}{end}")

    return emit
