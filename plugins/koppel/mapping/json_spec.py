"""Load the two halves of a ``syntax: json`` mapping: read rules and the body template.

The read half has the XML half's shape with JSON paths
(:mod:`koppel.mapping.jsonpath`) where XPaths would be: ``record`` names the
array whose items are the documents (or an object that is the one document),
field ``path`` values are relative to the record or the current ``each``
item. ``type``, ``format``, ``default``, ``lookup``, ``required`` and
``value`` mean what they mean for XML.

A list rule (``each`` plus ``fields``) may also have ``if: <path>``: the
list is read only where that path, relative to the current object, has a
value (not missing, ``null``, a blank string or an empty array or object);
elsewhere it is empty. ``each: $`` names the current object itself, which
then is the list's one item: how a row that keeps one lot in scalar columns
fills a canonical list. It needs ``if``, since without it every object would
get an item, required fields missing where the row has none::

    lots:
      each: $
      if: lot_number
      fields:
        number: {path: lot_number}
        expiry_date: {path: lot_expiry_date, type: date}

``if`` is JSON only; an XML mapping refuses it like any unknown option.

The write half is ``write: {json: {<key>: <spec>, ...}}``, a template of the
body in the order it is written. A spec is either a value (``from``,
``context`` or ``value``, shaped by ``type``, ``format``, ``places``,
``lookup``, ``default`` and ``required``) or an object (``fields``, a nested
template); ``each`` (with an optional ``where``) turns either into an array
over a canonical list; ``when`` (a canonical path) leaves the key out where
that value is missing, as it leaves out an XML element. A key whose value
is missing is left out, unless ``null: true`` writes ``null``; an object or
array with nothing in it is left out unless ``required: true`` keeps it
(``{}`` or ``[]``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from koppel.mapping.checks import SpecContext
from koppel.mapping.definition import (
    JsonFieldRule,
    JsonListRule,
    JsonReadRule,
    WriteNode,
)
from koppel.mapping.jsonpath import JsonPath
from koppel.mapping.read_rules import ListParts, RuleKinds, read_rules
from koppel.mapping.writer_spec import WriteSpecLoader

_FIELD_KEYS = frozenset({"path", "value", "type", "format", "default", "lookup", "required"})
_SPEC_KEYS = frozenset(
    {
        "from",
        "context",
        "value",
        "type",
        "format",
        "places",
        "lookup",
        "default",
        "required",
        "null",
        "each",
        "where",
        "fields",
        "when",
    }
)
_SOURCES = ("from", "context", "value")


def json_path(ctx: SpecContext, text: object, key: str) -> JsonPath:
    """Compile one JSON path of the mapping, or an error naming ``key``."""
    if not isinstance(text, str) or not text.strip():
        raise ctx.error(key, "expected a JSON path such as 'orders' or 'lines[0].sku'")
    try:
        return JsonPath.parse(text)
    except ValueError as exc:
        raise ctx.error(key, f"invalid JSON path {text!r}: {exc}") from exc


def _field_rule(ctx: SpecContext, target: str, spec: dict[str, Any], key: str) -> JsonFieldRule:
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise ctx.error(key, f"unknown option(s) {sorted(unknown)}; known: {sorted(_FIELD_KEYS)}")
    if ("path" in spec) == ("value" in spec):
        raise ctx.error(key, "give exactly one of 'path' or 'value'")
    conversion = ctx.conversion(spec, key, places=False)
    return JsonFieldRule(
        target=target,
        conversion=conversion,
        path=json_path(ctx, spec["path"], f"{key}.path") if "path" in spec else None,
        constant=ctx.typed(spec.get("value"), conversion, f"{key}.value"),
        default=ctx.typed(spec.get("default"), conversion, f"{key}.default"),
        required=bool(spec.get("required", False)),
    )


def _list_rule(ctx: SpecContext, parts: ListParts) -> JsonListRule:
    """A JSON list rule with its optional ``if`` condition.

    ``each: $`` without ``if`` is refused: it would give every object a list
    of one, so a row without a lot would read as a lot without a number.

    Raises:
        MappingError: Naming ``<key>.if`` or ``<key>.each``.
    """
    key, each, spec = parts.key, parts.each, parts.spec
    when = None
    if "if" in spec:
        when = json_path(ctx, spec["if"], f"{key}.if")
        if not when.steps:
            raise ctx.error(f"{key}.if", "'$' always has a value; name the key that decides")
    if not each.steps and when is None:
        raise ctx.error(
            f"{key}.each",
            "'$' makes the current object the one item, so it needs 'if: <path>',"
            " the value without which there is no item",
        )
    return JsonListRule(target=parts.target, each=each, rules=parts.rules, when=when)


#: JSON read rules: dotted paths, ``JsonFieldRule`` and ``JsonListRule`` (with ``if``).
_JSON_KINDS = RuleKinds(
    path=json_path,
    field_rule=_field_rule,
    list_rule=_list_rule,
    list_options=frozenset({"if"}),
)


def json_read_rule(ctx: SpecContext, raw: object, model: type[BaseModel]) -> JsonReadRule:
    """The ``read:`` half of a JSON mapping."""
    spec = ctx.mapping(raw, "read")
    if set(spec) != {"record", "fields"}:
        raise ctx.error("read", "expected exactly 'record' and 'fields'")
    record = json_path(ctx, spec["record"], "read.record")
    return JsonReadRule(
        record=record, rules=read_rules(ctx, model, spec["fields"], "read.fields", _JSON_KINDS)
    )


class JsonTemplateLoader:
    """Turns ``write: {json: ...}`` into a tree of :class:`WriteNode` (names are JSON keys)."""

    def __init__(self, ctx: SpecContext, document: type[BaseModel]) -> None:
        self.ctx = ctx
        self.document = document
        self.nodes = WriteSpecLoader(ctx, document)

    def root(self, raw: object) -> WriteNode:
        """The body: an object node holding the template's keys.

        Raises:
            MappingError: For any mistake in the template, naming the key.
        """
        spec = self.ctx.mapping(raw, "write")
        if set(spec) != {"json"}:
            raise self.ctx.error("write", "a JSON mapping writes 'json: {<key>: <spec>}'")
        return WriteNode(
            name="$",
            required=True,
            children=self._fields(spec["json"], self.document, "write.json"),
        )

    def _fields(self, raw: object, model: type[BaseModel], key: str) -> tuple[WriteNode, ...]:
        template = self.ctx.mapping(raw, key)
        if not template:
            raise self.ctx.error(key, "an object needs at least one key")
        return tuple(
            self._node(str(name), self.ctx.mapping(spec, f"{key}.{name}"), model, f"{key}.{name}")
            for name, spec in template.items()
        )

    def _check_shape(self, spec: dict[str, Any], key: str) -> None:
        unknown = set(spec) - _SPEC_KEYS
        if unknown:
            raise self.ctx.error(key, f"unknown option(s) {sorted(unknown)}")
        sources = sum(source in spec for source in _SOURCES)
        if sources + ("fields" in spec) != 1:
            raise self.ctx.error(key, "give exactly one of 'from', 'context', 'value' or 'fields'")
        if "context" in spec and not isinstance(spec["context"], str):
            raise self.ctx.error(f"{key}.context", "expected the name of a context value")
        for flag in ("null", "required"):
            if flag in spec and not isinstance(spec[flag], bool):
                raise self.ctx.error(f"{key}.{flag}", "expected true or false")

    def _node(self, name: str, spec: dict[str, Any], model: type[BaseModel], key: str) -> WriteNode:
        self._check_shape(spec, key)
        scope = self.nodes.scope(spec, model, key)
        source = None if spec.get("from") is None else str(spec["from"])
        if source is not None:
            self.nodes.check_source(source, scope, key)
        conversion = self.ctx.conversion(spec, key, places=True)
        children = self._fields(spec["fields"], scope, f"{key}.fields") if "fields" in spec else ()
        when, when_value, when_negated = self.nodes.when(spec, scope, key)
        return WriteNode(
            name=name,
            conversion=conversion,
            source=source,
            context_key=spec.get("context"),
            constant=self.ctx.typed(spec.get("value"), conversion, f"{key}.value"),
            default=self.ctx.typed(spec.get("default"), conversion, f"{key}.default"),
            required=bool(spec.get("required", False)),
            null=bool(spec.get("null", False)),
            each=None if spec.get("each") is None else str(spec["each"]),
            where=self.nodes.where(spec, scope, key),
            when=when,
            when_value=when_value,
            when_negated=when_negated,
            children=children,
        )
