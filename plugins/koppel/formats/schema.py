"""XSD validation that reports every error, each with its line and element path.

A partner fixing a rejected file wants the whole list at once, not the first
error per attempt, so :func:`validate` turns the schema's complete error log
into problems. Schemas are compiled once per path: compiling is far slower
than validating.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from lxml import etree

from koppel.documents import Problem
from koppel.errors import ConfigError

# An XMLSchema keeps its error log on the object, so two threads validating
# with one schema at once would mix their errors; this lock keeps them apart.
_VALIDATION_LOCK = threading.Lock()


@lru_cache(maxsize=64)
def _load(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    try:
        return etree.XMLSchema(etree.parse(str(path), parser))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ConfigError(f"{path}: cannot load XML schema: {exc}") from exc


def load_schema(path: Path) -> etree.XMLSchema:
    """The compiled schema at ``path``, loaded once; includes resolve relative to it.

    Raises:
        ConfigError: When the file is missing or is not a valid XSD.
    """
    return _load(path.resolve())


def _readable_path(tree: etree._ElementTree, raw_path: str | None) -> str | None:
    """Turn libxml2's ``/*/*[2]`` into ``/Orders/Order[2]`` so a person can follow it."""
    if not raw_path:
        return None
    try:
        found = tree.xpath(raw_path)
    except etree.XPathError:
        return raw_path
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return raw_path
    steps: list[str] = []
    element: etree._Element | None = found[0]
    while element is not None:
        name = etree.QName(element).localname
        parent = element.getparent()
        siblings = [] if parent is None else [c for c in parent if c.tag == element.tag]
        steps.append(f"{name}[{siblings.index(element) + 1}]" if len(siblings) > 1 else name)
        element = parent
    return "/" + "/".join(reversed(steps))


def validate(tree: etree._ElementTree, schema: etree.XMLSchema, *, source: str) -> list[Problem]:
    """Every schema violation in ``tree`` as a problem (code ``xsd.invalid``).

    Args:
        tree: A document parsed with :func:`koppel.formats.xml.parse_xml`.
        schema: A schema from :func:`load_schema`.
        source: Name of the file or message, recorded on each problem.

    Returns:
        An empty list when the document is valid.
    """
    with _VALIDATION_LOCK:
        if schema.validate(tree):
            return []
        entries = list(schema.error_log)
    return [
        Problem(
            code="xsd.invalid",
            message=entry.message,
            file=source,
            line=entry.line or None,
            field=_readable_path(tree, entry.path),
        )
        for entry in entries
    ]
