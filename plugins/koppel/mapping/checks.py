"""Checks shared by the read and write halves of the mapping loader.

Each check either returns the checked value or raises a MappingError that
names the mapping file and the dotted key at fault, so a user can go
straight to the line to fix.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from lxml import etree

from koppel.errors import MappingError
from koppel.mapping.canonical import required_fields
from koppel.mapping.definition import VALUE_TYPES, Conversion, ValueType
from koppel.mapping.nodepath import NodePath, compile_path
from koppel.mapping.values import parse_text

_PROBE = etree.Element("probe")


class SpecContext:
    """What every check needs to report an error: the file, its namespaces and lookups."""

    def __init__(self, source: Path, namespaces: dict[str, str], lookups: dict[str, Any]) -> None:
        self.source = source
        self.namespaces = namespaces
        self.lookups = lookups

    def error(self, key: str, reason: str) -> MappingError:
        """A MappingError naming the file and the key at fault."""
        return MappingError(f"{self.source}: {key}: {reason}")

    def mapping(self, value: object, key: str) -> dict[str, Any]:
        """``value`` as a mapping, or an error naming ``key``."""
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping, got {type(value).__name__}")
        return cast(dict[str, Any], value)

    def scalar(self, value: object, key: str) -> str | None:
        """A YAML scalar as wire text (YAML turns ``true`` and dates into objects)."""
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | Decimal | date):
            return value.isoformat() if isinstance(value, date) else str(value)
        raise self.error(key, f"expected a single value, got {type(value).__name__}")

    def xpath(self, expression: object, key: str) -> etree.XPath:
        """Compile ``expression`` and evaluate it once, so bad prefixes fail now."""
        if not isinstance(expression, str) or not expression.strip():
            raise self.error(key, "expected an XPath expression")
        try:
            compiled = etree.XPath(expression, namespaces=self.namespaces)
            compiled(_PROBE)
        except etree.XPathError as exc:
            raise self.error(key, f"invalid XPath {expression!r}: {exc}") from exc
        return compiled

    def node_path(self, expression: object, key: str) -> NodePath:
        """A read path relative to a record or list item, checked as :meth:`xpath` checks it."""
        return compile_path(self.xpath(expression, key), self.namespaces)

    def conversion(self, spec: dict[str, Any], key: str, *, places: bool) -> Conversion:
        """The type, format, places and lookup of one rule, each checked."""
        kind = spec.get("type", "str")
        if kind not in VALUE_TYPES:
            raise self.error(f"{key}.type", f"unknown type {kind!r}; known: {list(VALUE_TYPES)}")
        lookup = spec.get("lookup")
        if lookup is not None and lookup not in self.lookups:
            raise self.error(f"{key}.lookup", f"no lookup table named {lookup!r}")
        decimals = spec.get("places") if places else None
        if decimals is not None and (not isinstance(decimals, int) or decimals < 0):
            raise self.error(f"{key}.places", "expected a whole number of decimal places >= 0")
        fmt = spec.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise self.error(f"{key}.format", "expected a strftime pattern")
        return Conversion(type=cast(ValueType, kind), format=fmt, places=decimals, lookup=lookup)

    def typed(self, value: object, conversion: Conversion, key: str) -> str | None:
        """A constant or default as text, checked to convert with its rule's type."""
        text = self.scalar(value, key)
        if text is not None:
            try:
                parse_text(text, Conversion(type=conversion.type, format=conversion.format))
            except ValueError as exc:
                raise self.error(key, f"{text!r} is not a valid {conversion.type}") from exc
        return text

    def require_mapped(self, model: type[Any], targets: list[str], key: str) -> None:
        """Every required canonical field must be mapped, or no document could ever be built."""
        mapped = {target.split(".")[0] for target in targets}
        missing = sorted(required_fields(model) - mapped)
        if missing:
            raise self.error(key, f"required field(s) of {model.__name__} not mapped: {missing}")
