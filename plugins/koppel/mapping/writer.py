"""Write a canonical document as wire XML with a mapping's ``write:`` tree.

The writer only shapes; it does not judge. The format validates the bytes
against its XSD before they leave. What the writer cannot express at all (a
required value that is missing, a canonical code the reverse lookup does not
know, 1.5 pieces where the wire wants whole ones) is collected over the whole
document and raised once as :class:`DocumentWriteError`, so the stored
message shows every reason together.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from koppel.documents import CanonicalModel, Problem
from koppel.errors import FatalSyncError, MappingError
from koppel.mapping.canonical import value_at
from koppel.mapping.definition import Conversion, MappingDefinition, WriteNode
from koppel.mapping.values import format_value


class DocumentWriteError(FatalSyncError):
    """A document that this format cannot express; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Writer:
    def __init__(
        self, definition: MappingDefinition, document: CanonicalModel, context: Mapping[str, str]
    ) -> None:
        self.document = document
        self.context = context
        self.problems: list[Problem] = []
        # Reverse tables: the first wire code listed for a canonical code wins.
        self.reverse: dict[str, dict[str, str]] = {}
        for name, table in definition.lookups.items():
            reverse: dict[str, str] = {}
            for wire, canonical in table.items():
                reverse.setdefault(canonical, wire)
            self.reverse[name] = reverse

    def problem(self, code: str, message: str, field: str) -> None:
        self.problems.append(Problem(code=code, message=message, field=field))

    def text(self, node: WriteNode, scope: object, scope_path: str) -> str | None:
        value: object
        if node.context_key is not None:
            value, field = self.context.get(node.context_key), f"context.{node.context_key}"
        elif node.source is not None and node.source.startswith("/"):
            value, field = value_at(self.document, node.source[1:]), node.source[1:]
        elif node.source is not None:
            value, field = value_at(scope, node.source), _join(scope_path, node.source)
        else:
            return node.constant
        if value is None:
            if node.default is None and node.required:
                code = "mapping.context" if node.context_key else "mapping.required"
                self.problem(code, f"required value for {node.name} is missing", field)
            return node.default
        try:
            text = format_value(value, node.conversion)
        except ValueError as exc:
            self.problem("mapping.value", str(exc), field)
            return None
        lookup = node.conversion.lookup
        if lookup is None:
            return text
        if text not in self.reverse[lookup]:
            known = sorted(self.reverse[lookup])
            self.problem(
                "mapping.lookup", f"{text!r} not in lookup {lookup!r}; known: {known}", field
            )
            return None
        return self.reverse[lookup][text]

    def fill(self, element: etree._Element, node: WriteNode, scope: object, path: str) -> bool:
        """Give ``element`` its text and children; False when it ends up with nothing."""
        if node.has_value:
            text = self.text(node, scope, path)
            if text is None:
                return False
            element.text = text
        for child in node.children:
            self.render(child, scope, path, element)
        return node.has_value or node.required or len(element) > 0 or bool(element.attrib)

    def render(self, node: WriteNode, scope: object, path: str, parent: etree._Element) -> None:
        for item, item_path in _scopes(node, scope, path):
            if node.is_attribute:
                text = self.text(node, item, item_path)
                if text is not None:
                    parent.set(node.name, text)
                continue
            element = etree.Element(node.name)
            if self.fill(element, node, item, item_path):
                parent.append(element)


def _scopes(node: WriteNode, scope: object, path: str) -> list[tuple[object, str]]:
    """The scopes (with their canonical paths) a node is rendered in: one, or one per item."""
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


def _nsmap(definition: MappingDefinition, root_name: str) -> dict[str | None, str]:
    """The root's namespace as the default, every other declared namespace by its prefix."""
    root_namespace = etree.QName(root_name).namespace
    nsmap: dict[str | None, str] = {
        prefix: uri for prefix, uri in definition.namespaces.items() if uri != root_namespace
    }
    if root_namespace:
        nsmap[None] = root_namespace
    return nsmap


def write_document(
    definition: MappingDefinition, document: CanonicalModel, *, context: Mapping[str, str]
) -> bytes:
    """The wire bytes (UTF-8, with XML declaration) for one canonical document.

    Args:
        definition: A loaded mapping with a ``write:`` half.
        document: An instance of the mapping's document class.
        context: Delivery values the document does not hold, e.g. ``origin``.

    Raises:
        MappingError: When the mapping cannot write or the document is of another class.
        DocumentWriteError: When the document cannot be expressed in the format.
    """
    root = definition.write
    if root is None:
        raise MappingError(
            f"{definition.source}: write: format {definition.name} cannot be written"
        )
    if not isinstance(document, definition.document_class):
        message = f"expects {definition.document_class.__name__}, got {type(document).__name__}"
        raise MappingError(f"{definition.source}: document: {message}")
    writer = _Writer(definition, document, context)
    element = etree.Element(root.name, nsmap=_nsmap(definition, root.name))
    writer.fill(element, root, document, "")
    if writer.problems:
        raise DocumentWriteError(writer.problems)
    data: bytes = etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data
