"""Write a mapping's ``write:`` tree as XML text, parsed once into the tree to check and send.

Making each element with lxml costs a Python call into libxml2, a namespace
search up the ancestors and a proxy object, which made building the tree of a
20-line order slower than parsing it. So the writer joins the XML as text
(names and namespace declarations worked out once per mapping, in
:class:`XmlNames`) and lets the parser build the tree in one C pass. The
result is the tree element-by-element building gave: same names, prefixes,
attributes and texts (an empty text stays an empty text node, written
``<a></a>``), so it serializes to the same bytes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from koppel.documents import CanonicalModel
from koppel.errors import MappingError
from koppel.mapping.definition import MappingDefinition, WriteNode
from koppel.mapping.json_writer import write_json_document
from koppel.mapping.writer import DocumentWriteError, WireWriter, batch_of, node_scopes, write_root

# What lxml refuses in a text or attribute value (libxml2's xmlIsChar for one byte,
# and the two non-characters), and the error it raises for it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_XML_MESSAGE = (
    "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"
)


def text_escaped(text: str) -> str:
    """Element text as markup; ``\\r`` as a reference, or the parser would turn it into ``\\n``."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text or "<![CDATA[]]>"  # an empty text node, as ``element.text = ""`` makes


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
class XmlNames:
    """How each name of a write tree is written, as lxml would write it in that tree."""

    root_start: str
    """The root's start tag up to its attributes, with every namespace declaration."""
    starts: dict[str, str]
    """Element start tags up to their attributes (``<Sku``), by Clark name."""
    ends: dict[str, str]
    """Element end tags (``</Sku>``), by Clark name."""
    attributes: dict[str, str]
    """Qualified attribute names (with a declaration where the namespace needs one)."""


def _nodes(node: WriteNode) -> Iterator[WriteNode]:
    for child in node.children:
        yield child
        yield from _nodes(child)


def xml_names(definition: MappingDefinition, root: WriteNode) -> XmlNames:
    """Ask lxml once how it writes each name below a root carrying the mapping's namespaces.

    An element in a namespace the root does not declare gets its own
    declaration, as lxml gives it one. Raises ValueError for a name lxml
    refuses, as making the element would.
    """
    element = etree.Element(root.name, nsmap=definition.root_nsmap)
    root_start = etree.tostring(element, encoding="unicode").removesuffix("/>")
    in_scope = {(prefix, uri) for prefix, uri in element.nsmap.items()}
    starts: dict[str, str] = {}
    ends: dict[str, str] = {root.name: f"</{_qualified(element)}>"}
    attributes: dict[str, str] = {}
    for node in _nodes(root):
        if node.is_attribute:
            attributes[node.name] = _attribute_name(node.name, element.nsmap, len(attributes))
            continue
        if node.name in starts:
            continue
        probe = etree.SubElement(element, node.name)
        qualified = _qualified(probe)
        declared = {(prefix, uri) for prefix, uri in probe.nsmap.items()} - in_scope
        declarations = "".join(
            f' xmlns="{uri}"' if prefix is None else f' xmlns:{prefix}="{uri}"'
            for prefix, uri in sorted(declared, key=lambda pair: pair[0] or "")
        )
        starts[node.name] = f"<{qualified}{declarations}"
        ends[node.name] = f"</{qualified}>"
        element.remove(probe)
    return XmlNames(root_start, starts, ends, attributes)


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


