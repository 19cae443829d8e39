"""The values of a mapping's ``write:`` tree, shared by the XML and JSON writers.

The writer only shapes; it does not judge. The format validates the bytes
against its XSD before they leave. What the writer cannot express at all (a
required value that is missing, a canonical code the reverse lookup does not
know, 1.5 pieces where the wire wants whole ones, documents of one batch that
disagree on a file-level value) is collected over the whole file and raised
once as :class:`DocumentWriteError`, so the stored message shows every reason
together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from koppel.documents import CanonicalModel, Problem
from koppel.errors import FatalSyncError, MappingError
from koppel.mapping.canonical import value_at
from koppel.mapping.definition import Conversion, MappingDefinition, WriteNode
from koppel.mapping.values import format_value, parse_text


class DocumentWriteError(FatalSyncError):
    """A document that this format cannot express; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


class _Batch:
    """The file-level scope of a batch: a value there is the one every document shares."""

    def __init__(self, documents: Sequence[CanonicalModel]) -> None:
        self.documents = documents


_CONFLICT = object()
"""Marks a file-level value the documents of a batch disagree on (already reported)."""


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class WireWriter:
    """Renders one write tree, collecting every problem; the JSON writer shares its values.

    A value's field path (``lines[2].sku``) is spelled out only for a problem.
    """

    def __init__(
        self,
        definition: MappingDefinition,
        context: Mapping[str, str],
        document: CanonicalModel | None,
    ) -> None:
        # The document that ``/`` paths start from: the one being written, or
        # in a batch the one whose record is being rendered.
        self.document: object = document
        self.document_path = ""
        self.context = context
        self.problems: list[Problem] = []
        self.reverse = definition.reverse_lookups

    def problem(self, code: str, message: str, field: str) -> None:
        self.problems.append(Problem(code=code, message=message, field=field))

    def shared(self, batch: _Batch, path: str) -> object:
        """The value at ``path`` that all documents of a batch have (None for no documents)."""
        values: list[object] = []
        for document in batch.documents:
            value = value_at(document, path)
            if value not in values:
                values.append(value)
        if len(values) > 1:
            message = f"one file needs one {path}; the documents have {values[0]!r}, {values[1]!r}"
            self.problem("mapping.batch", message, path)
            return _CONFLICT
        return values[0] if values else None

    def value(self, node: WriteNode, scope: object) -> object:
        """The canonical (or context) value of a valued node."""
        if node.context_key is not None:
            return self.context.get(node.context_key)
        if isinstance(scope, _Batch):
            return self.shared(scope, str(node.source).removeprefix("/"))
        current = self.document if str(node.source).startswith("/") else scope
        for step in node.source_steps:
            if current is None:
                return None
            if isinstance(current, list):
                index = int(step)
                current = current[index] if index < len(current) else None
            else:
                current = getattr(current, step, None)
        return current

    def templated(self, template: tuple[tuple[str, str | None], ...], scope: object) -> str | None:
        """A template's text with each placeholder's wire text; None when a value is missing."""
        parts: list[str] = []
        for literal, path in template:
            parts.append(literal)
            if path is None:
                continue
            start = self.document if path.startswith("/") else scope
            value = value_at(start, path.removeprefix("/"))
            if value is None:
                return None
            parts.append(format_value(value, Conversion()))
        return "".join(parts)

    def field(self, node: WriteNode, scope: object, scope_path: str) -> str:
        """The field path a problem about a valued node names."""
        if node.context_key is not None:
            return f"context.{node.context_key}"
        if node.template is not None:  # the object whose fields it joins
            return scope_path or "."
        source = str(node.source)
        if isinstance(scope, _Batch):
            return source.removeprefix("/")
        if source.startswith("/"):
            return _join(self.document_path, source[1:])
        return _join(scope_path, source)

    def plain_text(self, node: WriteNode, scope: object, scope_path: str) -> str | None:
        """:meth:`text`, the short way for the common node (a plain ``from`` to a value
        its type can write); any other case, and every problem, goes the long way."""
        if node.plain_source and not isinstance(scope, _Batch):
            value = scope
            for step in node.source_steps:
                value = getattr(value, step, None)
            if value is not None:
                if node.conversion.type == "str" and type(value) is str:
                    return value
                try:
                    return format_value(value, node.conversion)
                except ValueError:
                    pass  # reported by the long way
        return self.text(node, scope, scope_path)

    def text(self, node: WriteNode, scope: object, scope_path: str) -> str | None:
        if node.template is not None:
            value: object = self.templated(node.template, scope)
        elif node.source is None and node.context_key is None:
            return node.constant
        else:
            value = self.value(node, scope)
        if value is None:
            if node.default is None and node.required:
                code = "mapping.context" if node.context_key else "mapping.required"
                message = f"required value for {node.name} is missing"
                self.problem(code, message, self.field(node, scope, scope_path))
            return node.default
        if value is _CONFLICT:
            return None
        try:
            text = self.formatted(node, value)
        except ValueError as exc:
            self.problem("mapping.value", str(exc), self.field(node, scope, scope_path))
            return None
        if node.conversion.lookup is None:
            return text
        return self.looked_up(text, node, scope, scope_path)

    def looked_up(self, text: str, node: WriteNode, scope: object, scope_path: str) -> str | None:
        """The wire code for a canonical code, through the node's lookup read backwards."""
        lookup = str(node.conversion.lookup)
        reverse = self.reverse[lookup]
        if text not in reverse:
            message = f"{text!r} not in lookup {lookup!r}; known: {sorted(reverse)}"
            self.problem("mapping.lookup", message, self.field(node, scope, scope_path))
            return None
        return reverse[text]

    def formatted(self, node: WriteNode, value: object) -> str:
        """The wire text of a value; raises ValueError when the type cannot hold it."""
        if node.conversion.type == "str" and type(value) is str:
            return value  # the common case, before any of format_value's checks
        if node.context_key is not None and node.conversion.type != "str":
            # Context values are text; a typed node reads them as ISO text first.
            value = parse_text(str(value), Conversion(type=node.conversion.type))
        return format_value(value, node.conversion)


