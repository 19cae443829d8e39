"""Read canonical documents out of a parsed JSON body with a mapping's ``read:`` rules.

As on the XML side, bad data is reported, never raised, and a record with an
error yields no document. JSON has no useful line numbers once parsed, so a
problem's ``field`` is the JSON path in the body (``orders[2].lines[0].quantity``)
instead: that is what a partner can find in their payload. Where pydantic
objects to a canonical field that came from no single JSON value, the
problem points at the nearest JSON value it came from and names the
canonical field in its message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from koppel.documents import CanonicalModel, Problem
from koppel.errors import MappingError
from koppel.mapping.definition import (
    JsonFieldRule,
    JsonListRule,
    JsonReadRule,
    MappingDefinition,
)
from koppel.mapping.jsonpath import JsonPathError, join_path, kind_of
from koppel.mapping.reader import loc_path, put_value
from koppel.mapping.values import UnknownLookupValueError, read_value


def _text(value: object) -> str | None:
    """Wire text for a JSON scalar, as the XML side sees element text (stripped; "" is None).

    Raises:
        ValueError: For an object or array where one value was expected.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value.strip() or None
    raise ValueError(f"expected a single value, got {kind_of(value)}")


def _has_value(value: object) -> bool:
    """Whether an ``if:`` path holds: not absent, ``null``, blank text, ``[]`` or ``{}``."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return value is not None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _JsonRecordReader:
    """Builds one document's data from one JSON record, remembering where each value came from."""

    def __init__(self, definition: MappingDefinition, source: str, record_path: str) -> None:
        self.definition = definition
        self.source = source
        self.record_path = record_path
        self.problems: list[Problem] = []
        self.reported: set[str] = set()
        """Canonical paths already explained by a problem, so pydantic does not repeat them."""
        self.origins: dict[str, str] = {}
        """Canonical path -> JSON path of the value (or list item) it was read from."""

    def problem(self, code: str, message: str, field: str, canonical: str = "") -> None:
        self.reported.add(canonical)
        self.problems.append(Problem(code=code, message=message, file=self.source, field=field))

    def build(
        self,
        node: object,
        wire_path: str,
        rules: tuple[JsonFieldRule | JsonListRule, ...],
        prefix: str,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for rule in rules:
            path = _join(prefix, rule.target)
            if isinstance(rule, JsonListRule):
                built = self.items(node, wire_path, rule, path)
                if built:
                    put_value(data, rule.target, built)
                continue
            value = self.field(node, wire_path, rule, path)
            if value is not None:
                put_value(data, rule.target, value)
        return data

    def items(
        self, node: object, wire_path: str, rule: JsonListRule, path: str
    ) -> list[dict[str, Any]]:
        try:
            if rule.when is not None and not _has_value(rule.when.resolve(node, wire_path)[0]):
                return []
            found, where = rule.each.resolve(node, wire_path)
        except JsonPathError as exc:
            self.problem("mapping.value", str(exc), exc.where, path)
            return []
        if rule.is_self:
            found = [found]  # the current object (an array item or record) is the one item
        elif found is not None and not isinstance(found, list):
            self.problem("mapping.value", f"expected an array, got {kind_of(found)}", where, path)
            return []
        built = []
        for index, item in enumerate(found or []):
            item_where = where if rule.is_self else join_path(where, index)
            self.origins[f"{path}[{index}]"] = item_where
            built.append(self.build(item, item_where, rule.rules, f"{path}[{index}]"))
        return built

    def field(self, node: object, wire_path: str, rule: JsonFieldRule, path: str) -> object:
        where = wire_path
        try:
            if rule.path is None:
                text = rule.constant
            else:
                found, where = rule.path.resolve(node, wire_path)
                text = _text(found)
        except (JsonPathError, ValueError) as exc:
            self.problem("mapping.value", str(exc), getattr(exc, "where", where), path)
            return None
        text = text if text is not None else rule.default
        if text is None:
            if rule.required:
                self.problem("mapping.required", "required value is missing", where, path)
            return None
        self.origins[path] = where
        return self.converted(text, rule, where, path)

    def converted(self, text: str, rule: JsonFieldRule, where: str, path: str) -> object:
        try:
            return read_value(text, rule.conversion, self.definition.lookups)
        except UnknownLookupValueError as exc:
            self.problem("mapping.lookup", str(exc), where, path)
            return None
        except ValueError as exc:
            self.problem("mapping.value", str(exc), where, path)
            return None

    def origin_of(self, path: str) -> str | None:
        """JSON path of the value a canonical path came from, or of its nearest mapped parent."""
        while path:
            if path in self.origins:
                return self.origins[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    def validated(self, data: dict[str, Any]) -> CanonicalModel | None:
        try:
            return self.definition.document_class.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                path = loc_path(error["loc"])
                if path in self.reported:  # already explained, e.g. the lookup that left it empty
                    continue
                where = self.origin_of(path)
                message = error["msg"] if where else f"{path}: {error['msg']}"
                self.problem("mapping.invalid", message, where or self.record_path)
            return None


def _records(rule: JsonReadRule, body: object) -> tuple[list[tuple[object, str]], list[Problem]]:
    """The record values with their JSON paths, or the problem that the body has none."""
    try:
        found, where = rule.record.resolve(body, "")
    except JsonPathError as exc:
        return [], [Problem(code="mapping.record", message=str(exc), field=exc.where or None)]
    if found is None:
        return [], []
    if isinstance(found, dict):
        return [(found, where)], []
    if not isinstance(found, list):
        message = f"expected an array of records, got {kind_of(found)}"
        return [], [Problem(code="mapping.record", message=message, field=where or None)]
    return [(item, join_path(where, index)) for index, item in enumerate(found)], []


def read_json_documents(
    definition: MappingDefinition, body: object, *, source: str
) -> tuple[list[CanonicalModel], list[Problem]]:
    """Every document at the mapping's ``record`` path in a parsed JSON ``body``, plus problems.

    ``record`` naming an array gives one document per item; naming an
    object, that one document; naming nothing, none.

    Args:
        definition: A loaded ``syntax: json`` mapping with a ``read:`` half.
        body: The value :func:`koppel.formats.jsondoc.parse_json` returned.
        source: Name of the file or message, recorded on each problem.

    Raises:
        MappingError: When the mapping has no JSON ``read:`` half.
    """
    rule = definition.read
    if not isinstance(rule, JsonReadRule):
        message = f"format {definition.name} cannot be read as JSON"
        raise MappingError(f"{definition.source}: read: {message}")
    records, problems = _records(rule, body)
    problems = [problem.model_copy(update={"file": source}) for problem in problems]
    documents: list[CanonicalModel] = []
    for record, where in records:
        reader = _JsonRecordReader(definition, source, where)
        if not isinstance(record, dict):
            reader.problem("mapping.record", f"expected an object, got {kind_of(record)}", where)
        else:
            document = reader.validated(reader.build(record, where, rule.rules, ""))
            if document is not None and not reader.problems:
                documents.append(document)
        problems.extend(reader.problems)
    return documents, problems
