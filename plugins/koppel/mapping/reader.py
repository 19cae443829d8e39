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
from koppel.mapping.nodepath import ChildIndex, Children, element_text
from koppel.mapping.values import UnknownLookupValueError, read_value


def put_value(data: dict[str, Any], dotted: str, value: object) -> None:
    """Set ``value`` at a canonical dotted path in the nested dict a document is built from."""
    *parents, last = dotted.split(".")
    for name in parents:
        data = data.setdefault(name, {})
    data[last] = value


def _line_of(found: etree._Element | None, node: etree._Element | None) -> int | None:
    """The line of the element a value was found in, else of the node it was looked for under."""
    line = found.sourceline if found is not None else None
    if not line and node is not None:
        line = node.sourceline
    return int(line) if line else None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def loc_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a canonical path, e.g. ``lines[1].quantity``."""
    path = ""
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, part)
    return path


class _RecordReader:
    """Builds one document's data from one record node, collecting problems.

    Where each value was found is noted as it is read (``found_at``: the
    prefix and target of its canonical path, the element it was in and the
    node it was looked for under) and spelled out as paths and lines only when
    pydantic finds a problem: most records have none.
    """

    def __init__(self, definition: MappingDefinition, source: str) -> None:
        self.definition = definition
        self.source = source
        self.index = ChildIndex()  # per record: a huge file's nodes are not all kept at once
        self.problems: list[Problem] = []
        self.found_at: list[tuple[str, str, etree._Element | None, etree._Element | None]] = []

    def problem(self, code: str, message: str, field: str, line: int | None) -> None:
        self.problems.append(
            Problem(code=code, message=message, file=self.source, line=line, field=field)
        )

    def build(
        self, node: etree._Element, rules: tuple[FieldRule | ListRule, ...], prefix: str
    ) -> dict[str, Any]:
        """The nested data of one record or list item; the common field takes the short way."""
        data: dict[str, Any] = {}
        children = self.index.of(node)
        for rule in rules:
            if rule.text_field:  # the common field, the short way
                matches = children.get(rule.child_tag)
                found = matches[0] if matches else None
                text = None if found is None else element_text(found)
                if text is not None:
                    self.found_at.append((prefix, rule.target, found, node))
                    data[rule.target] = text
                    continue
            if isinstance(rule, ListRule):
                self.build_list(node, rule, prefix, data)
            else:
                self.field(node, children, rule, prefix, data)
        return data

    def field(
        self,
        node: etree._Element,
        children: Children,
        rule: FieldRule,
        prefix: str,
        data: dict[str, Any],
    ) -> None:
        """Any field: a default, a constant, a conversion, a lookup, a problem."""
        if rule.child_tag is not None:
            matches = children.get(rule.child_tag)
            found = matches[0] if matches else None
            text = None if found is None else element_text(found)
        else:
            text, found = self.other_text(node, rule)
        if text is None:
            text = rule.default
            if text is None:
                if rule.required:
                    path = _join(prefix, rule.target)
                    line = _line_of(found, node)
                    self.problem("mapping.required", "required value is missing", path, line)
                return
        self.found_at.append((prefix, rule.target, found, node))
        if rule.plain_text:
            value: object = text
        else:
            value = self.converted(text, rule, prefix, found, node)
            if value is None:
                return
        steps = rule.target_steps
        if len(steps) == 1:
            data[steps[0]] = value
        else:
            put_value(data, rule.target, value)

    def other_text(
        self, node: etree._Element, rule: FieldRule
    ) -> tuple[str | None, etree._Element | None]:
        """The text of a field whose path is not one child step (or that is a constant)."""
        if rule.xpath is not None:
            return rule.xpath.first(node, self.index)
        return rule.constant, None

    def build_list(
        self, node: etree._Element, rule: ListRule, prefix: str, data: dict[str, Any]
    ) -> None:
        path = _join(prefix, rule.target)
        built = []
        for index, item in enumerate(rule.each.elements(node, self.index)):
            item_path = f"{path}[{index}]"
            self.found_at.append((prefix, f"{rule.target}[{index}]", item, None))
            built.append(self.build(item, rule.rules, item_path))
        if built:
            put_value(data, rule.target, built)

    def converted(
        self,
        text: str,
        rule: FieldRule,
        prefix: str,
        found: etree._Element | None,
        node: etree._Element,
    ) -> object:
        """The value of a typed or looked-up field; None (and a problem) when the text is bad."""
        try:
            return read_value(text, rule.conversion, self.definition.lookups)
        except UnknownLookupValueError as exc:
            code, message = "mapping.lookup", str(exc)
        except ValueError as exc:
            code, message = "mapping.value", str(exc)
        self.problem(code, message, _join(prefix, rule.target), _line_of(found, node))
        return None

    def line_for(self, path: str, fallback: int | None) -> int | None:
        """Source line of the nearest mapped node at or above a canonical path."""
        lines = {
            _join(prefix, target): _line_of(*where) for prefix, target, *where in self.found_at
        }
        while path:
            if lines.get(path):
                return lines[path]
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
