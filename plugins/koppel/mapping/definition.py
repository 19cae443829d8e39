"""The checked, compiled form of one mapping file in ``include/mappings/``.

The loader turns YAML into these frozen objects once, after checking every
canonical field, XPath, lookup and type; reading and writing then never meet
a malformed rule at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lxml import etree

from koppel.documents import CanonicalModel
from koppel.mapping.canonical import value_at
from koppel.mapping.jsonpath import JsonPath
from koppel.mapping.nodepath import NodePath

if TYPE_CHECKING:
    from koppel.mapping.xml_plan import XmlPlan

#: The wire syntaxes a mapping can read and write.
Syntax = Literal["xml", "json"]

#: The wire value types a rule can convert between text and canonical values.
ValueType = Literal["str", "decimal", "int", "date", "datetime", "bool"]
VALUE_TYPES: tuple[ValueType, ...] = ("str", "decimal", "int", "date", "datetime", "bool")


@dataclass(frozen=True)
class Conversion:
    """How one value travels between wire text and a canonical value."""

    type: ValueType = "str"
    format: str | None = None
    """strftime/strptime pattern for dates; ISO 8601 when absent."""
    places: int | None = None
    """Decimal places written for a decimal (rounded half up); as is when absent."""
    lookup: str | None = None
    """Name of the lookup table between wire codes and canonical codes."""


@dataclass(frozen=True)
class FieldRule:
    """Read one canonical field from the text of an XPath match, a constant or a default."""

    target: str
    """Canonical dotted path relative to the object being built, e.g. ``buyer.name``."""
    conversion: Conversion
    xpath: NodePath | None = None
    constant: str | None = None
    default: str | None = None
    required: bool = False
    # Worked out once, for the reader's inner loop:
    target_steps: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    child_tag: str | None = field(init=False, repr=False, compare=False, default=None)
    """The one child element the path names (Clark notation), for a one-step plain path."""
    plain_text: bool = field(init=False, repr=False, compare=False, default=False)
    """The text is the value: a ``str`` without a lookup."""
    text_field: bool = field(init=False, repr=False, compare=False, default=False)
    """The common field: a child's text, as it is, into a field of the object being built."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_steps", tuple(self.target.split(".")))
        path = self.xpath
        if path is not None and path.steps and len(path.steps) == 1 and path.attribute is None:
            object.__setattr__(self, "child_tag", path.steps[0])
        plain = self.conversion.type == "str" and self.conversion.lookup is None
        object.__setattr__(self, "plain_text", plain)
        common = plain and self.child_tag is not None and len(self.target_steps) == 1
        object.__setattr__(self, "text_field", common)


@dataclass(frozen=True)
class ListRule:
    """Build a list of canonical objects, one per node that ``each`` matches."""

    target: str
    each: NodePath
    rules: tuple[FieldRule | ListRule, ...]
    text_field = False
    """Never the common field (see :attr:`FieldRule.text_field`)."""
    child_tag = None


@dataclass(frozen=True)
class ReadRule:
    """Wire to canonical: every node ``record`` matches becomes one document."""

    record: etree.XPath
    rules: tuple[FieldRule | ListRule, ...]


@dataclass(frozen=True)
class JsonFieldRule:
    """Read one canonical field from the JSON value at ``path``, a constant or a default."""

    target: str
    conversion: Conversion
    path: JsonPath | None = None
    constant: str | None = None
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class JsonListRule:
    """Build a list of canonical objects, one per item of the JSON array at ``each``.

    ``each`` being ``$`` (no steps) makes the current object itself the one
    item: a row that holds one lot in scalar columns reads as a list of one.
    ``when`` (the mapping's ``if:``) builds the list only where that path has
    a value, so such a row without a lot reads as an empty list, not as a
    list of one item without its required fields.
    """

    target: str
    each: JsonPath
    rules: tuple[JsonFieldRule | JsonListRule, ...]
    when: JsonPath | None = None
    """Relative to the current object; the list is empty where it has no value."""

    @property
    def is_self(self) -> bool:
        """True when ``each`` is ``$``: the current object is the one item."""
        return not self.each.steps


@dataclass(frozen=True)
class JsonReadRule:
    """JSON to canonical: every item of the array at ``record`` becomes one document."""

    record: JsonPath
    rules: tuple[JsonFieldRule | JsonListRule, ...]


