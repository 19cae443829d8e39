"""Catalogues read record by record and written batch by batch, at the speed of lxml.

A catalogue (a root with up to millions of record elements) cannot be parsed
as one tree, nor read and written through the mapping engine's per-document
path, which builds a pydantic model and evaluates an XPath per field: that
costs hundreds of microseconds a record, minutes for a million. This module
compiles the same mapping files into two small programs instead:

- :class:`CatalogueReader` feeds the bytes to lxml's pull parser (the hardened
  settings of :mod:`koppel.formats.xml`: no entities resolved, no network, no
  DTD loaded, libxml2's depth and size limits; a DOCTYPE is refused), checks
  each record against the XSD as it ends (the record's own type, from the
  format's schema), maps its fields with the mapping's conversions and
  lookups, and drops it. A bad record is a problem with its line and field;
  the records around it go on.
- :class:`BatchWriter` renders records into one batch file with the
  mapping's ``write:`` tree, as strings, and checks the file against the XSD
  in one parse before it leaves.

Only mappings whose record fields are child elements or attributes (one or
two steps) can be compiled; any other mapping raises :class:`ConfigError`
when the flow first runs, naming the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import quoteattr

from lxml import etree

from koppel.documents import Problem
from koppel.errors import ConfigError
from koppel.formats.registry import Format
from koppel.formats.schema import load_schema
from koppel.formats.xml import XmlDocumentError, _parse_refusal
from koppel.mapping.definition import Conversion, FieldRule, ReadRule, WriteNode
from koppel.mapping.values import UnknownLookupValueError, format_value, read_value
from koppel.mapping.xml_plan import escaped_text

_XSD = "http://www.w3.org/2001/XMLSchema"
_STEP = re.compile(r"^(@)?(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)$")
#: libxml2 names the element of a schema error first: ``Element '{ns}EAN': …``.
_ERROR_ELEMENT = re.compile(r"^Element '(?:\{[^}]*\})?([^']+)'")
#: How far into a file a DOCTYPE is looked for: the prolog is never longer in a real file.
_HEAD_BYTES = 65_536
#: Bytes handed to the parser at a time: the records of one feed are in memory together.
_FEED_BYTES = 65_536
#: The start of the first element: a letter or underscore right after ``<``.
_ROOT_START = re.compile(rb"<[A-Za-z_]")


@dataclass(slots=True)
class StreamedRecord:
    """One record of a catalogue: its canonical values, or the problems that keep it out."""

    index: int
    """Position in the file, from 0."""
    line: int | None
    key: str | None
    values: dict[str, object] | None
    """Canonical fields as plain JSON values (decimals as text); None for a bad record."""
    problems: list[Problem] = field(default_factory=list)


def content_hash(record_json: str) -> str:
    """The 32-hex-digit fingerprint of a record's canonical JSON, to tell changed from unchanged."""
    return hashlib.blake2b(record_json.encode(), digest_size=16).hexdigest()


def record_json(values: Mapping[str, object]) -> str:
    """A record's canonical JSON, keys sorted, so equal content gives equal text and hash."""
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class _Field:
    target: str
    steps: tuple[str, ...]
    """Clark tags from the record down; the last may be an attribute name."""
    attribute: bool
    conversion: Conversion
    constant: str | None
    default: str | None
    required: bool
    child: str | None = None
    """The child element's tag when the field is one plain child step: the fast path."""
    convert: Callable[[str], object] | None = None
    """Text to canonical JSON value; None for text taken as it is."""


def _clark(step: str, namespaces: Mapping[str, str], where: str) -> tuple[str, bool]:
    """``ip:SKU`` as ``{urn…}SKU`` (or ``@code`` as ``code``); refuse anything fancier."""
    match = _STEP.match(step)
    if match is None:
        raise ConfigError(f"{where}: {step!r} is not a plain child step; it cannot be streamed")
    attribute, prefix, local = match.groups()
    if prefix is not None and prefix not in namespaces:
        raise ConfigError(f"{where}: unknown namespace prefix {prefix!r}")
    namespace = namespaces.get(prefix) if prefix else None
    name = f"{{{namespace}}}{local}" if namespace else local
    return name, attribute is not None


