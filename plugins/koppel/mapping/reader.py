"""Read canonical documents out of a parsed wire document with a mapping's ``read:`` rules.

Bad data is reported, never raised: an unknown lookup value, a missing
required field, text of the wrong type or a pydantic validation error each
becomes a problem with the canonical field path and the source line, so a
user sees everything wrong with a file at once. A record with an error
yields no document; its neighbours in the same file are unaffected.
"""

from __future__ import annotations

import math
from typing import Any

from lxml import etree
from pydantic import ValidationError

from koppel.documents import CanonicalModel, Problem
from koppel.errors import MappingError
from koppel.mapping.definition import FieldRule, ListRule, MappingDefinition, ReadRule
from koppel.mapping.values import UnknownLookupValueError, read_value


def _text_of(item: object) -> tuple[str | None, int | None]:
    """Text and source line of one XPath result item (element, attribute/text or number)."""
    if isinstance(item, etree._Element):
        return "".join(item.itertext()).strip() or None, item.sourceline
    if isinstance(item, str):
        parent = getattr(item, "getparent", lambda: None)()
        return item.strip() or None, None if parent is None else parent.sourceline
    if isinstance(item, bool):
        return ("true" if item else "false"), None
    if isinstance(item, float):
        if math.isnan(item):  # XPath's number() of nothing
            return None, None
        return (str(int(item)) if item.is_integer() else repr(item)), None
    return None, None


def _first(result: object) -> tuple[str | None, int | None]:
    if isinstance(result, list):
        return _text_of(result[0]) if result else (None, None)
    return _text_of(result)


def _elements(result: object) -> list[etree._Element]:
    """The element nodes of an XPath result; records and list items must be elements."""
    if not isinstance(result, list):
        return []
    return [item for item in result if isinstance(item, etree._Element)]


def put_value(data: dict[str, Any], dotted: str, value: object) -> None:
    """Set ``value`` at a canonical dotted path in the nested dict a document is built from."""
    *parents, last = dotted.split(".")
    for name in parents:
        data = data.setdefault(name, {})
    data[last] = value


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def loc_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a canonical path, e.g. ``lines[1].quantity``."""
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, part)
    return path


class _RecordReader:
    """Builds one document's data from one record node, collecting problems and lines."""

    def __init__(self, definition: MappingDefinition, source: str) -> None:
        self.definition = definition
        self.source = source
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}

    def problem(self, code: str, message: str, field: str, line: int | None) -> None:
        self.problems.append(
            Problem(code=code, message=message, file=self.source, line=line, field=field)
        )

    def build(
        self, node: etree._Element, rules: tuple[FieldRule | ListRule, ...], prefix: str
    ) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for rule in rules:
            path = _join(prefix, rule.target)
            if isinstance(rule, ListRule):
                built = []
                for index, item in enumerate(_elements(rule.each(node))):
                    item_path = f"{path}[{index}]"
                    self.lines[item_path] = item.sourceline or 0
                    built.append(self.build(item, rule.rules, item_path))
                if built:
                    put_value(data, rule.target, built)
                continue
            value = self.field(node, rule, path)
            if value is not None:
                put_value(data, rule.target, value)
        return data

    def field(self, node: etree._Element, rule: FieldRule, path: str) -> object:
        if rule.xpath is not None:
            text, line = _first(rule.xpath(node))
        else:
            text, line = rule.constant, None
        line = line or node.sourceline
        text = text if text is not None else rule.default
        if text is None:
            if rule.required:
                self.problem("mapping.required", "required value is missing", path, line)
            return None
        self.lines[path] = line or 0
        try:
            return read_value(text, rule.conversion, self.definition.lookups)
        except UnknownLookupValueError as exc:
            self.problem("mapping.lookup", str(exc), path, line)
            return None
        except ValueError as exc:
            self.problem("mapping.value", str(exc), path, line)
            return None

    def line_for(self, path: str, fallback: int | None) -> int | None:
        """Source line of the nearest mapped node at or above a canonical path."""
        while path:
            if self.lines.get(path):
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return fallback

    def validated(self, data: dict[str, Any], record: etree._Element) -> CanonicalModel | None:
        try:
            return self.definition.document_class.model_validate(data)
        except ValidationError as exc:
            reported = {problem.field for problem in self.problems}
            for error in exc.errors():
                path = loc_path(error["loc"])
                if path in reported:  # already explained, e.g. the lookup that left it empty
                    continue
                line = self.line_for(path, record.sourceline)
                self.problem("mapping.invalid", error["msg"], path, line)
            return None


def read_documents(
    definition: MappingDefinition, tree: etree._ElementTree, *, source: str
) -> tuple[list[CanonicalModel], list[Problem]]:
    """Every document the mapping's ``record`` XPath finds in ``tree``, plus the problems.

    Args:
        definition: A loaded mapping with a ``read:`` half.
        tree: A parsed (and schema-valid) wire document.
        source: Name of the file or message, recorded on each problem.

    Raises:
        MappingError: When the mapping has no ``read:`` half.
    """
    if not isinstance(definition.read, ReadRule):
        message = f"format {definition.name} cannot be read as XML"
        raise MappingError(f"{definition.source}: read: {message}")
    documents: list[CanonicalModel] = []
    problems: list[Problem] = []
    rule = definition.read
    for record in _elements(rule.record(tree)):
        reader = _RecordReader(definition, source)
        data = reader.build(record, rule.rules, "")
        document = reader.validated(data, record)
        if document is not None and not reader.problems:
            documents.append(document)
        problems.extend(reader.problems)
    return documents, problems
