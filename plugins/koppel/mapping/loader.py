"""Load and check a mapping file: every mistake is found here, naming the file and key.

A mapping is read once when its format is first used, and a typo in it must
stop that moment with ``<file>: <key>: <reason>``, not surface as an odd
``None`` in the thousandth order. So the loader checks every canonical field
against the pydantic model, compiles every XPath with the file's namespaces
(and evaluates it once to catch unknown prefixes), and converts every
constant and default with its declared type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from koppel.documents import DOCUMENT_TYPES
from koppel.errors import MappingError
from koppel.mapping.checks import SpecContext
from koppel.mapping.definition import (
    SCHEMATRON_RULE_SETS,
    FieldRule,
    JsonReadRule,
    ListRule,
    MappingDefinition,
    ReadRule,
    SchematronRef,
    Syntax,
    WriteNode,
)
from koppel.mapping.json_spec import JsonTemplateLoader, json_read_rule
from koppel.mapping.read_rules import RuleKinds, read_rules
from koppel.mapping.writer_spec import WriteSpecLoader

_TOP_KEYS = frozenset(
    {
        "format",
        "description",
        "document",
        "schema",
        "syntax",
        "validate",
        "namespaces",
        "read",
        "write",
        "lookups",
        "write_lookups",
        "schematron",
    }
)
_FIELD_KEYS = frozenset({"path", "value", "type", "format", "default", "lookup", "required"})


def _field_rule(ctx: SpecContext, target: str, spec: dict[str, Any], key: str) -> FieldRule:
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise ctx.error(key, f"unknown option(s) {sorted(unknown)}; known: {sorted(_FIELD_KEYS)}")
    if ("path" in spec) == ("value" in spec):
        raise ctx.error(key, "give exactly one of 'path' or 'value'")
    conversion = ctx.conversion(spec, key, places=False)
    return FieldRule(
        target=target,
        conversion=conversion,
        xpath=ctx.node_path(spec["path"], f"{key}.path") if "path" in spec else None,
        constant=ctx.typed(spec.get("value"), conversion, f"{key}.value"),
        default=ctx.typed(spec.get("default"), conversion, f"{key}.default"),
        required=bool(spec.get("required", False)),
    )


#: XML read rules: XPath paths, ``FieldRule`` and ``ListRule``.
_XML_KINDS = RuleKinds(
    path=lambda ctx, raw, key: ctx.node_path(raw, key),
    field_rule=_field_rule,
    list_rule=lambda ctx, parts: ListRule(target=parts.target, each=parts.each, rules=parts.rules),
)


def _read_rule(ctx: SpecContext, raw: object, model: type[Any]) -> ReadRule:
    spec = ctx.mapping(raw, "read")
    if set(spec) != {"record", "fields"}:
        raise ctx.error("read", "expected exactly 'record' and 'fields'")
    record = ctx.xpath(spec["record"], "read.record")
    return ReadRule(
        record=record, rules=read_rules(ctx, model, spec["fields"], "read.fields", _XML_KINDS)
    )


def _lookups(ctx: SpecContext, raw: object) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for name, table in ctx.mapping(raw or {}, "lookups").items():
        entries = ctx.mapping(table, f"lookups.{name}")
        tables[str(name)] = {
            str(ctx.scalar(wire, f"lookups.{name}")): str(
                ctx.scalar(value, f"lookups.{name}.{wire}")
            )
            for wire, value in entries.items()
        }
    return tables


def _write_lookups(ctx: SpecContext, raw: object) -> dict[str, dict[str, str]]:
    """The ``write_lookups`` tables: each names a ``lookups`` table and maps canonical codes
    to the wire codes it must be written as; a wire code the table cannot read back is
    refused, so what is written can always be read."""
    tables: dict[str, dict[str, str]] = {}
    for name, table in ctx.mapping(raw or {}, "write_lookups").items():
        key = f"write_lookups.{name}"
        if name not in ctx.lookups:
            raise ctx.error(key, f"no lookup table named {name!r} to write differently")
        entries: dict[str, str] = {}
        for canonical, wire in ctx.mapping(table, key).items():
            wire_text = str(ctx.scalar(wire, f"{key}.{canonical}"))
            if wire_text not in ctx.lookups[name]:
                raise ctx.error(f"{key}.{canonical}", f"{wire_text!r} is not a wire code of {name}")
            entries[str(ctx.scalar(canonical, key))] = wire_text
        tables[str(name)] = entries
    return tables


def _document_class(ctx: SpecContext, raw: dict[str, Any]) -> type[Any]:
    name = raw.get("document")
    if name not in DOCUMENT_TYPES:
        raise ctx.error("document", f"unknown document {name!r}; known: {sorted(DOCUMENT_TYPES)}")
    return DOCUMENT_TYPES[name]


def _read_yaml(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: cannot read mapping: {exc}") from exc
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: a mapping file must be a YAML mapping")
    return cast(dict[str, Any], raw)


def _syntax(ctx: SpecContext, raw: dict[str, Any]) -> Syntax:
    syntax = raw.get("syntax", "xml")
    if syntax not in ("xml", "json"):
        raise ctx.error("syntax", f"expected 'xml' or 'json', got {syntax!r}")
    if syntax == "json" and ("namespaces" in raw or "validate" in raw):
        key = "namespaces" if "namespaces" in raw else "validate"
        raise ctx.error(key, "only an XML mapping has namespaces or a node to validate")
    return "json" if syntax == "json" else "xml"


def _schematron(ctx: SpecContext, raw: dict[str, Any], syntax: Syntax) -> SchematronRef | None:
    """The ``schematron: <rule set>:<transaction>`` key, e.g. ``peppol:T01``, checked."""
    if "schematron" not in raw:
        return None
    value = raw["schematron"]
    if syntax != "xml":
        raise ctx.error("schematron", "only an XML mapping has Schematron rules")
    known = ", ".join(
        f"{name}:{transaction}"
        for name, transactions in SCHEMATRON_RULE_SETS.items()
        for transaction in transactions
    )
    rule_set, _, transaction = value.partition(":") if isinstance(value, str) else ("", "", "")
    if transaction not in SCHEMATRON_RULE_SETS.get(rule_set, ()):
        raise ctx.error("schematron", f"unknown rules {value!r}; known: {known}")
    return SchematronRef(rule_set=rule_set, transaction=transaction)


def _halves(
    ctx: SpecContext, raw: dict[str, Any], model: type[Any], syntax: Syntax
) -> tuple[ReadRule | JsonReadRule | None, WriteNode | None]:
    """The checked ``read:`` and ``write:`` halves, each in the mapping's syntax."""
    read: ReadRule | JsonReadRule | None = None
    write: WriteNode | None = None
    if syntax == "json":
        if "read" in raw:
            read = json_read_rule(ctx, raw["read"], model)
        if "write" in raw:
            write = JsonTemplateLoader(ctx, model).root(raw["write"])
        return read, write
    if "read" in raw:
        read = _read_rule(ctx, raw["read"], model)
    if "write" in raw:
        write = WriteSpecLoader(ctx, model).root(raw["write"])
    return read, write


