"""The CRM contract in ``include/schemas/crm/`` and its validators.

The CRM's API is the project's design (issue 12); the emulator checks
request bodies with these schemas and tests check every answer with them.
"""

from __future__ import annotations

from jsonschema import Draft202012Validator

from koppel import INCLUDE_DIR
from koppel.sandbox.record_api import contract_validators

SCHEMA_DIR = INCLUDE_DIR / "schemas" / "crm"


def schema_validators() -> dict[str, Draft202012Validator]:
    """A validator per ``*.schema.json`` file of the CRM contract, by file name."""
    return contract_validators(SCHEMA_DIR)
