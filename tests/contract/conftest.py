"""The Peppol supplier's contract cases validate with OpenPEPPOL's rules, kept elsewhere."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _peppol_rules(peppol_rules_if_present: object) -> None:
    """``KOPPEL_PEPPOL_RULES_DIR`` set for every test here (see ``tests.fixtures.peppol``)."""
