"""A contract directory's JSON Schemas as validators, and the request-body check.

Each emulated API documents itself in ``include/schemas/<system>/``; the
emulator validates request bodies with those schemas, and tests validate its
answers with the same validators, so the emulator and its contract cannot drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from koppel.sandbox.json_http import ApiError


def contract_validators(schema_dir: Path) -> dict[str, Draft202012Validator]:
    """A validator per ``*.schema.json`` file of ``schema_dir``, by file name.

    Schemas may ``$ref`` their siblings by file name or ``$id``; formats such
    as ``date`` and ``date-time`` are asserted, as Koppel's formats assert them.
    """
    schemas = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(schema_dir.glob("*.schema.json"))
    }
    resources: list[tuple[str, Resource[Any]]] = []
    for name, schema in schemas.items():
        resource: Resource[Any] = Resource.from_contents(schema)
        resources.extend([(schema["$id"], resource), (name, resource)])
    registry: Registry[Any] = Registry().with_resources(resources)
    return {
        name: Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())
        for name, schema in schemas.items()
    }


def request_body(
    validator: Draft202012Validator, raw: bytes, *, code: str = "INVALID_REQUEST"
) -> Any:
    """The parsed body, or 400 ``code`` naming the first violation and where it is."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, code, f"the body is not JSON: {exc}") from exc
    error = best_match(validator.iter_errors(body))
    if error is not None:
        raise ApiError(400, code, f"{error.json_path}: {error.message}")
    return body
