"""A stateful CRM API on 127.0.0.1: quotes (articles) and deals (services) Koppel reads.

The contract is the project's (``include/schemas/crm/``, issue 12); the
emulator follows Le New Black's conventions through the shared
:mod:`koppel.sandbox.record_api` and computes totals like the webshop.

Modules: ``records`` (the builders), ``seed`` (the demo), ``contract`` (the
JSON Schemas) and ``server`` (HTTP).
"""

from __future__ import annotations

from koppel.sandbox.crm.contract import SCHEMA_DIR, schema_validators
from koppel.sandbox.crm.records import (
    DEAL_STATUSES,
    QUOTE_STATUSES,
    QuoteLine,
    ServiceLine,
    crm_deal,
    crm_quote,
)
from koppel.sandbox.crm.seed import DEMO_DEALS, DEMO_QUOTES, demo_deals, demo_quotes
from koppel.sandbox.crm.server import DEALS, QUOTES, CrmServer, CrmState

__all__ = [
    "DEALS",
    "DEAL_STATUSES",
    "DEMO_DEALS",
    "DEMO_QUOTES",
    "QUOTES",
    "QUOTE_STATUSES",
    "SCHEMA_DIR",
    "CrmServer",
    "CrmState",
    "QuoteLine",
    "ServiceLine",
    "crm_deal",
    "crm_quote",
    "demo_deals",
    "demo_quotes",
    "schema_validators",
]
