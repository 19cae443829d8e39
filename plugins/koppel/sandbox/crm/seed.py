"""The demo CRM: two sent quotes and two deals, the cases a quote or sales invoice flow meets.

* ``Q-2026-0001``: sent to Boutique Lotte (C10023), valid until 2026-12-31,
  for IPSoft articles NZ2401-NAVY-L (10 x 34.50) and NZ2402-SAND-30 (5 x 59.00).
* ``Q-2026-0002``: sent to Modehuis Van Dijk (C10031), valid until
  2026-12-15, for NZ2403-OKER-OS and a product code IPSoft does not know
  (``KOP-UNKNOWN-2``): the quote must wait for the product.
* ``D-2026-0001``: won on 2026-11-20 with Modehuis Van Dijk (C10031): 7.5 hours of
  consultancy at 95.00 and a fixed-price workshop of 1250.00, both at 21 %
  (a sales invoice: lines without articles).
* ``D-2026-0002``: still open (no ``closed_on``), Maison Claes (C10047): nothing to invoice yet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from koppel.sandbox.crm.records import QuoteLine, ServiceLine, crm_deal, crm_quote
from koppel.sandbox.record_api import RecordState, StoredRecord

#: The demo records' references per collection.
DEMO_QUOTES = ("Q-2026-0001", "Q-2026-0002")
DEMO_DEALS = ("D-2026-0001", "D-2026-0002")

_VAN_DIJK = {"id": "acc-0002", "name": "Modehuis Van Dijk", "erp_customer_number": "C10031"}
_CLAES = {"id": "acc-0003", "name": "Maison Claes", "erp_customer_number": "C10047"}


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def demo_quotes() -> list[StoredRecord]:
    """The demo quotes, fresh objects each call (tests change them)."""
    return [
        crm_quote(
            "Q-2026-0001",
            lines=[
                QuoteLine("NZ2401-NAVY-L", "Linnen T-shirt navy L", "10", "34.50"),
                QuoteLine("NZ2402-SAND-30", "Chino zand 30", "5", "59.00"),
            ],
            valid_until=date(2026, 12, 31),
            created_at=_at(18, 10),
        ),
        crm_quote(
            "Q-2026-0002",
            lines=[
                QuoteLine("NZ2403-OKER-OS", "Sjaal oker", "12", "22.75"),
                QuoteLine("KOP-UNKNOWN-2", "Etalagepop (nog niet in het ERP)", "1", "149.00"),
            ],
            valid_until=date(2026, 12, 15),
            account=_VAN_DIJK,
            created_at=_at(19, 14),
        ),
    ]


def demo_deals() -> list[StoredRecord]:
    """The demo deals, fresh objects each call (tests change them)."""
    return [
        crm_deal(
            "D-2026-0001",
            lines=[
                ServiceLine("Consultancy inrichting B2B-portaal (uren)", "7.5", "95.00"),
                ServiceLine("Workshop collectiebeheer, vaste prijs", "1", "1250.00"),
            ],
            closed_on=date(2026, 11, 20),
            account=_VAN_DIJK,
            created_at=_at(2, 9),
            updated_at=_at(20, 16),
        ),
        crm_deal(
            "D-2026-0002",
            lines=[ServiceLine("Training voorraadbeheer (uren)", "4", "95.00")],
            status="open",
            account=_CLAES,
            created_at=_at(21, 11),
        ),
    ]


def seed_demo(state: RecordState) -> None:
    """Add the demo quotes and deals (see the module docstring) to ``state``."""
    for quote in demo_quotes():
        state.add("quotes", quote)
    for deal in demo_deals():
        state.add("deals", deal)
