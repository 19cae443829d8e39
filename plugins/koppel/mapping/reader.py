"""Read canonical documents out of a parsed wire document with a mapping's ``read:`` rules.

Bad data is reported, never raised: an unknown lookup value, a missing
required field, text of the wrong type or a pydantic validation error each
becomes a problem with the canonical field path and the source line, so a
user sees everything wrong with a file at once. A record with an error
yields no document; its neighbours in the same file are unaffected.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from pydantic import ValidationError

from koppel.documents import CanonicalModel, Problem
from koppel.errors import MappingError
from koppel.mapping.definition import FieldRule, ListRule, MappingDefinition, ReadRule
from koppel.mapping.nodepath import ChildIndex
from koppel.mapping.values import UnknownLookupValueError, read_value


def put_value(data: dict[str, Any], dotted: str, value: object) -> None:
    """Set ``value`` at a canonical dotted path in the nested dict a document is built from."""
    *parents, last = dotted.split(".")
    for name in parents:
        data = data.setdefault(name, {})
    data[last] = value


def _line_of(found: etree._Element | None, node: etree._Element) -> int | None:
    """The line of the element a value was found in, else of the node it was looked for under."""
    line = found.sourceline if found is not None else None
    return int(line or node.sourceline or 0) or None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def loc_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a canonical path, e.g. ``lines[1].quantity``."""
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, part)
    return path


class _RecordReader:
    """Builds one document's data from one record node, collecting problems and lines.

    Where each value was found is kept as its element (``found_at``), for the
    line of a problem that pydantic finds later.
    """

    def __init__(self, definition: MappingDefinition, source: str) -> None:
        self.definition = definition
        self.source = source
        self.index = ChildIndex()  # per record: a huge file's nodes are not all kept at once
        self.problems: list[Problem] = []
        self.found_at: dict[str, etree._Element] = {}

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
                for index, item in enumerate(rule.each.elements(node, self.index)):
                    item_path = f"{path}[{index}]"
                    self.found_at[item_path] = item
                    built.append(self.build(item, rule.rules, item_path))
                if built:
                    put_value(data, rule.target, built)
                continue
            value = self.field(node, rule, path)
            if value is not None:
                put_value(data, rule.target, value)
        return data

    def field(self, node: etree._Element, rule: FieldRule, path: str) -> object:
        found: etree._Element | None = None
        if rule.xpath is not None:
            text, found = rule.xpath.first(node, self.index)
        else:
            text = rule.constant
        text = text if text is not None else rule.default
        if text is None:
            if rule.required:
                line = _line_of(found, node)
                self.problem("mapping.required", "required value is missing", path, line)
            return None
        self.found_at[path] = node if found is None or not found.sourceline else found
        try:
            return read_value(text, rule.conversion, self.definition.lookups)
        except UnknownLookupValueError as exc:
            self.problem("mapping.lookup", str(exc), path, _line_of(found, node))
            return None
        except ValueError as exc:
            self.problem("mapping.value", str(exc), path, _line_of(found, node))
            return None

    def line_for(self, path: str, fallback: int | None) -> int | None:
        """Source line of the nearest mapped node at or above a canonical path."""
        while path:
            found = self.found_at.get(path)
            if found is not None and found.sourceline:
                return int(found.sourceline)
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
    found = rule.record(tree)
    items = found if isinstance(found, list) else []
    for record in [item for item in items if isinstance(item, etree._Element)]:
        reader = _RecordReader(definition, source)
        data = reader.build(record, rule.rules, "")
        document = reader.validated(data, record)
        if document is not None and not reader.problems:
            documents.append(document)
        problems.extend(reader.problems)
    return documents, problems
