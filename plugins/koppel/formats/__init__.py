"""Wire formats: hardened XML parsing, XSD validation and the named format registry.

Nothing here imports Airflow; operators hand bytes in and get canonical
documents and problems back (or bytes to deliver).
"""

from __future__ import annotations

from koppel.formats.registry import Format, FormatRegistry, ReadResult, default_registry
from koppel.formats.schema import load_schema, validate
from koppel.formats.xml import DEFAULT_MAX_BYTES, XmlDocumentError, parse_xml
from koppel.mapping import DocumentWriteError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DocumentWriteError",
    "Format",
    "FormatRegistry",
    "ReadResult",
    "XmlDocumentError",
    "default_registry",
    "load_schema",
    "parse_xml",
    "validate",
]
