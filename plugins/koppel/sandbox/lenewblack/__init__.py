"""A stateful Le New Black API on 127.0.0.1: what tests and the demo push master data to.

Le New Black's API is not public, so the project documents the part it uses
in ``include/schemas/lenewblack/`` and this emulator implements exactly that
contract: every request body is validated against the same JSON Schemas
Koppel's own output is checked with, so a body the emulator accepts is one the
contract allows. State is plain Python objects that tests inspect directly;
every PUT bumps a version counter, so a test can tell "sent again" from "sent
once". ``fail_next`` makes the next answers fail to exercise retries.

Modules: ``state`` (records), ``routing`` (answers, errors, routes),
``contract`` (the JSON Schemas), ``master_data`` and ``orders`` (the
endpoints), ``api`` (dispatch without HTTP), ``portal`` (what users do in Le
New Black itself), ``seed`` (the demo data) and ``server`` (HTTP).
"""

from __future__ import annotations

from koppel.sandbox.json_http import ApiError
from koppel.sandbox.lenewblack.api import LeNewBlackApi
from koppel.sandbox.lenewblack.contract import SCHEMA_DIR, schema_validators
from koppel.sandbox.lenewblack.server import LeNewBlackServer
from koppel.sandbox.lenewblack.state import (
    LeNewBlackState,
    RecordedRequest,
    StoredOrder,
    Versioned,
)

__all__ = [
    "SCHEMA_DIR",
    "ApiError",
    "LeNewBlackApi",
    "LeNewBlackServer",
    "LeNewBlackState",
    "RecordedRequest",
    "StoredOrder",
    "Versioned",
    "schema_validators",
]
