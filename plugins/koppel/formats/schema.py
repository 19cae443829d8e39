"""XSD validation that reports every error, each with its line and element path.

A partner fixing a rejected file wants the whole list at once, not the first
error per attempt, so :func:`validate` turns the schema's complete error log
into problems: the first 100 one by one, the rest counted, so that a file
with thousands of errors costs about what libxml2 needs to find them.
lxml's own tree validation names the node of every error at a cost that
grows with its preceding siblings, quadratic for a long run of bad
siblings, so it runs only where that cost is bounded; other files are
located by :mod:`koppel.formats.streamed` in linear time.
Schemas are compiled once per path: compiling is far slower than validating.
A document of another type gets one problem naming the root it has and the
root(s) the schema declares, instead of libxml2's "no matching global
declaration".
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from math import isqrt
from pathlib import Path

from lxml import etree

from koppel.documents import PROBLEM_LIMIT, Problem, cap_problems
from koppel.errors import ConfigError
from koppel.formats.paths import ReadablePaths
from koppel.formats.streamed import XsdError, count_errors, first_errors

# An XMLSchema keeps its error log on the object, so two threads validating
# with one schema at once would mix their errors; this lock keeps them apart.
_VALIDATION_LOCK = threading.Lock()

# Sibling steps lxml may take to name the nodes of all errors of a tree
# validation: errors times the longest run of siblings bounds them (per
# level; runs that wide on several levels at once need a far larger file).
# 10^8 steps take about a quarter of a second here (20,000 errors among
# 20,000 siblings, 4 * 10^8, took 0.95 s) and admit 8,000 bad products of
# one stock file (6.4 * 10^7), keeping lxml's own locations for them.
_PATH_STEP_BUDGET = 100_000_000
#: A document with this few elements and attributes cannot exceed the budget (errors and
#: siblings are each at most that many), so it goes straight to lxml's tree validation.
_SMALL_DOCUMENT = isqrt(_PATH_STEP_BUDGET)
#: The fewest bytes an element (``<a/>``), attribute (`` a=""``), comment or processing
#: instruction takes when serialized: a document of N bytes has at most N / 4 of them.
_MIN_SITE_BYTES = 4

_XSD = "{http://www.w3.org/2001/XMLSchema}"
_SCHEMA_REFERENCES = (f"{_XSD}include", f"{_XSD}redefine", f"{_XSD}import")


class Schema(etree.XMLSchema):  # type: ignore[misc]  # lxml ships no type stubs
    """A compiled XSD that also knows which root elements it accepts.

    ``roots`` holds the global element declarations in Clark notation
    (``{namespace}name``), read from the XSD once, for the message that
    names the expected root of a document of the wrong type.
    """

    def __init__(self, document: etree._ElementTree, roots: tuple[str, ...]) -> None:
        super().__init__(document)
        self.roots = roots


def _parse_xsd(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.parse(str(path), parser)


def _global_elements(
    document: etree._ElementTree, path: Path, namespace: str | None, seen: set[Path]
) -> list[str]:
    """Clark names of the top-level ``xs:element`` declarations here and in referenced XSDs.

    An included schema without a target namespace takes the including one's
    (a "chameleon" include); an imported one keeps its own.
    """
    seen.add(path)
    root = document.getroot()
    namespace = root.get("targetNamespace", namespace)
    prefix = f"{{{namespace}}}" if namespace else ""
    names = [f"{prefix}{el.get('name')}" for el in root.iterchildren(f"{_XSD}element")]
    for reference in root.iterchildren(*_SCHEMA_REFERENCES):
        location = reference.get("schemaLocation")
        target = (path.parent / location).resolve() if location else None
        if target is None or target in seen or not target.is_file():
            continue
        inherited = None if reference.tag == f"{_XSD}import" else namespace
        names += _global_elements(_parse_xsd(target), target, inherited, seen)
    return names


@lru_cache(maxsize=64)
def _load(path: Path) -> Schema:
    try:
        document = _parse_xsd(path)
        return Schema(document, tuple(_global_elements(document, path, None, set())))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ConfigError(f"{path}: cannot load XML schema: {exc}") from exc


#: Schemas by the absolute path they were asked for: resolving symlinks takes a system
#: call per path component, too slow to repeat for every document.
_BY_PATH: dict[Path, Schema] = {}


def load_schema(path: Path) -> Schema:
    """The compiled schema at ``path``, loaded once; includes resolve relative to it.

    Raises:
        ConfigError: When the file is missing or is not a valid XSD.
    """
    schema = _BY_PATH.get(path)
    if schema is None:
        schema = _load(path.resolve())
        if path.is_absolute():  # a relative path means another file after a chdir
            _BY_PATH[path] = schema
    return schema


def _readable_names(names: Sequence[str]) -> str:
    """``<A>, <B> in namespace urn:…`` for Clark names: local names grouped by namespace.

    The namespace is spelled out because a root with the right local name in
    the wrong (or no) namespace is a common mistake that ``<Orders>`` alone
    would hide.
    """
    groups: dict[str | None, list[str]] = {}
    for name in names:
        qname = etree.QName(name)
        groups.setdefault(qname.namespace, []).append(f"<{qname.localname}>")
    return " or ".join(
        f"{', '.join(locals_)} in namespace {namespace}"
        if namespace
        else f"{', '.join(locals_)} without a namespace"
        for namespace, locals_ in groups.items()
    )


def _wrong_root(
    tree: etree._ElementTree, schema: Schema, source: str, format_name: str | None
) -> Problem:
    """The document's root is no element the schema declares: say which it is and which fit."""
    root = tree.getroot()
    who = f"format {format_name}" if format_name else "the schema"
    expected = schema.roots
    wants = ("one of " if len(expected) > 1 else "") + _readable_names(expected)
    return Problem(
        code="xsd.wrong_root",
        message=f"the document is a {_readable_names([root.tag])}, but {who} expects {wants}",
        file=source,
        line=root.sourceline,
    )


