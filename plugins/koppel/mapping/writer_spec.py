"""Load the ``write:`` half of a mapping: a declarative tree of wire elements.

Each node names an element (``element: ip:Order``; without a prefix it takes
its parent's namespace) or an attribute of its parent (``attribute: currency``)
and at most one value source: ``from`` (a canonical dotted path, relative to
the current list item inside ``each``; a leading ``/`` starts from the
document itself), ``context`` (a key of the delivery
context such as ``origin``), ``value`` (a constant) or ``template`` (text with
``{path}`` placeholders, for a wire field that holds several canonical values,
such as a UBL note ``[error] scsn.price: …``). ``type``, ``format``,
``places``, ``lookup`` (used in reverse), ``default`` and ``required`` shape
the text; ``each`` repeats the node over a canonical list, ``where``
(``{kind: shipping}``) keeping only matching items; ``children`` nests.
``when`` (a canonical path, relative as ``from`` is) writes the node and
everything below it only when that value is present (not None, not an empty
list): a party's ``PartyTaxScheme`` only when it has a VAT number, though its
``TaxScheme/ID`` is the constant ``VAT``. ``when: {path: p, is: v}`` (or
``is_not: v``) also asks that the value be (or not be) ``v``. ``sum: {each:
lines, value: line_amount, where: {kind: [a, b]}}`` writes the sum of a field
over a canonical list (items without the value add nothing), for the totals
a document must state but the canonical model does not keep.

A file that holds many documents (a full stock update) marks one element
``record: true``: it is written once per document, the way ``read.record``
reads one document per match. Below it everything is as in a one-document
mapping, with that document as the start of every path. Above and beside it
are file-level nodes: ``context`` and ``value`` as usual, and ``from`` for a
value every document of the batch shares (the warehouse, the moment of a
stock count). A file level has no canonical list, so ``each`` is refused there.
Errors name the node by its element path, e.g.
``write/ip:Orders/Order/Lines/Line/Quantity.type``.
"""

from __future__ import annotations

import string
from typing import Any

from pydantic import BaseModel

from koppel.mapping.canonical import field_annotation, list_item, model_class
from koppel.mapping.checks import SpecContext
from koppel.mapping.definition import Total, WriteNode

_NODE_KEYS = frozenset(
    {
        "element",
        "attribute",
        "from",
        "context",
        "value",
        "type",
        "format",
        "places",
        "lookup",
        "default",
        "required",
        "each",
        "where",
        "record",
        "children",
        "template",
        "when",
        "sum",
    }
)
_SOURCES = ("from", "context", "value", "template")


