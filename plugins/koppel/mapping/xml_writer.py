"""Write a mapping's ``write:`` tree as XML text, parsed once into the tree to check and send.

Making each element with lxml costs a Python call into libxml2, a namespace
search up the ancestors and a proxy object, which made building the tree of a
20-line order slower than parsing it. So the writer joins the XML as text
(with the plan of :mod:`koppel.mapping.xml_plan`, compiled once per mapping)
and lets the parser build the tree in one C pass. The
result is the tree element-by-element building gave: same names, prefixes,
attributes and texts (an empty text stays an empty text node, written
``<a></a>``), so it serializes to the same bytes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence

from lxml import etree

from koppel.documents import CanonicalModel
from koppel.errors import MappingError
from koppel.mapping.definition import MappingDefinition
from koppel.mapping.json_writer import write_json_document
from koppel.mapping.writer import DocumentWriteError, WireWriter, batch_of, write_root
from koppel.mapping.xml_plan import content

# What lxml refuses in a text or attribute value (libxml2's xmlIsChar for one byte,
# and the two non-characters), and the error it raises for it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_XML_MESSAGE = (
    "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"
)


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


def _tree(writer: WireWriter, definition: MappingDefinition, scope: object) -> etree._Element:
    """The whole document; raises :class:`DocumentWriteError` listing every problem.

    A value lxml would refuse raises its ValueError first, as setting it would have.
    """
    plan = definition.xml_plan
    inner = content(writer, plan.root, plan.children, scope, "")
    attributes, markup = ("", "") if inner is None else inner[:2]
    text = f"{plan.root_start}{attributes}>{markup}{plan.root_end}"
    data = text.encode("utf-8")
    if writer.problems:
        _refuse_characters(text)
        raise DocumentWriteError(writer.problems)
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
    write_root(definition, [document])
    return _tree(WireWriter(definition, context, document), definition, document)


def documents_tree(
    definition: MappingDefinition,
    documents: Sequence[CanonicalModel],
    *,
    context: Mapping[str, str],
) -> etree._Element:
    """The wire XML tree of one file holding a batch (see :func:`write_documents`)."""
    write_root(definition, documents)
    if not definition.writes_batches:
        message = f"format {definition.name} writes one document per file (no 'record' node)"
        raise MappingError(f"{definition.source}: write: {message}")
    return _tree(WireWriter(definition, context, None), definition, batch_of(documents))


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