@dataclass(frozen=True)
class Total:
    """A written amount that is the sum of a field over a canonical list (``sum:``).

    A Peppol order's ``LineExtensionAmount`` must equal the sum of its lines'
    amounts, a figure the canonical order does not hold; each value is added
    as it is written (rounded to the node's places), so the total agrees with
    the amounts in the same document.
    """

    each: str
    """The canonical list, relative to the node's scope (or ``/`` for the document)."""
    value: str
    """The field of each item that is added; items without it add nothing."""
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Only items whose field (a path in the item) is one of these values."""

    def selects(self, item: object) -> bool:
        """True when ``item`` passes every ``where`` condition."""
        for path, wanted in self.where:
            value = value_at(item, path)
            if value is None or not any(same_value(value, text) for text in wanted):
                return False
        return True


def same_value(value: object, text: str) -> bool:
    """True when a canonical value is the value ``text`` spells: decimals as numbers
    (``0`` is ``0.00``), enums by their value, booleans as ``true``/``false``."""
    if isinstance(value, Decimal):
        try:
            return value == Decimal(text)
        except InvalidOperation:
            return False
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return ("true" if value else "false") == text
    return str(value) == text


@dataclass(frozen=True)
class WriteNode:
    """One element (or attribute) of the wire document to write.

    In a JSON mapping the same tree describes the body: ``name`` is the key,
    a node with children is an object, a node with ``each`` an array.

    A node takes its value from a canonical path (``source``), the delivery
    context (``context_key``), a constant or a ``template`` joining several
    canonical values into one text; a node with ``each`` repeats over
    a canonical list (optionally only the items ``where`` selects), its
    children reading from each item. A node with ``when`` is written only
    where that canonical value is present, so a block whose only content is
    a constant (a UBL ``TaxScheme`` saying ``VAT``) need not stand alone. A valued node
    whose value is None is left out; a node without a value is left out when
    none of its children produced anything.

    In a batch mapping one node is the ``record``: it repeats once per
    document, as ``read.record`` matches once per document. Nodes outside it
    are file level; a ``source`` there is the value every document shares.
    """

    name: str
    """Clark notation ``{namespace}local`` (elements) or a plain name (attributes)."""
    is_attribute: bool = False
    conversion: Conversion = field(default_factory=Conversion)
    source: str | None = None
    context_key: str | None = None
    constant: str | None = None
    default: str | None = None
    required: bool = False
    each: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    """With ``each``: keep only items whose field (a canonical path) has this text."""
    record: bool = False
    """Repeat once per document of a batch; below it, paths start at that document."""
    null: bool = False
    """JSON only: write ``null`` where the value is missing instead of leaving the key out."""
    template: tuple[tuple[str, str | None], ...] | None = None
    """XML only: literal text and the canonical path whose value follows it, pair by pair
    (``[{severity}] {code}`` is ``(("[", "severity"), ("] ", "code"))``); the text is
    missing when any of the values is."""
    when: str | None = None
    """Write the node (and everything below it) only when the canonical value at this path
    is present: not None and not an empty list. Relative to the node's scope (the item,
    with ``each``), or with a leading ``/`` to the document, as ``source``."""
    when_value: str | None = None
    """With ``when``: the value must also equal this text (a decimal compares as a number,
    so ``0`` matches ``0.00``), or, with ``when_negated``, differ from it."""
    when_negated: bool = False
    total: Total | None = None
    """XML only: the text is this sum over a canonical list, not one value."""
    children: tuple[WriteNode, ...] = ()
    source_steps: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    """``source`` split at its dots (without a leading ``/``), once rather than per value."""
    repeats: bool = field(init=False, repr=False, compare=False, default=False)
    """Rendered per item (``each``) or per document (``record``), not once."""
    plain_source: bool = field(init=False, repr=False, compare=False, default=False)
    """A ``from`` relative to the scope, through fields only (no list index), without lookup."""

    def __post_init__(self) -> None:
        steps = () if self.source is None else tuple(self.source.removeprefix("/").split("."))
        object.__setattr__(self, "source_steps", steps)
        object.__setattr__(self, "repeats", self.each is not None or self.record)
        plain = (
            self.source is not None
            and not self.source.startswith("/")
            and not any(step.isdigit() for step in steps)
            and self.conversion.lookup is None
        )
        object.__setattr__(self, "plain_source", plain)

    @property
    def has_value(self) -> bool:
        """True when the node carries text of its own, not only children."""
        return (
            self.source is not None
            or self.context_key is not None
            or self.constant is not None
            or self.template is not None
        )

    def wanted(self, scope: object, document: object) -> bool:
        """True unless ``when`` names a value that is missing (None or an empty list) here.

        Args:
            scope: The object the node's relative paths start at (the item, with ``each``).
            document: The document a ``/`` path starts at.
        """
        if self.when is None:
            return True
        start = document if self.when.startswith("/") else scope
        value = value_at(start, self.when.removeprefix("/"))
        if value is None or value == []:
            return False
        if self.when_value is None:
            return True
        return same_value(value, self.when_value) != self.when_negated

    @property
    def holds_record(self) -> bool:
        """True when this node or one below it is a batch's ``record``."""
        return self.record or any(child.holds_record for child in self.children)


