"""The documented contract: JSON Schemas every request body is validated against.

Le New Black's API is not public, so the project documents the part it uses in
``include/schemas/lenewblack/``. The emulator checks bodies with the same
schemas Koppel's own output is checked with, so a body it accepts is one the
contract allows.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from koppel import INCLUDE_DIR
from koppel.sandbox.lenewblack.routing import ApiError

SCHEMA_DIR = INCLUDE_DIR / "schemas" / "lenewblack"


def schema_validators() -> dict[str, Draft202012Validator]:
    """A validator per ``*.schema.json`` file, by file name, resolving ``$ref`` between them."""
    schemas = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SCHEMA_DIR.glob("*.schema.json"))
    }
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return {
        name: Draft202012Validator(schema, registry=registry) for name, schema in schemas.items()
    }


def validated_body(validator: Draft202012Validator, raw: bytes) -> Any:
    """The parsed body, or INVALID_BODY naming the first schema violation and where it is."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "INVALID_BODY", f"body is not JSON: {exc}") from exc
    error = best_match(validator.iter_errors(body))
    if error is not None:
        raise ApiError(400, "INVALID_BODY", f"{error.json_path}: {error.message}")
    return body