def _compile_field(
    rule: object,
    namespaces: Mapping[str, str],
    lookups: Mapping[str, Mapping[str, str]],
    where: str,
) -> _Field:
    if not isinstance(rule, FieldRule):
        raise ConfigError(f"{where}: a list of items in a record cannot be streamed")
    steps: tuple[str, ...] = ()
    attribute = False
    if rule.xpath is not None:
        parts = str(rule.xpath.path).split("/")
        if not 1 <= len(parts) <= 3:
            raise ConfigError(f"{where}: path {rule.xpath.path!r} cannot be streamed")
        compiled = [_clark(part, namespaces, where) for part in parts]
        if any(is_attribute for _, is_attribute in compiled[:-1]):
            raise ConfigError(f"{where}: an attribute can only be the last step")
        steps = tuple(name for name, _ in compiled)
        attribute = compiled[-1][1]
    conversion = rule.conversion
    convert: Callable[[str], object] | None = None
    if conversion.type != "str" or conversion.lookup is not None:

        def convert(text: str) -> object:
            return _plain(read_value(text, conversion, lookups))

    return _Field(
        rule.target,
        steps,
        attribute,
        conversion,
        rule.constant,
        rule.default,
        rule.required,
        child=steps[0] if len(steps) == 1 and not attribute else None,
        convert=convert,
    )


def _plain(value: object) -> object:
    """A converted value as plain JSON, as ``model_dump(mode="json")`` would give it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


class CatalogueReader:
    """Streams the records of one catalogue format: hardened, validated, mapped.

    Not shared between threads: the record schema keeps its error log on itself.
    """

    def __init__(self, fmt: Format) -> None:
        definition = fmt.definition
        rule = definition.read
        if not isinstance(rule, ReadRule) or fmt.syntax != "xml":
            raise ConfigError(f"format {fmt.name} cannot be streamed: it reads no XML records")
        where = f"{definition.source}: read"
        steps = str(rule.record.path).strip("/").split("/")
        if len(steps) != 2:
            message = f"record {rule.record.path!r} must be /Root/Record to be streamed"
            raise ConfigError(f"{where}: {message}")
        self.format_name = fmt.name
        self.root_tag = _clark(steps[0], definition.namespaces, where)[0]
        self.record_tag = _clark(steps[1], definition.namespaces, where)[0]
        self.record_name = etree.QName(self.record_tag).localname
        self.lookups = definition.lookups
        self.fields = [
            _compile_field(
                r,
                definition.namespaces,
                definition.lookups,
                f"{where}.fields.{getattr(r, 'target', '')}",
            )
            for r in rule.rules
        ]
        self.key_field = next((f for f in self.fields if f.target == "sku"), None)
        self.schema = _record_schema(fmt.schema_path, self.root_tag, self.record_tag)

    def records(
        self, chunks: Iterable[bytes], *, source: str, skip: int = 0
    ) -> Iterator[StreamedRecord]:
        """Every record of the document in ``chunks``, in order; the first ``skip`` unread.

        Raises:
            XmlDocumentError: the document as a whole is refused (a DOCTYPE,
                broken XML, too deep, the wrong root); records yielded before
                stay yielded, so the caller must not deliver any of them.
        """
        parser = etree.XMLPullParser(
            events=("end",),
            tag=self.record_tag,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
        )
        head = b""
        rooted = False
        index = 0
        try:
            for chunk in chunks:
                if not rooted and len(head) < _HEAD_BYTES:
                    head += chunk[: _HEAD_BYTES - len(head)]
                    rooted = _refuse_doctype(head, source)
                for start in range(0, len(chunk), _FEED_BYTES):
                    parser.feed(chunk[start : start + _FEED_BYTES])
                    for _, element in parser.read_events():
                        if index == 0:
                            self._check_document(element, head, source)
                        if index >= skip:
                            yield self._record(element, index, source)
                        index += 1
                        element.clear()
                        parent = element.getparent()
                        if parent is not None:
                            parent.remove(element)
            root = parser.close()
        except etree.XMLSyntaxError as exc:
            raise _parse_refusal(exc, source) from exc
        self._check_document(root, head, source)
        if index == 0:
            raise XmlDocumentError(
                Problem(code="document.empty", message="the file holds no records", file=source)
            )

    def _check_document(self, element: etree._Element, head: bytes, source: str) -> None:
        """Refuse a document with a DTD or of another type, at its first record."""
        tree = element.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            problem = Problem(
                code="xml.doctype",
                message="DOCTYPE declarations are not allowed",
                file=source,
                line=_doctype_line(head) or 1,
            )
            raise XmlDocumentError(problem)
        root = tree.getroot()
        if root.tag != self.root_tag:
            found, expected = etree.QName(root.tag), etree.QName(self.root_tag)
            message = (
                f"the document is a <{found.localname}> in namespace {found.namespace}, but "
                f"format {self.format_name} expects <{expected.localname}> in namespace "
                f"{expected.namespace}"
            )
            raise XmlDocumentError(
                Problem(code="xsd.wrong_root", message=message, file=source, line=root.sourceline)
            )

    def _record(self, element: etree._Element, index: int, source: str) -> StreamedRecord:
        """Check one record against its XSD type and map it; a bad one yields problems only.

        The hot path of a million-record file: a plain child field is read
        from the record's children by tag, a text field taken as it is, and
        the names and lines problems need are only worked out for a problem.
        """
        # The schema allows each field's element once: the last of a tag is the only one.
        children = {child.tag: child for child in element}
        if not self.schema.validate(element):
            where = self._where(children, element, index)
            problems = [
                Problem(
                    code="xsd.invalid",
                    message=entry.message,
                    file=source,
                    line=entry.line or element.sourceline,
                    field=_error_field(where, entry.message),
                )
                for entry in self.schema.error_log
            ]
            return StreamedRecord(index, element.sourceline, None, None, problems)
        values: dict[str, object] = {}
        failed: list[tuple[_Field, str, str]] = []
        for compiled in self.fields:
            if compiled.child is not None:
                node = children.get(compiled.child)
                text = None
                if node is not None:
                    raw = "".join(node.itertext()) if len(node) else node.text
                    text = (raw.strip() or None) if raw else None
            else:
                text = self._text(children, element, compiled)[0]
            if text is None:
                text = compiled.default
                if text is None:
                    if compiled.required:
                        failed.append((compiled, "mapping.required", "required value is missing"))
                    continue
            if compiled.convert is None:
                values[compiled.target] = text
                continue
            try:
                values[compiled.target] = compiled.convert(text)
            except ValueError as exc:  # an unknown lookup value is a ValueError too
                lookup = isinstance(exc, UnknownLookupValueError)
                failed.append((compiled, "mapping.lookup" if lookup else "mapping.value", str(exc)))
        if failed:
            where = self._where(children, element, index)
            problems = [
                Problem(
                    code=code,
                    message=message,
                    file=source,
                    line=self._text(children, element, compiled)[1],
                    field=f"{where}.{compiled.target}",
                )
                for compiled, code, message in failed
            ]
            return StreamedRecord(index, element.sourceline, None, None, problems)
        return StreamedRecord(index, element.sourceline, None, values)

    def _where(
        self, children: Mapping[str, etree._Element], element: etree._Element, index: int
    ) -> str:
        """How a problem names a record: its position and, when it has one, its SKU."""
        key = self._text(children, element, self.key_field)[0] if self.key_field else None
        where = f"{self.record_name}[{index + 1}]"
        return f"{where} (sku {key})" if key is not None else where

    @staticmethod
    def _text(
        children: Mapping[str, etree._Element], element: etree._Element, compiled: _Field
    ) -> tuple[str | None, int | None]:
        """The text a field reads, and its line; ``children`` are the record's, by tag."""
        if not compiled.steps:
            return compiled.constant, element.sourceline
        steps = compiled.steps
        if compiled.attribute and len(steps) == 1:
            value = element.get(steps[0])
            return (value.strip() or None if value is not None else None), element.sourceline
        node = children.get(steps[0])
        for step in steps[1:-1] if compiled.attribute else steps[1:]:
            node = node.find(step) if node is not None else None
        if node is None:
            return None, element.sourceline
        if compiled.attribute:
            value = node.get(steps[-1])
            return (value.strip() or None if value is not None else None), node.sourceline
        text = node.text if len(node) == 0 else "".join(node.itertext())
        return (text.strip() or None if text is not None else None), node.sourceline