#: The Schematron rule sets a mapping can name, each with the transactions it has rules for.
SCHEMATRON_RULE_SETS: dict[str, tuple[str, ...]] = {"peppol": ("T01", "T76", "T16")}


@dataclass(frozen=True)
class SchematronRef:
    """The business rules a format's documents must also pass: ``schematron: peppol:T01``.

    An XSD says what a document may look like; a profile such as Peppol BIS 3
    adds rules (a buyer endpoint, the customization id, sums that add up) that
    only its Schematron can check.
    """

    rule_set: str
    """The rule set, e.g. ``peppol``; one of :data:`SCHEMATRON_RULE_SETS`."""
    transaction: str
    """The transaction of the rule set, e.g. ``T01`` (Peppol Order)."""

    def __str__(self) -> str:
        return f"{self.rule_set}:{self.transaction}"


@dataclass(frozen=True)
class MappingDefinition:
    """A wire format's mapping to and from one canonical document class."""

    name: str
    description: str
    document_class: type[CanonicalModel]
    schema: str
    """XSD (or, for JSON, JSON Schema) path relative to ``include/schemas/``."""
    namespaces: dict[str, str]
    lookups: dict[str, dict[str, str]]
    source: Path
    """The mapping file, named in every error about it."""
    read: ReadRule | JsonReadRule | None = None
    write: WriteNode | None = None
    syntax: Syntax = "xml"
    validate: etree.XPath | None = None
    """XML only: the one element to check against the schema (e.g. a SOAP body's
    payload, since the envelope is not in the schema); the whole document when absent."""
    write_lookups: dict[str, dict[str, str]] = field(default_factory=dict)
    """Canonical code to wire code, for a lookup whose writing is not its reading backwards:
    where several canonical codes share one wire code (SCSN answers both an accepted line
    and one accepted with changes with ``accepted``). Overrides the reversed ``lookups``
    table of the same name."""
    schematron: SchematronRef | None = None
    """XML only: the Schematron rules run after the XSD finds no errors, on reading and
    on writing; None when the XSD is the whole check."""

    @property
    def writes_batches(self) -> bool:
        """True when one written file holds many documents (the ``write:`` tree has a record)."""
        return self.write is not None and self.write.holds_record

    @property
    def root_nsmap(self) -> dict[str | None, str]:
        """The written root's namespace as the default, every other declared one by its prefix."""
        root_namespace = None if self.write is None else etree.QName(self.write.name).namespace
        nsmap: dict[str | None, str] = {
            prefix: uri for prefix, uri in self.namespaces.items() if uri != root_namespace
        }
        if root_namespace:
            nsmap[None] = root_namespace
        return nsmap

    @cached_property
    def xml_plan(self) -> XmlPlan:
        """The ``write:`` tree compiled for the XML writer, on first use."""
        from koppel.mapping.xml_plan import compile_plan  # it builds on these definitions

        if self.write is None:
            raise ValueError(f"{self.source}: format {self.name} has no write: tree")
        return compile_plan(self, self.write)

    @cached_property
    def reverse_lookups(self) -> dict[str, dict[str, str]]:
        """Each lookup from canonical code back to wire code; the first wire code listed wins,
        unless ``write_lookups`` says otherwise."""
        tables: dict[str, dict[str, str]] = {}
        for name, table in self.lookups.items():
            reverse: dict[str, str] = {}
            for wire, canonical in table.items():
                reverse.setdefault(canonical, wire)
            reverse.update(self.write_lookups.get(name, {}))
            tables[name] = reverse
        return tables
