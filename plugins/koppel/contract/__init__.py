"""Contract cases per connection: ``koppel test`` (docs/contract_tests.md).

Beside a connection file, ``<connection>.cases/<flow>/<case>/`` holds an
input document, optional master data, lookups and options, and the pinned
outcome: the message's status and problems and the documents it sends.
Each case runs through the same engine a DAG run uses (receive, parse,
validate, rules, map, validate the output, deliver) on a fresh SQLite store
with in-memory destinations: no Airflow, no network, no servers.
"""

from __future__ import annotations

from koppel.contract.cases import Case, Discovery, discover
from koppel.contract.report import CaseResult, CasesReport, run_cases
from koppel.contract.runner import CaseOutcome, Output, run_case
from koppel.contract.spec import CaseFileError, CaseSpec

__all__ = [
    "Case",
    "CaseFileError",
    "CaseOutcome",
    "CaseResult",
    "CaseSpec",
    "CasesReport",
    "Discovery",
    "Output",
    "discover",
    "run_case",
    "run_cases",
]
