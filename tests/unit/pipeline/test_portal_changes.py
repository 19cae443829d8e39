"""An exported order is the same as its stored copy when only Koppel's mark changed it."""

from __future__ import annotations

import json

import pytest

from koppel.pipeline.portal_changes import same_order

STORED = {
    "reference": "LNB-100045",
    "status": "confirmed",
    "created_at": "2025-03-03T09:00:00Z",
    "updated_at": "2025-03-03T09:00:00Z",
    "customer": {"id": "C10023", "name": "Boutique Lotte", "erp_reference": "C10023"},
    "lines": [{"sku": "NZ2401-NAVY-M", "quantity": "2", "unit_price": "34.50"}],
    "remarks": None,
}
MARKED = {**STORED, "status": "exported", "updated_at": "2025-03-03T10:15:00Z"}

CASES = {
    "marked exported by Koppel: status and updated_at moved": (MARKED, True),
    "a remark added after the export": ({**MARKED, "remarks": "Graag voor vrijdag"}, False),
    "a line changed after the export": (
        {**MARKED, "lines": [{"sku": "NZ2401-NAVY-M", "quantity": "3", "unit_price": "34.50"}]},
        False,
    ),
    "a field the stored copy did not have": ({**MARKED, "currency": "EUR"}, False),
    "keys in another order are the same order": (dict(reversed(MARKED.items())), True),
}


@pytest.mark.parametrize(("listed", "same"), CASES.values(), ids=CASES.keys())
def test_only_the_marks_fields_may_differ(listed: dict[str, object], same: bool) -> None:
    assert same_order(listed, json.dumps(STORED).encode()) is same


@pytest.mark.parametrize("stored", [None, b"<html>not json</html>", b'["a list"]'])
def test_without_a_usable_stored_copy_the_order_is_news(stored: bytes | None) -> None:
    assert same_order(MARKED, stored) is False