class WriteSpecLoader:
    """Turns the ``write:`` tree into checked :class:`WriteNode` objects."""

    def __init__(self, ctx: SpecContext, document: type[BaseModel]) -> None:
        self.ctx = ctx
        self.document = document
        self.batch = False
        """The tree has a ``record`` node: many documents per file."""

    def root(self, raw: object) -> WriteNode:
        """The root element node; it must be one plain element.

        Raises:
            MappingError: For any mistake in the tree, naming the node.
        """
        spec = self.ctx.mapping(raw, "write")
        if "element" not in spec or "each" in spec or "record" in spec:
            raise self.ctx.error(
                "write", "the root must be one 'element' without 'each' or 'record'"
            )
        if "when" in spec:
            raise self.ctx.error("write.when", "the root is always written")
        records = _count_records(spec)
        if records > 1:
            raise self.ctx.error("write", f"a batch has one 'record' node, found {records}")
        self.batch = records == 1
        return self._node(spec, self.document, "write", None, file_level=records == 1)

    def _name(self, spec: dict[str, Any], key: str, parent_namespace: str | None) -> str:
        raw = spec.get("element", spec.get("attribute"))
        if not isinstance(raw, str) or not raw:
            raise self.ctx.error(key, "expected an element or attribute name")
        prefix, _, local = raw.rpartition(":")
        if prefix and prefix not in self.ctx.namespaces:
            raise self.ctx.error(key, f"namespace prefix {prefix!r} is not declared")
        namespace = self.ctx.namespaces[prefix] if prefix else parent_namespace
        if "attribute" in spec:
            return f"{{{namespace}}}{local}" if prefix else local
        return f"{{{namespace}}}{local}" if namespace else local

    def scope(self, spec: dict[str, Any], model: type[BaseModel], key: str) -> type[BaseModel]:
        """The model that ``from`` paths below this node are relative to."""
        each = spec.get("each")
        if each is None:
            return model
        try:
            annotation = field_annotation(model, str(each), allow_index=True)
        except ValueError as exc:
            raise self.ctx.error(f"{key}.each", f"unknown canonical field: {exc}") from exc
        item = model_class(list_item(annotation))
        if item is None:
            raise self.ctx.error(f"{key}.each", "'each' needs a canonical list of objects")
        return item

    def check_source(
        self, source: str, scope: type[BaseModel], key: str, option: str = "from"
    ) -> None:
        """Refuse a ``from`` (or ``when``) path, relative to ``scope`` or with ``/`` to the
        document, that names no canonical field."""
        start, relative = (self.document, source[1:]) if source.startswith("/") else (scope, source)
        try:
            field_annotation(start, relative, allow_index=True)
        except ValueError as exc:
            raise self.ctx.error(f"{key}.{option}", f"unknown canonical field: {exc}") from exc

    def when(
        self, spec: dict[str, Any], scope: type[BaseModel], key: str
    ) -> tuple[str | None, str | None, bool]:
        """The checked ``when`` of a node: its path, the value it must be (or, negated,
        must not be), and whether it is negated; ``(None, None, False)`` without one.

        ``when: vat_number`` asks for a value; ``when: {path: tax_rate, is: "0"}`` for
        that value, ``when: {path: tax_rate, is_not: "0"}`` for any other (a Peppol tax
        category ``Z`` for a zero rate, ``S`` for the rest).
        """
        if "when" not in spec:
            return None, None, False
        where = f"{key}.when"
        if self.batch:  # the streamed catalogue writer renders batches without conditions
            raise self.ctx.error(where, "a batch mapping (with a 'record') has no 'when'")
        raw = spec["when"]
        wanted: str | None = None
        negated = False
        if isinstance(raw, dict):
            tests = set(raw) - {"path"}
            if set(raw) - {"path", "is", "is_not"} or len(tests) != 1:
                raise self.ctx.error(where, "expected {path: <field>, is: <value>} or is_not")
            negated = "is_not" in raw
            wanted = self.ctx.scalar(raw["is_not" if negated else "is"], where)
            if wanted is None:
                raise self.ctx.error(where, "compare with a value; a path alone asks for any")
            raw = raw.get("path")
        if not isinstance(raw, str) or not raw.removeprefix("/"):
            raise self.ctx.error(where, "expected a canonical path such as 'vat_number'")
        self.check_source(raw, scope, key, "when")
        return raw, wanted, negated

    def template(
        self, raw: object, scope: type[BaseModel], key: str
    ) -> tuple[tuple[str, str | None], ...]:
        """A ``template`` as pairs of literal text and the canonical path that follows it.

        Only plain ``{path}`` placeholders (no format spec or conversion): the
        values are written as their wire text, as ``from`` writes them.
        """
        where = f"{key}.template"
        if not isinstance(raw, str) or not raw:
            raise self.ctx.error(where, "expected a text with {field} placeholders")
        if self.batch:  # the streamed catalogue writer renders batches without templates
            raise self.ctx.error(where, "a batch mapping (with a 'record') has no templates")
        try:
            parsed = list(string.Formatter().parse(raw))
        except ValueError as exc:
            raise self.ctx.error(where, f"not a template: {exc}") from exc
        parts: list[tuple[str, str | None]] = []
        for literal, name, spec, conversion in parsed:
            if name is not None and (spec or conversion or not name):
                raise self.ctx.error(where, "placeholders are plain {path}, nothing else")
            if name is not None:
                start, relative = (
                    (self.document, name[1:]) if name.startswith("/") else (scope, name)
                )
                try:
                    field_annotation(start, relative, allow_index=True)
                except ValueError as exc:
                    raise self.ctx.error(where, f"unknown canonical field: {exc}") from exc
            parts.append((literal, name))
        if all(name is None for _, name in parts):
            raise self.ctx.error(where, "a template without placeholders is a 'value'")
        return tuple(parts)

    def where(
        self, spec: dict[str, Any], item: type[BaseModel], key: str
    ) -> tuple[tuple[str, str], ...]:
        if "where" not in spec:
            return ()
        if "each" not in spec:
            raise self.ctx.error(f"{key}.where", "'where' filters the items of 'each'")
        conditions = []
        for path, wanted in self.ctx.mapping(spec["where"], f"{key}.where").items():
            try:
                field_annotation(item, str(path), allow_index=True)
            except ValueError as exc:
                raise self.ctx.error(
                    f"{key}.where.{path}", f"unknown canonical field: {exc}"
                ) from exc
            conditions.append((str(path), str(self.ctx.scalar(wanted, f"{key}.where.{path}"))))
        return tuple(conditions)

    def total(self, spec: dict[str, Any], scope: type[BaseModel], key: str) -> Total | None:
        """The checked ``sum: {each, value, where}`` of an element, None without one."""
        if "sum" not in spec:
            return None
        where = f"{key}.sum"
        if self.batch:  # the streamed catalogue writer renders batches without sums
            raise self.ctx.error(where, "a batch mapping (with a 'record') has no 'sum'")
        if "attribute" in spec or _has_source(spec) or "each" in spec:
            raise self.ctx.error(
                where,
                "a sum is an element's whole value: no 'from', "
                "'context', 'value', 'template' or 'each' beside it",
            )
        if spec.get("type") not in ("decimal", "int"):
            raise self.ctx.error(where, "a sum needs 'type: decimal' or 'type: int'")
        raw = self.ctx.mapping(spec["sum"], where)
        if set(raw) - {"each", "value", "where"} or not {"each", "value"} <= set(raw):
            raise self.ctx.error(where, "expected {each: <list>, value: <field>, where: {...}}")
        each = raw["each"]
        if not isinstance(each, str) or not each.removeprefix("/"):
            raise self.ctx.error(f"{where}.each", "expected a canonical list")
        start = self.document if each.startswith("/") else scope
        item = self.scope({"each": each.removeprefix("/")}, start, where)
        value = raw["value"]
        if not isinstance(value, str):
            raise self.ctx.error(f"{where}.value", "expected a canonical field of each item")
        try:
            field_annotation(item, value, allow_index=True)
        except ValueError as exc:
            raise self.ctx.error(f"{where}.value", f"unknown canonical field: {exc}") from exc
        conditions: list[tuple[str, tuple[str, ...]]] = []
        for path, wanted in self.ctx.mapping(raw.get("where") or {}, f"{where}.where").items():
            at = f"{where}.where.{path}"
            try:
                field_annotation(item, str(path), allow_index=True)
            except ValueError as exc:
                raise self.ctx.error(at, f"unknown canonical field: {exc}") from exc
            values = wanted if isinstance(wanted, list) else [wanted]
            texts = tuple(str(self.ctx.scalar(v, at)) for v in values if v is not None)
            if not texts:
                raise self.ctx.error(at, "expected a value or a list of values")
            conditions.append((str(path), texts))
        return Total(each=each, value=value, where=tuple(conditions))

    def _check_shape(self, spec: dict[str, Any], key: str, *, file_level: bool) -> None:
        unknown = set(spec) - _NODE_KEYS
        if unknown:
            raise self.ctx.error(key, f"unknown option(s) {sorted(unknown)}")
        if ("element" in spec) == ("attribute" in spec):
            raise self.ctx.error(key, "give exactly one of 'element' or 'attribute'")
        if sum(source in spec for source in _SOURCES) > 1:
            raise self.ctx.error(
                key, "give at most one of 'from', 'context', 'value' or 'template'"
            )
        if "attribute" in spec and ({"children", "each"} & set(spec) or not _has_source(spec)):
            raise self.ctx.error(key, "an attribute needs a value and has no 'children' or 'each'")
        if "context" in spec and not isinstance(spec["context"], str):
            raise self.ctx.error(f"{key}.context", "expected the name of a context value")
        if "record" in spec and not isinstance(spec["record"], bool):
            raise self.ctx.error(f"{key}.record", "expected true or false")
        if spec.get("record") and ("attribute" in spec or "each" in spec):
            raise self.ctx.error(f"{key}.record", "a record is an element without 'each'")
        if file_level and "each" in spec:
            raise self.ctx.error(
                f"{key}.each", "outside the record there is no canonical list to repeat over"
            )

    def _node(
        self,
        spec: dict[str, Any],
        model: type[BaseModel],
        parent_key: str,
        parent_namespace: str | None,
        *,
        file_level: bool,
    ) -> WriteNode:
        label = spec.get("element") or f"@{spec.get('attribute')}"
        key = f"{parent_key}/{label}"
        self._check_shape(spec, key, file_level=file_level)
        record = bool(spec.get("record", False))
        name = self._name(spec, key, parent_namespace)
        scope = self.scope(spec, model, key)
        source = None if spec.get("from") is None else str(spec["from"])
        if source is not None:
            self.check_source(source, scope, key)
        conversion = self.ctx.conversion(spec, key, places=True)
        namespace = name[1:].partition("}")[0] if name.startswith("{") else parent_namespace
        when, when_value, when_negated = self.when(spec, scope, key)
        children = spec.get("children") or []
        if not isinstance(children, list):
            raise self.ctx.error(f"{key}.children", "expected a list of nodes")
        return WriteNode(
            name=name,
            is_attribute="attribute" in spec,
            conversion=conversion,
            source=source,
            context_key=spec.get("context"),
            constant=self.ctx.typed(spec.get("value"), conversion, f"{key}.value"),
            default=self.ctx.typed(spec.get("default"), conversion, f"{key}.default"),
            required=bool(spec.get("required", False)),
            template=None
            if "template" not in spec
            else self.template(spec["template"], scope, key),
            each=None if spec.get("each") is None else str(spec["each"]),
            where=self.where(spec, scope, key),
            when=when,
            when_value=when_value,
            when_negated=when_negated,
            total=self.total(spec, scope, key),
            record=record,
            children=tuple(
                self._node(
                    self.ctx.mapping(child, f"{key}.children"),
                    scope,
                    key,
                    namespace,
                    file_level=file_level and not record,
                )
                for child in children
            ),
        )


def _has_source(spec: dict[str, Any]) -> bool:
    return any(source in spec for source in _SOURCES)


def _count_records(spec: object) -> int:
    """How many nodes of a raw ``write:`` tree say ``record: true`` (malformed parts count 0)."""
    if not isinstance(spec, dict):
        return 0
    children = spec.get("children")
    below = sum(_count_records(child) for child in children) if isinstance(children, list) else 0
    return below + (1 if spec.get("record") is True else 0)