def _error_field(where: str, message: str) -> str:
    """``Article[7] (sku X).EAN`` from libxml2's message naming the element."""
    match = _ERROR_ELEMENT.match(message)
    return f"{where}.{match[1]}" if match else where


def _doctype_line(head: bytes) -> int | None:
    position = head.find(b"<!DOCTYPE")
    return None if position < 0 else head.count(b"\n", 0, position) + 1


def _refuse_doctype(head: bytes, source: str) -> bool:
    """Refuse a DOCTYPE in the prolog before the parser reads it; True once the root has started.

    Only the prolog matters: a DOCTYPE after the root element starts is a
    syntax error the parser reports itself. The tree's own record of a DTD is
    checked as well, at the first record (:meth:`CatalogueReader._check_document`).
    """
    root = _ROOT_START.search(head)
    position = head.find(b"<!DOCTYPE")
    if position >= 0 and (root is None or position < root.start()):
        raise XmlDocumentError(
            Problem(
                code="xml.doctype",
                message="DOCTYPE declarations are not allowed",
                file=source,
                line=head.count(b"\n", 0, position) + 1,
            )
        )
    return root is not None


def _record_schema(schema_path: Path, root_tag: str, record_tag: str) -> etree.XMLSchema:
    """A schema that validates one record element on its own, with the type the XSD gives it.

    The record is declared inside the root's type (``<xs:element name="Article"
    type="ArticleType"/>``), so a small schema including the format's XSD
    declares it globally with that type. A record declared by reference to a
    global element needs nothing: the format's schema validates it as it is.
    """
    xsd = etree.parse(str(schema_path), etree.XMLParser(no_network=True, resolve_entities=False))
    record = etree.QName(record_tag)
    declaration = _declaration(xsd.getroot(), etree.QName(root_tag).localname, record.localname)
    if declaration is None:
        raise ConfigError(f"{schema_path}: no declaration of <{record.localname}> under the root")
    if declaration.get("ref") is not None:
        return etree.XMLSchema(xsd)
    type_name = declaration.get("type")
    if type_name is None:
        raise ConfigError(
            f"{schema_path}: <{record.localname}> needs a named type to be checked record by record"
        )
    namespaces = "".join(
        f" xmlns:{prefix}={quoteattr(uri)}" if prefix else f" xmlns={quoteattr(uri)}"
        for prefix, uri in xsd.getroot().nsmap.items()
        if uri != _XSD
    )
    target = quoteattr(record.namespace or "")
    wrapper = (
        f'<xs:schema xmlns:xs="{_XSD}"{namespaces} targetNamespace={target} '
        f'elementFormDefault="qualified">'
        f"<xs:include schemaLocation={quoteattr(schema_path.resolve().as_uri())}/>"
        f"<xs:element name={quoteattr(record.localname)} type={quoteattr(type_name)}/>"
        "</xs:schema>"
    )
    base = (schema_path.resolve().parent / "_record.xsd").as_uri()
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), base_url=base))


