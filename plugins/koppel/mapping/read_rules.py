"""The ``read.fields`` block of a mapping, checked once for XML and JSON alike.

Both syntaxes map canonical fields the same way (a value per field, ``each``
plus ``fields`` for a list of objects) and differ only in how a path is
written and which rule objects hold the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from koppel.mapping.canonical import field_annotation, list_item, model_class
from koppel.mapping.checks import SpecContext


@dataclass(frozen=True)
class ListParts:
    """One checked ``each`` rule, handed to the syntax to build its list rule."""

    target: str
    each: Any
    """The compiled ``each`` path."""
    rules: tuple[Any, ...]
    """The checked rules of its ``fields``."""
    spec: Mapping[str, Any]
    """The rule as written, for the syntax's own options (see :attr:`RuleKinds.list_options`)."""
    key: str
    """The rule's key in the mapping (``read.fields.lines``), for errors."""


@dataclass(frozen=True)
class RuleKinds:
    """How one syntax compiles paths and builds its field and list rules."""

    path: Callable[[SpecContext, object, str], Any]
    field_rule: Callable[[SpecContext, str, dict[str, Any], str], Any]
    list_rule: Callable[[SpecContext, ListParts], Any]
    """The list rule, checking the syntax's own list options and naming the key when wrong."""
    list_options: frozenset[str] = frozenset()
    """Keys a list rule of this syntax may have besides ``each`` and ``fields``
    (JSON: ``if``); XML has none, so a JSON-only option is refused there."""

    def list_shape(self) -> str:
        """The message for a list rule with keys missing or unknown."""
        if not self.list_options:
            return "a list rule has exactly 'each' and 'fields'"
        optional = " and ".join(repr(option) for option in sorted(self.list_options))
        return f"a list rule has 'each' and 'fields', and may have {optional}"


def read_rules(
    ctx: SpecContext, model: type[Any], fields: object, key: str, kinds: RuleKinds
) -> tuple[Any, ...]:
    """The checked rules of one ``fields`` block, recursing into ``each`` lists.

    Raises:
        MappingError: naming the key of the first unknown field, option or bad path.
    """
    rules: list[Any] = []
    spec_map: Mapping[Any, Any] = ctx.mapping(fields, key)
    for target, raw in spec_map.items():
        rule_key = f"{key}.{target}"
        spec = ctx.mapping(raw, rule_key)
        try:
            annotation = field_annotation(model, str(target), allow_index=False)
        except ValueError as exc:
            raise ctx.error(rule_key, f"unknown canonical field: {exc}") from exc
        if "each" not in spec:
            rules.append(kinds.field_rule(ctx, str(target), spec, rule_key))
            continue
        item = model_class(list_item(annotation))
        if item is None:
            raise ctx.error(rule_key, "'each' needs a canonical list of objects")
        keys = set(spec)
        if "fields" not in keys or keys - {"each", "fields"} - kinds.list_options:
            raise ctx.error(rule_key, kinds.list_shape())
        each = kinds.path(ctx, spec["each"], f"{rule_key}.each")
        sub_rules = read_rules(ctx, item, spec["fields"], f"{rule_key}.fields", kinds)
        rules.append(kinds.list_rule(ctx, ListParts(str(target), each, sub_rules, spec, rule_key)))
    ctx.require_mapped(model, [rule.target for rule in rules], key)
    return tuple(rules)
