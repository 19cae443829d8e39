"""Wire formats: hardened XML/JSON parsing, schema validation and the named format registry.

Nothing here imports Airflow; operators hand bytes in and get canonical
documents and problems back (or bytes to deliver).
"""

from __future__ import annotations

from koppel.formats.canonical import CANONICAL_CLASSES, CanonicalFormat
from koppel.formats.json_schema import load_json_schema, validate_json
from koppel.formats.jsondoc import JsonDocumentError, parse_json
from koppel.formats.registry import Format, FormatRegistry, ReadResult, default_registry
from koppel.formats.schema import load_schema, validate
from koppel.formats.xml import DEFAULT_MAX_BYTES, XmlDocumentError, parse_xml
from koppel.mapping import DocumentWriteError

__all__ = [
    "CANONICAL_CLASSES",
    "DEFAULT_MAX_BYTES",
    "CanonicalFormat",
    "DocumentWriteError",
    "Format",
    "FormatRegistry",
    "JsonDocumentError",
    "ReadResult",
    "XmlDocumentError",
    "default_registry",
    "load_json_schema",
    "load_schema",
    "parse_json",
    "parse_xml",
    "validate",
    "validate_json",
]
