"""Write one canonical document as a JSON body with a mapping's ``write: {json: ...}`` template.

Values are found, defaulted, looked up and checked exactly as for XML (the
same :class:`~koppel.mapping.writer.WireWriter`), then typed for JSON: ``int``
becomes a number, ``bool`` true/false, and everything else a string;
decimals are strings on purpose, so no amount ever passes through a binary
float on either side. Keys keep the template's order and the output is
UTF-8 without ASCII escapes, so the same document always gives the same
bytes (and the same checksum in the store).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from koppel.documents import CanonicalModel
from koppel.mapping.definition import Conversion, MappingDefinition, WriteNode
from koppel.mapping.writer import DocumentWriteError, WireWriter, node_scopes, write_root

_ABSENT = object()
"""What a node renders to when its key is to be left out."""


def _typed(text: str, conversion: Conversion) -> object:
    """The JSON value for wire text: a number for int, a boolean for bool, else the text."""
    if conversion.type == "int" and conversion.lookup is None:
        return int(text)
    if conversion.type == "bool" and conversion.lookup is None:
        return text == "true"
    return text


class _JsonWriter(WireWriter):
    def nothing(self, node: WriteNode) -> object:
        """What a node without content writes: null when asked for, else nothing."""
        return None if node.null else _ABSENT

    def rendered(self, node: WriteNode, scope: object, path: str) -> object:
        """The JSON value of ``node`` (an array when it has ``each``), or ``_ABSENT``."""
        if node.each is None:
            return self.item(node, scope, path)
        scopes = node_scopes(node, scope, path)
        values = [self.item(node, item, item_path) for item, item_path in scopes]
        present = [value for value in values if value is not _ABSENT]
        return present if present or node.required else self.nothing(node)

    def item(self, node: WriteNode, scope: object, path: str) -> object:
        if not node.wanted(scope, self.document):
            return _ABSENT  # left out, not null: the condition says the key does not apply
        if node.has_value:
            text = self.text(node, scope, path)
            return self.nothing(node) if text is None else _typed(text, node.conversion)
        body: dict[str, object] = {}
        for child in node.children:
            value = self.rendered(child, scope, path)
            if value is not _ABSENT:
                body[child.name] = value
        return body if body or node.required else self.nothing(node)


def write_json_document(
    definition: MappingDefinition, document: CanonicalModel, *, context: Mapping[str, str]
) -> bytes:
    """The JSON body (UTF-8 bytes, two-space indent, final newline) for one document.

    Args:
        definition: A loaded ``syntax: json`` mapping with a ``write:`` half.
        document: An instance of the mapping's document class.
        context: Delivery values the document does not hold.

    Raises:
        MappingError: When the mapping cannot write or the document is of another class.
        DocumentWriteError: Listing every value the document cannot supply.
    """
    root = write_root(definition, [document])
    writer = _JsonWriter(definition, context, document)
    body = writer.item(root, document, "")
    if writer.problems:
        raise DocumentWriteError(writer.problems)
    text = json.dumps(body, ensure_ascii=False, indent=2)
    return f"{text}\n".encode()
