"""Wire formats by name: a mapping file plus its schema, read and written the same safe way.

Every inbound document takes one road (hardened parse, then schema, then the
mapping) and every outbound one is checked against the same schema before it
leaves, so a format is nothing more than its mapping file and schema: an XSD
for XML, a JSON Schema for JSON (``syntax: json`` in the mapping). An XML
format may add Schematron business rules (``schematron: peppol:T01``), run on
the same parsed tree once the XSD finds no errors: their errors reject the
document as XSD errors do, their warnings travel with the documents read. The
registry reads a mapping only when its format is first asked for: DAG
parsing imports this module and must not touch the disk.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from koppel import INCLUDE_DIR
from koppel.documents import CanonicalModel, Problem, cap_problems, has_errors
from koppel.errors import ConfigError, MappingError
from koppel.formats.json_schema import load_json_schema, validate_json
from koppel.formats.jsondoc import JsonDocumentError, parse_json
from koppel.formats.schema import load_schema, validate
from koppel.formats.schematron import SchematronRules, peppol_rules
from koppel.formats.xml import DEFAULT_MAX_BYTES, XmlDocumentError, parse_xml
from koppel.mapping import (
    MappingDefinition,
    document_tree,
    documents_tree,
    load_mapping,
    read_documents,
    read_json_documents,
    serialize,
    write_document,
)
from koppel.mapping.definition import Syntax


@dataclass(frozen=True)
class ReadResult:
    """The documents read from one file and every problem found on the way.

    A record with an error yields no document; its problems say which
    record (by line) and why.
    """

    documents: list[CanonicalModel] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _KnownValid:
    """The last few payloads a format wrote and found valid as trees, so that the check before
    delivery (:meth:`Format.validate`) need not parse our own output again.

    The same bytes always validate the same, so a payload equal to one of these
    is valid. Only small payloads are kept, and only a few: the check follows the
    write at once, in the same thread.
    """

    _KEEP = 16
    MAX_BYTES = 1024 * 1024

    def __init__(self) -> None:
        self._payloads: dict[bytes, None] = {}
        self._lock = threading.Lock()

    def add(self, data: bytes) -> None:
        with self._lock:
            self._payloads[data] = None
            if len(self._payloads) > self._KEEP:
                del self._payloads[next(iter(self._payloads))]

    def __contains__(self, data: bytes) -> bool:
        with self._lock:
            return data in self._payloads


class Format:
    """One wire format: its mapping definition and the schema its documents must satisfy."""

    def __init__(self, definition: MappingDefinition, schema_path: Path) -> None:
        self.definition = definition
        self.schema_path = schema_path
        self._known_valid = _KnownValid()

    @property
    def name(self) -> str:
        """The format's name, e.g. ``itsperfect.order``."""
        return self.definition.name

    @property
    def description(self) -> str:
        """One line for ``koppel formats`` and the DAG docs."""
        return self.definition.description

    @property
    def document_class(self) -> type[CanonicalModel]:
        """The canonical class this format reads into and writes from."""
        return self.definition.document_class

    @property
    def can_read(self) -> bool:
        """True when the mapping has a ``read:`` half."""
        return self.definition.read is not None

    @property
    def can_write(self) -> bool:
        """True when the mapping has a ``write:`` half."""
        return self.definition.write is not None

    @property
    def writes_batches(self) -> bool:
        """True when one written file holds many documents (e.g. a full stock update)."""
        return self.definition.writes_batches

    @property
    def syntax(self) -> Syntax:
        """``xml`` or ``json``: how the format's bytes are parsed and checked."""
        return self.definition.syntax

    @property
    def has_rules(self) -> bool:
        """True when the format's documents must also pass Schematron rules (``schematron:``)."""
        return self.definition.schematron is not None

    def _rules(self) -> SchematronRules | None:
        """The compiled Schematron rules of the format, None when it has none.

        Compiled on the first document, not when the format loads, so listing
        formats never needs the rules folder; :func:`load_rules` keeps one
        compiled stylesheet per process.

        Raises:
            ConfigError: The rules folder or stylesheet is missing.
        """
        ref = self.definition.schematron
        if ref is None:
            return None
        # "peppol" is the one rule set the loader accepts.
        return peppol_rules(ref.transaction)

    def _xml_problems(
        self, tree: etree._ElementTree, source: str, size: int | None
    ) -> list[Problem]:
        """Schema problems of the whole tree, or of the one element ``validate:`` names,
        then (when the schema found no error) the Schematron findings on that same tree.

        The rules judge a document the XSD accepted, so their messages are
        about business rules rather than a second report of a broken
        structure. ``size`` is the document's size in bytes, when known.
        """
        schema = load_schema(self.schema_path)
        checked = tree
        if self.definition.validate is not None:
            found = self.definition.validate(tree)
            nodes = (
                [node for node in found if isinstance(node, etree._Element)]
                if isinstance(found, list)
                else []
            )
            if len(nodes) != 1:
                path = self.definition.validate.path
                message = f"expected one element at {path}, found {len(nodes)}"
                return [Problem(code="xsd.invalid", message=message, file=source)]
            checked = (
                tree if nodes[0] is tree.getroot() else etree.ElementTree(copy.deepcopy(nodes[0]))
            )
        problems = validate(checked, schema, source=source, format_name=self.name, size=size)
        rules = self._rules()
        if rules is None or has_errors(problems):
            return problems
        return cap_problems([*problems, *rules.validate_tree(checked, source=source)])

    def _parse_and_validate(
        self, data: bytes, source: str, max_bytes: int
    ) -> tuple[object, list[Problem]]:
        """The parsed document (None when it cannot be parsed) and its schema problems.

        The problems are capped at :data:`~koppel.documents.PROBLEM_LIMIT`
        plus one count of the rest (the XSD validation caps its own, building
        readable paths only for those kept), so a hostile file cannot make us
        store an unbounded list.
        """
        if self.syntax == "json":
            try:
                body = parse_json(data, source=source, max_bytes=max_bytes)
            except JsonDocumentError as exc:
                return None, [exc.problem]
            schema = load_json_schema(self.schema_path)
            return body, cap_problems(validate_json(body, schema, source=source))
        try:
            tree = parse_xml(data, source=source, max_bytes=max_bytes)
        except XmlDocumentError as exc:
            return None, [exc.problem]
        return tree, self._xml_problems(tree, source, len(data))

    def read(self, data: bytes, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
        """Parse, validate and map one inbound file (or HTTP/SOAP body).

        Args:
            data: The raw bytes as received.
            source: Name of the file or message, recorded on each problem.
            max_bytes: Larger documents are refused unread.

        Returns:
            The canonical documents and every problem; a document that fails
            to parse or validate yields problems only.
        """
        parsed, problems = self._parse_and_validate(data, source, max_bytes)
        if parsed is None or has_errors(problems):
            return ReadResult(problems=problems)
        if isinstance(parsed, etree._ElementTree):
            documents, mapping_problems = read_documents(self.definition, parsed, source=source)
        else:
            documents, mapping_problems = read_json_documents(
                self.definition, parsed, source=source
            )
        # Warnings (of the Schematron rules) do not stop reading; they go with the documents.
        return ReadResult(
            documents=documents, problems=cap_problems([*problems, *mapping_problems])
        )

    def write(self, document: CanonicalModel, *, context: Mapping[str, str]) -> bytes:
        """The wire bytes for one document; check them with :meth:`validate` before delivery.

        A batch format writes a file holding just this document.

        Raises:
            koppel.mapping.DocumentWriteError: When the document cannot be expressed.
        """
        if self.syntax == "json":
            return write_document(self.definition, document, context=context)
        return self._checked(document_tree(self.definition, document, context=context))

    def write_many(
        self, documents: Sequence[CanonicalModel], *, context: Mapping[str, str]
    ) -> bytes:
        """The wire bytes of one file holding every document, for a batch format.

        Raises:
            MappingError: When the format writes one document per file.
            koppel.mapping.DocumentWriteError: When a document cannot be
                expressed, or the documents disagree on a file-level value.
        """
        return self._checked(documents_tree(self.definition, documents, context=context))

    def _checked(self, root: etree._Element) -> bytes:
        """The bytes of a written tree, remembered as valid when the tree passes the schema
        (and the format's Schematron rules, warnings allowed).

        Our own tree is checked as it stands, without parsing its bytes again;
        an invalid one is not remembered, so :meth:`validate` then reports it
        the way it reports any document, with lines and paths in the bytes.
        """
        data = serialize(root)
        if len(data) <= _KnownValid.MAX_BYTES:
            tree = etree.ElementTree(root)
            if not has_errors(self._xml_problems(tree, source="", size=len(data))):
                self._known_valid.add(data)
        return data

    def validate(self, data: bytes, *, source: str) -> list[Problem]:
        """Problems of a document against this format's schema and rules (our output before
        it leaves); only errors make it invalid, rule warnings are reported along."""
        if data in self._known_valid:
            return []
        return self._parse_and_validate(data, source, DEFAULT_MAX_BYTES)[1]


class FormatRegistry:
    """The formats of one ``include/`` tree, each loaded on first use and then kept."""

    def __init__(
        self,
        mappings_dir: Path,
        schemas_dir: Path,
        *,
        canonical: Mapping[str, type[CanonicalModel]] | None = None,
    ) -> None:
        """Nothing is read until a format is asked for.

        Args:
            mappings_dir: One ``<format>.yaml`` mapping file per format.
            schemas_dir: The schemas the mappings name.
            canonical: Canonical classes by table name, each read and written as its
                own JSON under the name ``canonical.<table>`` (no mapping file); none
                when absent, so a registry of test mappings lists exactly its files.
        """
        self.mappings_dir = mappings_dir
        self.schemas_dir = schemas_dir
        self.canonical = dict(canonical or {})
        self._formats: dict[str, Format] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every format name, sorted: one a mapping file, and the canonical formats
        (``canonical.order``), which need none."""
        from koppel.formats.canonical import PREFIX  # it builds on Format

        mapped = (path.name.removesuffix(".yaml") for path in self.mappings_dir.glob("*.yaml"))
        return sorted({*mapped, *(PREFIX + table for table in self.canonical)})

    def get(self, name: str) -> Format:
        """The format called ``name``.

        A ``canonical.*`` name gives a :class:`~koppel.formats.canonical.CanonicalFormat`,
        which reads and writes the canonical class's own JSON.

        Raises:
            ConfigError: When no mapping file defines it (the known names are listed).
            MappingError: When its mapping file is broken or names a missing schema.
        """
        with self._lock:
            if name not in self._formats:
                self._formats[name] = self._load(name)
            return self._formats[name]

    def _load(self, name: str) -> Format:
        from koppel.formats.canonical import PREFIX, CanonicalFormat

        table = name.removeprefix(PREFIX)
        if name.startswith(PREFIX) and table in self.canonical:
            return CanonicalFormat(table, self.canonical[table])
        path = self.mappings_dir / f"{name}.yaml"
        if name not in self.names():
            raise ConfigError(f"unknown format {name!r}; known formats: {', '.join(self.names())}")
        definition = load_mapping(path)
        if definition.name != name:
            raise MappingError(f"{path}: format: {definition.name!r} must match the file name")
        schema_path = self.schemas_dir / definition.schema
        if not schema_path.is_file():
            raise MappingError(f"{path}: schema: no file {schema_path}")
        return Format(definition, schema_path)


@cache
def default_registry() -> FormatRegistry:
    """The registry for the project's own ``include/mappings`` and ``include/schemas``,
    with the canonical formats (``canonical.order``)."""
    from koppel.formats.canonical import CANONICAL_CLASSES

    return FormatRegistry(
        INCLUDE_DIR / "mappings", INCLUDE_DIR / "schemas", canonical=CANONICAL_CLASSES
    )