def _declaration(schema: etree._Element, root: str, record: str) -> etree._Element | None:
    """The ``xs:element`` declaring ``record`` inside the global element ``root``."""
    for element in schema.iterchildren(f"{{{_XSD}}}element"):
        if element.get("name") == root:
            for inner in element.iter(f"{{{_XSD}}}element"):
                if record in (inner.get("name"), (inner.get("ref") or "").split(":")[-1]):
                    return inner
    return None


@dataclass(frozen=True)
class _Out:
    """One node of a batch record, compiled: names resolved, constants pre-rendered."""

    node: WriteNode
    local: str
    fixed: str
    """The node's constant attributes, rendered once: `` version="1"``."""
    attributes: tuple[_Out, ...]
    """Attributes whose value comes from the record or the context."""
    children: tuple[_Out, ...]
    plain: bool
    """A text value written as it is: no conversion, no lookup."""
    leaf: str | None = None
    """The record field of a plain element with no attributes or children: the fast path."""
    fallback: object = None
    """The canonical default of ``leaf``, for a record that lacks it."""


class BatchWriter:
    """Renders canonical records into batch files of one format, checked against its XSD.

    Records are the plain JSON dicts :class:`CatalogueReader` produced; a
    field they lack takes the canonical model's default.
    """

    def __init__(self, fmt: Format) -> None:
        definition = fmt.definition
        root = definition.write
        if root is None or not definition.writes_batches or fmt.syntax != "xml":
            raise ConfigError(f"format {fmt.name} cannot write batches of records as XML")
        self.format = fmt
        self.namespace = etree.QName(root.name).namespace
        self.root = root
        self.reverse = {
            name: {canonical: wire for wire, canonical in reversed(table.items())}
            for name, table in definition.lookups.items()
        }
        self.defaults = {
            name: _plain(info.default)
            for name, info in definition.document_class.model_fields.items()
            if not info.is_required()
        }
        self.schema = load_schema(fmt.schema_path)
        self.record = self._compile(_record_node(root))

    def _compile(self, node: WriteNode) -> _Out:
        where = f"{self.format.definition.source}: write: {node.name}"
        if not node.is_attribute and etree.QName(node.name).namespace != self.namespace:
            raise ConfigError(f"{where} must be in the root's namespace to be streamed")
        if node.each is not None or (node.source or "").startswith("/"):
            raise ConfigError(f"{where} cannot be streamed")
        fixed = "".join(
            f" {c.name}={quoteattr(c.constant or '')}"
            for c in node.children
            if c.is_attribute and c.source is None and c.context_key is None
        )
        plain = node.conversion == Conversion() and node.context_key is None
        leaf = node.source if plain and not node.children and not node.is_attribute else None
        return _Out(
            node=node,
            local=etree.QName(node.name).localname,
            fixed=fixed,
            attributes=tuple(
                self._compile(c)
                for c in node.children
                if c.is_attribute and (c.source is not None or c.context_key is not None)
            ),
            children=tuple(self._compile(c) for c in node.children if not c.is_attribute),
            plain=plain,
            leaf=leaf,
            fallback=self.defaults.get(leaf) if leaf else None,
        )

    def write(
        self, records: Iterable[Mapping[str, object]], context: Mapping[str, str]
    ) -> tuple[bytes, list[Problem]]:
        """One batch file of ``records`` and what keeps a record from being written.

        Returns:
            The file's bytes and the problems; a record with a problem is left out.
        """
        local = etree.QName(self.root.name).localname
        attributes = "".join(
            f" {child.name}={quoteattr(child.constant or '')}"
            for child in self.root.children
            if child.is_attribute
        )
        namespace = f" xmlns={quoteattr(self.namespace)}" if self.namespace else ""
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{local}{namespace}{attributes}>\n']
        problems: list[Problem] = []
        for values in records:
            found: list[Problem] = []
            rendered = self._element(self.record, values, context, found)
            if found:
                problems += found
            elif rendered is not None:
                parts.append(rendered)
        parts.append(f"</{local}>\n")
        return "".join(parts).encode(), problems

    def _element(
        self,
        out: _Out,
        values: Mapping[str, object],
        context: Mapping[str, str],
        problems: list[Problem],
    ) -> str | None:
        if out.leaf is not None:
            value = values.get(out.leaf, out.fallback)
            if isinstance(value, str):
                return f"<{out.local}>{escaped_text(value)}</{out.local}>"
        node = out.node
        text = self._text(out, values, context, problems) if node.has_value else None
        if node.has_value and text is None:
            return None
        attributes = out.fixed
        for attribute in out.attributes:
            value = self._text(attribute, values, context, problems)
            if value is not None:
                attributes += f" {attribute.node.name}={quoteattr(value)}"
        if text is not None:
            return f"<{out.local}{attributes}>{escaped_text(text)}</{out.local}>"
        inner = [
            rendered
            for child in out.children
            if (rendered := self._element(child, values, context, problems)) is not None
        ]
        if not (node.required or node.record or inner or attributes):
            return None
        return f"<{out.local}{attributes}>{''.join(inner)}</{out.local}>"

    def _text(
        self,
        out: _Out,
        values: Mapping[str, object],
        context: Mapping[str, str],
        problems: list[Problem],
    ) -> str | None:
        node = out.node
        if node.source is None and node.context_key is None:
            return node.constant
        if node.context_key is not None:
            value: object = context.get(node.context_key)
            where = f"context.{node.context_key}"
        else:
            where = str(node.source)
            value = values.get(where, self.defaults.get(where))
        if value is None:
            if node.default is None and node.required:
                problems.append(_missing(node, values, where))
            return node.default
        if out.plain and isinstance(value, str):
            return value
        return self._formatted(node, value, where, problems)

    def _formatted(
        self, node: WriteNode, value: object, where: str, problems: list[Problem]
    ) -> str | None:
        """The wire text of a typed or looked-up value; a problem when it has none."""
        try:
            text = format_value(value, node.conversion)
        except ValueError as exc:
            problems.append(Problem(code="mapping.value", message=str(exc), field=where))
            return None
        lookup = node.conversion.lookup
        if lookup is None:
            return text
        if text not in self.reverse[lookup]:
            message = f"{text!r} not in lookup {lookup!r}"
            problems.append(Problem(code="mapping.lookup", message=message, field=where))
            return None
        return self.reverse[lookup][text]

    def check(self, data: bytes, *, source: str) -> list[Problem]:
        """The file's schema problems; one parse when it is valid, located problems when not."""
        parser = etree.XMLParser(schema=self.schema, huge_tree=True, resolve_entities=False)
        try:
            etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            return self.format.validate(data, source=source) or [
                Problem(code="xsd.invalid", message="the batch file is not valid", file=source)
            ]
        return []


def _missing(node: WriteNode, values: Mapping[str, object], where: str) -> Problem:
    sku = values.get("sku")
    message = f"required value for {etree.QName(node.name).localname} is missing"
    return Problem(
        code="mapping.required", message=message, field=f"sku {sku}.{where}" if sku else where
    )


def _record_node(node: WriteNode) -> WriteNode:
    if node.record:
        return node
    for child in node.children:
        if child.holds_record:
            return _record_node(child)
    raise ConfigError(f"write tree {node.name} has no record node")
