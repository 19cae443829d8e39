"""The declarative mapping engine: wire XML or JSON to canonical documents and back.

A format is one YAML file in ``include/mappings/`` naming its canonical
document class, its XSD, a ``read:`` half (XPath rules building canonical
fields) and/or a ``write:`` half (a tree of wire elements taking values from
canonical paths, the delivery context or constants; one ``record`` node makes
it a batch of many documents per file), plus lookup tables. The
engine knows nothing about orders: products, stock and status updates use
the same rules. A mapping with ``syntax: json`` does the same for JSON
bodies (:mod:`koppel.mapping.json_spec`). It imports nothing from Airflow.
"""

from __future__ import annotations

from koppel.mapping.definition import MappingDefinition
from koppel.mapping.json_reader import read_json_documents
from koppel.mapping.json_writer import write_json_document
from koppel.mapping.loader import load_mapping
from koppel.mapping.reader import read_documents
from koppel.mapping.writer import DocumentWriteError
from koppel.mapping.xml_writer import (
    document_tree,
    documents_tree,
    serialize,
    write_document,
    write_documents,
)

__all__ = [
    "DocumentWriteError",
    "MappingDefinition",
    "document_tree",
    "documents_tree",
    "load_mapping",
    "read_documents",
    "read_json_documents",
    "serialize",
    "write_document",
    "write_documents",
    "write_json_document",
]