def load_mapping(path: Path) -> MappingDefinition:
    """Load, check and compile the mapping file at ``path``.

    Raises:
        MappingError: Naming the file and the key, for any unknown document
            class, canonical field, option, type, lookup, prefix, bad XPath
            or JSON path.
    """
    raw = _read_yaml(path)
    probe = SpecContext(path, {}, {})
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise probe.error(str(sorted(unknown)[0]), f"unknown key; known: {sorted(_TOP_KEYS)}")
    for required in ("format", "document", "schema"):
        if not isinstance(raw.get(required), str):
            raise probe.error(required, "required text value is missing")
    if "read" not in raw and "write" not in raw:
        raise probe.error("read", "a mapping needs 'read', 'write' or both")
    syntax = _syntax(probe, raw)
    schematron = _schematron(probe, raw, syntax)
    namespaces = {
        str(k): str(v) for k, v in probe.mapping(raw.get("namespaces") or {}, "namespaces").items()
    }
    ctx = SpecContext(path, namespaces, {})
    ctx.lookups = _lookups(ctx, raw.get("lookups"))
    model = _document_class(ctx, raw)
    read, write = _halves(ctx, raw, model, syntax)
    if write is not None and write.holds_record and raw.get("write_lookups"):
        # The streamed catalogue writer reverses the lookups itself.
        raise ctx.error("write_lookups", "a batch mapping (with a 'record') has none")
    return MappingDefinition(
        name=raw["format"],
        description=str(raw.get("description") or ""),
        document_class=model,
        schema=raw["schema"],
        namespaces=namespaces,
        lookups=ctx.lookups,
        source=path,
        read=read,
        write=write,
        syntax=syntax,
        validate=ctx.xpath(raw["validate"], "validate") if "validate" in raw else None,
        write_lookups=_write_lookups(ctx, raw.get("write_lookups")),
        schematron=schematron,
    )