def batch_of(documents: Sequence[CanonicalModel]) -> object:
    """The scope of a whole batch: file-level values there are the ones every document shares."""
    return _Batch(documents)


def node_scopes(node: WriteNode, scope: object, path: str) -> list[tuple[object, str]]:
    """The scopes (with their canonical paths) a node is rendered in: one, or one per item."""
    if node.record and isinstance(scope, _Batch):
        return [(document, f"[{index}]") for index, document in enumerate(scope.documents)]
    if node.each is None:
        return [(scope, path)]
    found = value_at(scope, node.each)
    each_path = _join(path, node.each)
    return [
        (item, f"{each_path}[{index}]")
        for index, item in enumerate(found if isinstance(found, list) else [])
        if _selected(item, node.where)
    ]


def _selected(item: object, where: tuple[tuple[str, str], ...]) -> bool:
    """True when every ``where`` condition holds for a list item (compared as wire text)."""
    for path, wanted in where:
        value = value_at(item, path)
        if value is None or format_value(value, Conversion()) != wanted:
            return False
    return True


def write_root(definition: MappingDefinition, documents: Sequence[CanonicalModel]) -> WriteNode:
    """The mapping's ``write:`` root, once every document is known to be of its class."""
    root = definition.write
    if root is None:
        raise MappingError(
            f"{definition.source}: write: format {definition.name} cannot be written"
        )
    for document in documents:
        if not isinstance(document, definition.document_class):
            expected = definition.document_class.__name__
            message = f"expects {expected}, got {type(document).__name__}"
            raise MappingError(f"{definition.source}: document: {message}")
    return root
