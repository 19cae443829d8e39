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


def test_the_example_merchants_have_cases() -> None:
    # The cases named in issue 14 run for every merchant extending their template.
    labels = {c.label for c in CASES}
    for label in (
        "itsperfect_acme orders/backorder_line_removed",
        "itsperfect_bellamoda orders/backorder_line_removed",
        "itsperfect_acme orders/xsd_violation",
        "itsperfect_bellamoda orders/xsd_violation",
        "ipsoft_noordzee orders/customer_without_reference",
    ):
        assert label in labels