def _is_wrong_root(error: XsdError) -> bool:
    """True for libxml2's "no matching global declaration" on the document element itself.

    The same error type also marks an undeclared element under a strict
    wildcard deeper down, which is an ordinary ``xsd.invalid``.
    """
    is_root = error.path is not None and error.path.count("/") == 1
    return bool(error.type == etree.ErrorTypes.SCHEMAV_CVC_ELT_1 and is_root)


def _has_at_most(tree: etree._ElementTree, sites: int) -> bool:
    """Whether ``tree`` has no more than ``sites`` elements and attributes (where errors are).

    Counts no further than that, so asking costs little on a big document.
    """
    seen = 0
    for node in tree.getroot().iter():
        seen += 1 + len(node.attrib)
        if seen > sites:
            return False
    return True


def _widest_run(tree: etree._ElementTree) -> int:
    """The most children any node of ``tree`` has."""
    return max(len(node) for node in tree.getroot().iter())


def _by_tree_validation(
    tree: etree._ElementTree, schema: Schema, limit: int
) -> tuple[list[XsdError], int]:
    """lxml's own located errors (the first ``limit``) and how many there are in all."""
    with _VALIDATION_LOCK:
        schema.validate(tree)
        entries = list(schema.error_log)
    first = [XsdError(e.type, e.message, e.line or None, e.path) for e in entries[:limit]]
    return first, len(entries)


def validate(
    tree: etree._ElementTree,
    schema: Schema,
    *,
    source: str,
    format_name: str | None = None,
    limit: int = PROBLEM_LIMIT,
    size: int | None = None,
) -> list[Problem]:
    """The schema violations in ``tree`` as problems (code ``xsd.invalid``), capped.

    libxml2 validates the whole document; the first ``limit`` violations
    become problems with line and readable path, the rest are counted in one
    ``problems.truncated`` problem (see :func:`~koppel.documents.cap_problems`).
    A root element the schema does not declare gives one ``xsd.wrong_root``
    problem instead, naming the root found and the one(s) expected.

    Args:
        tree: A document parsed with :func:`koppel.formats.xml.parse_xml`.
        schema: A schema from :func:`load_schema`.
        source: Name of the file or message, recorded on each problem.
        format_name: The format the document was given to, named in ``xsd.wrong_root``.
        limit: How many violations to report one by one.
        size: The document's size in bytes, when known: a small one needs no
            count of its elements to be known small.

    Returns:
        An empty list when the document is valid.
    """
    small = size is not None and size <= _MIN_SITE_BYTES * _SMALL_DOCUMENT
    if small or _has_at_most(tree, _SMALL_DOCUMENT):
        first, total = _by_tree_validation(tree, schema, limit)
    else:
        data = etree.tostring(tree, encoding="utf-8")
        total = count_errors(data, schema)
        if total and total * _widest_run(tree) <= _PATH_STEP_BUDGET:
            first, total = _by_tree_validation(tree, schema, limit)
        elif total:
            first = first_errors(tree, data, schema, limit)
    if total == 0:
        return []
    if _is_wrong_root(first[0]):  # libxml2 then stops: it is the only error
        return [_wrong_root(tree, schema, source, format_name)]
    paths = ReadablePaths(tree)
    kept = [_problem(error, source, paths.readable(error.path)) for error in first]
    # The summary of the others counts codes, severities and files only,
    # which every XSD error shares: one stand-in serves for all of them.
    counted = [_problem(first[-1], source, None)] * (total - len(kept))
    return cap_problems(kept + counted, limit)


def _problem(error: XsdError, source: str, field: str | None) -> Problem:
    return Problem(
        code="xsd.invalid",
        message=error.message,
        file=source,
        line=error.line,
        field=field,
    )
