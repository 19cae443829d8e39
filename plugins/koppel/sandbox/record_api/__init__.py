"""What the webshop and CRM emulators share: records, listing, export marks, totals, HTTP.

Both APIs follow Le New Black's conventions (bearer token, ``/api/v1``,
decimal strings, ``{"error": {"code", "message"}}``) and add the same
listing (paged, by status, by ``not_exported_as``, by ``updated_since``) and
export marks, so that one hook base serves them all. This package is that
behaviour once; ``koppel.sandbox.webshop`` and ``koppel.sandbox.crm`` only add
their records, builders and demo seed.

Modules: ``state`` (records and the lock), ``totals`` (tax per line, summed
per rate), ``contract`` (JSON Schema validators), ``api`` (behaviour without
HTTP) and ``server`` (HTTP on 127.0.0.1).
"""

from __future__ import annotations

from koppel.sandbox.record_api.api import Collection, RecordApi
from koppel.sandbox.record_api.contract import contract_validators
from koppel.sandbox.record_api.server import RecordServer
from koppel.sandbox.record_api.state import (
    RecordedRequest,
    RecordState,
    StoredRecord,
    iso,
    new_record,
)
from koppel.sandbox.record_api.totals import (
    PricedLine,
    Taxed,
    currency_decimals,
    line_total,
    money,
    priced_lines,
    tax_lines,
    tax_of,
    text,
)

__all__ = [
    "Collection",
    "PricedLine",
    "RecordApi",
    "RecordServer",
    "RecordState",
    "RecordedRequest",
    "StoredRecord",
    "Taxed",
    "contract_validators",
    "currency_decimals",
    "iso",
    "line_total",
    "money",
    "new_record",
    "priced_lines",
    "tax_lines",
    "tax_of",
    "text",
]