_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser for text we wrote ourselves, made once and reused.

    lxml parsers are not safe to share between threads, and a fresh one per
    document costs a third of parsing one. ``huge_tree`` because our own
    values are not held to the limits for strangers.
    """
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=True
        )
    return parser


class _XmlText(WireWriter):
    """Renders a write tree as markup, with the values and problems of :class:`WireWriter`."""

    def __init__(
        self,
        definition: MappingDefinition,
        context: Mapping[str, str],
        document: CanonicalModel | None,
    ) -> None:
        super().__init__(definition, context, document)
        self.names = definition.xml_names

    def inner(self, node: WriteNode, scope: object, path: str) -> tuple[str, str, bool] | None:
        """The attributes and content of ``node``'s element, and whether it holds anything.

        None when the node's own value is missing: then its children are not
        looked at, nor their problems reported.
        """
        text = None
        if node.has_value:
            text = self.text(node, scope, path)
            if text is None:
                return None
        attributes: dict[str, str] = {}
        body: list[str] = []
        for child in node.children:
            if child.repeats:
                self.render(child, scope, path, attributes, body)
            else:
                self.render_in(child, scope, path, attributes, body)
        keep = node.has_value or node.required or bool(body) or bool(attributes)
        markup = "".join(f' {name}="{attribute_escaped(v)}"' for name, v in attributes.items())
        content = "" if text is None else text_escaped(text)
        return markup, content + "".join(body), keep

    def render(
        self,
        node: WriteNode,
        scope: object,
        path: str,
        attributes: dict[str, str],
        body: list[str],
    ) -> None:
        """Add a node rendered per item of its list, or per document of a batch."""
        for item, item_path in node_scopes(node, scope, path):
            if node.record:
                self.document, self.document_path = item, item_path
            self.render_in(node, item, item_path, attributes, body)

    def render_in(
        self,
        node: WriteNode,
        scope: object,
        path: str,
        attributes: dict[str, str],
        body: list[str],
    ) -> None:
        """One attribute, or one element unless it holds nothing; a leaf takes the short way."""
        if node.is_attribute:
            text = self.plain_text(node, scope, path)
            if text is not None:
                attributes[self.names.attributes[node.name]] = text
            return
        start, end = self.names.starts[node.name], self.names.ends[node.name]
        if not node.children:
            if node.has_value:
                text = self.plain_text(node, scope, path)
                if text is not None:
                    body.append(f"{start}>{text_escaped(text)}{end}")
            elif node.required:
                body.append(f"{start}/>")
            return
        inner = self.inner(node, scope, path)
        if inner is not None and inner[2]:
            body.append(f"{start}{inner[0]}>{inner[1]}{end}")

    def tree(self, root: WriteNode, scope: object) -> etree._Element:
        """The whole document; raises :class:`DocumentWriteError` listing every problem.

        A value lxml would refuse raises its ValueError first, as setting it would have.
        """
        inner = self.inner(root, scope, "")
        attributes, content = ("", "") if inner is None else inner[:2]
        text = f"{self.names.root_start}{attributes}>{content}{self.names.ends[root.name]}"
        data = text.encode("utf-8")
        if self.problems:
            _refuse_characters(text)
            raise DocumentWriteError(self.problems)
        try:
            return etree.fromstring(data, _parser())
        except etree.XMLSyntaxError:
            _refuse_characters(text)
            raise


def _refuse_characters(text: str) -> None:
    """Raise the ValueError lxml raises for a value with a character XML cannot hold.

    Looked for only when the text did not parse (the parser refuses those
    characters too) or problems are about to be raised: lxml refused such a
    value the moment it was set, before any other problem could be reported.
    """
    if _NOT_XML.search(text):
        raise ValueError(_NOT_XML_MESSAGE)


def serialize(root: etree._Element) -> bytes:
    """A written document's bytes: UTF-8, with the XML declaration, indented."""
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def document_tree(
    definition: MappingDefinition, document: CanonicalModel, *, context: Mapping[str, str]
) -> etree._Element:
    """The wire XML tree for one document (see :func:`write_document`), before serializing.

    A batch format writes it as a batch of one.
    """
    if definition.writes_batches:
        return documents_tree(definition, [document], context=context)
    root = write_root(definition, [document])
    return _XmlText(definition, context, document).tree(root, document)


def documents_tree(
    definition: MappingDefinition,
    documents: Sequence[CanonicalModel],
    *,
    context: Mapping[str, str],
) -> etree._Element:
    """The wire XML tree of one file holding a batch (see :func:`write_documents`)."""
    root = write_root(definition, documents)
    if not definition.writes_batches:
        message = f"format {definition.name} writes one document per file (no 'record' node)"
        raise MappingError(f"{definition.source}: write: {message}")
    return _XmlText(definition, context, None).tree(root, batch_of(documents))


def write_document(
    definition: MappingDefinition, document: CanonicalModel, *, context: Mapping[str, str]
) -> bytes:
    """The wire bytes (UTF-8; XML with its declaration, or a JSON body) for one document.

    A batch format writes it as a batch of one, so a caller delivering
    documents one by one need not know how the format groups them.

    Args:
        definition: A loaded mapping with a ``write:`` half.
        document: An instance of the mapping's document class.
        context: Delivery values the document does not hold, e.g. ``origin``.

    Raises:
        MappingError: When the mapping cannot write or the document is of another class.
        DocumentWriteError: When the document cannot be expressed in the format.
    """
    if definition.syntax == "json":
        return write_json_document(definition, document, context=context)
    return serialize(document_tree(definition, document, context=context))


def write_documents(
    definition: MappingDefinition,
    documents: Sequence[CanonicalModel],
    *,
    context: Mapping[str, str],
) -> bytes:
    """The wire bytes of one file holding every document of a batch, in order.

    An empty batch gives the file-level elements only; whether that is a
    valid file is for the format's XSD to say.

    Args:
        definition: A loaded mapping whose ``write:`` tree has a ``record`` node.
        documents: Instances of the mapping's document class.
        context: Delivery values the documents do not hold, e.g. ``connection_id``.

    Raises:
        MappingError: When the mapping writes one document per file, cannot
            write at all, or a document is of another class.
        DocumentWriteError: When a document cannot be expressed, or the
            documents disagree on a value the file holds once.
    """
    return serialize(documents_tree(definition, documents, context=context))
