"""A stand-in Isah ERP for tests and the demo: its database, with demo master data.

The ERP takes SCSN orders through its import tables, so the stand-in is a
database with the ERP's schema (:mod:`koppel.hooks.isah_schema`):
:mod:`.database` creates and seeds it on PostgreSQL or SQLite, :mod:`.seed`
holds the demo master data that meets every SCSN import check.
"""

from __future__ import annotations

from koppel.sandbox.isah.database import create_erp_database, load_seed, set_setting
from koppel.sandbox.isah.seed import (
    BAKKER,
    BAKKER_SCSN_ID,
    CONFIRMED_ORDER,
    DEMO_DEVIATING_PRICE_STATUS,
    DEMO_SALES_TYPE,
    DEMO_SEED,
    HOLLANDSE_PRECISIE,
    HOLLANDSE_PRECISIE_SCSN_ID,
    NORDIC_DRIVES,
    NORDIC_DRIVES_SCSN_ID,
    UNCONFIRMED_ORDER,
    ErpSeed,
)

__all__ = [
    "BAKKER",
    "BAKKER_SCSN_ID",
    "CONFIRMED_ORDER",
    "DEMO_DEVIATING_PRICE_STATUS",
    "DEMO_SALES_TYPE",
    "DEMO_SEED",
    "HOLLANDSE_PRECISIE",
    "HOLLANDSE_PRECISIE_SCSN_ID",
    "NORDIC_DRIVES",
    "NORDIC_DRIVES_SCSN_ID",
    "UNCONFIRMED_ORDER",
    "ErpSeed",
    "create_erp_database",
    "load_seed",
    "set_setting",
]
