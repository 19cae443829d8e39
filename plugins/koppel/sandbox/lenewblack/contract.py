"""The documented contract: JSON Schemas every request body is validated against.

Le New Black's API is not public, so the project documents the part it uses in
``include/schemas/lenewblack/``. The emulator checks bodies with the same
schemas Koppel's own output is checked with, so a body it accepts is one the
contract allows.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from koppel import INCLUDE_DIR
from koppel.sandbox.record_api.contract import contract_validators, request_body

SCHEMA_DIR = INCLUDE_DIR / "schemas" / "lenewblack"


def schema_validators() -> dict[str, Draft202012Validator]:
    """A validator per ``*.schema.json`` file, by file name, resolving ``$ref`` between them."""
    return contract_validators(SCHEMA_DIR)


def validated_body(validator: Draft202012Validator, raw: bytes) -> Any:
    """The parsed body, or INVALID_BODY naming the first schema violation and where it is."""
    return request_body(validator, raw, code="INVALID_BODY")
