"""JSON Schema (draft 2020-12) validation that reports every error with its JSON path.

The JSON counterpart of :mod:`koppel.formats.schema`: schemas are checked
and compiled once per path, formats (``date``, ``email``, ...) are asserted,
not just annotated, and each violation becomes one ``schema.invalid``
problem whose ``field`` is the path in the body (``orders[2].lines[0]``). A
schema may ``$ref`` its siblings by file name or by their ``$id``; nothing
is ever fetched from the network.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from koppel.documents import Problem
from koppel.errors import ConfigError
from koppel.mapping.jsonpath import join_path

_MESSAGE_LIMIT = 300


def _read(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot load JSON schema: {exc}") from exc
    if not isinstance(schema, dict):
        raise ConfigError(f"{path}: a JSON schema must be an object")
    return schema


def _registry(folder: Path) -> Registry:
    """Every ``*.json`` schema of ``folder``, by file name, file URI and ``$id``."""
    resources: list[tuple[str, Resource[Any]]] = []
    for sibling in sorted(folder.glob("*.json")):
        contents = _read(sibling)
        resource = DRAFT202012.create_resource(contents)
        uris = {sibling.name, sibling.as_uri(), str(contents.get("$id") or sibling.name)}
        resources.extend((uri, resource) for uri in uris)
    registry: Registry = Registry().with_resources(resources)
    return registry


_LOCAL_DEFINITION = "#/$defs/"


def inline_local_refs(
    schema: Any, defs: dict[str, Any] | None = None, seen: tuple[str, ...] = ()
) -> Any:
    """``schema`` with each ``$ref`` to one of its own ``$defs`` replaced by the definition.

    The validator resolves every ``$ref`` anew for every value it checks (a
    registry lookup each time), which made a 20-line order's check cost more
    than writing it. A definition is inlined as ``allOf: [definition]`` so
    keywords beside the ``$ref`` keep their meaning; a definition that refers
    to itself, directly or not, keeps its ``$ref``. References to other files
    are left to the registry.
    """
    if defs is None:
        defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    if isinstance(schema, list):
        return [inline_local_refs(item, defs, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_LOCAL_DEFINITION):
        name = ref.removeprefix(_LOCAL_DEFINITION)
        if name in defs and "/" not in name and name not in seen:
            siblings = {
                k: inline_local_refs(v, defs, seen) for k, v in schema.items() if k != "$ref"
            }
            return {"allOf": [inline_local_refs(defs[name], defs, (*seen, name))], **siblings}
    return {key: inline_local_refs(value, defs, seen) for key, value in schema.items()}


@lru_cache(maxsize=64)
def _load(path: Path) -> Draft202012Validator:
    schema = _read(path)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(f"{path}: invalid JSON schema: {exc.message}") from exc
    return Draft202012Validator(
        inline_local_refs(schema), registry=_registry(path.parent), format_checker=FormatChecker()
    )


#: Validators by the absolute path they were asked for: resolving symlinks takes a system
#: call per path component, too slow to repeat for every body.
_BY_PATH: dict[Path, Draft202012Validator] = {}


def load_json_schema(path: Path) -> Draft202012Validator:
    """The validator for the schema at ``path``, loaded once.

    Raises:
        ConfigError: When the file (or a sibling) is missing, not JSON, or not a valid schema.
    """
    validator = _BY_PATH.get(path)
    if validator is None:
        validator = _load(path.resolve())
        if path.is_absolute():  # a relative path means another file after a chdir
            _BY_PATH[path] = validator
    return validator


def _where(steps: Any) -> str | None:
    where = ""
    for step in steps:
        where = join_path(where, step if isinstance(step, int) else str(step))
    return where or None


def validate_json(body: object, validator: Draft202012Validator, *, source: str) -> list[Problem]:
    """Every schema violation in a parsed body as a problem (code ``schema.invalid``).

    Args:
        body: A value from :func:`koppel.formats.jsondoc.parse_json`.
        validator: A validator from :func:`load_json_schema`.
        source: Name of the file or message, recorded on each problem.

    Returns:
        An empty list when the body is valid.
    """
    errors = sorted(validator.iter_errors(body), key=lambda error: list(map(str, error.path)))
    return [
        Problem(
            code="schema.invalid",
            message=error.message[:_MESSAGE_LIMIT],
            file=source,
            field=_where(error.absolute_path),
        )
        for error in errors
    ]
