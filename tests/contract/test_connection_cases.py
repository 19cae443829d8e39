"""Every contract case of include/connections, one test each: `make test` runs them all.

A failing case fails with what `koppel test` prints for it: the difference
between the pinned outcome and this run, or why the case could not run.
"""

from __future__ import annotations

import pytest

from koppel import INCLUDE_DIR
from koppel.contract import Case, discover, run_case
from koppel.contract.report import check

CONNECTIONS = INCLUDE_DIR / "connections"
CASES = discover(CONNECTIONS).cases


@pytest.mark.parametrize("case", CASES, ids=[f"{c.connection_id}/{c.flow}/{c.name}" for c in CASES])
def test_case(case: Case) -> None:
    outcome = run_case(case)
    difference, _ = check(case, outcome)
    if difference:
        pytest.fail(f"{case.label}:\n{difference}", pytrace=False)


def test_every_flow_of_every_example_connection_has_a_case() -> None:
    """Issue 14's "done when": no flow of an example merchant goes unpinned."""
    assert discover(CONNECTIONS).uncovered == []


#: The seeds' rule decisions, each pinned by a case that states it in its ``expect``.
SEED_DECISIONS = {
    "itsperfect_acme orders/backorder_line_removed": "seed 000: backorder removal",
    "itsperfect_acme status_updates/split_order_shipped_not_reported": "seed 000: the -1 split",
    "ipsoft_noordzee orders/customer_without_reference": "seed 004: the held order",
    "scsn_techparts orders/price_deviation_rejected": "seed 002: an SCSN check",
    "scsn_techparts orders/deviating_price_accepted": "seed 002: an SCSN check",
    "ubl_nordkauppa orders/internal_order_priced_at_average_purchase_price": "seed 003: pricing",
    "webshop_koffiebar postings/inclusive_mixed_rates_advanced": "seed 001: a ledger level",
    "webshop_koffiebar postings/inclusive_mixed_rates_extreme": "seed 001: a ledger level",
}


@pytest.mark.parametrize("label", sorted(SEED_DECISIONS))
def test_the_seeds_rule_decisions_are_pinned(label: str) -> None:
    (case,) = [c for c in CASES if c.label == label]
    stated = case.spec.expect
    assert stated.status is not None, f"{label} ({SEED_DECISIONS[label]}) states no decision"
