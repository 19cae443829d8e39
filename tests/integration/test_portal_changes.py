"""Changes Koppel made itself are not news (issue 7, part 4): against the Le New Black emulator.

The portal's listing of exported orders updated since the last run also
lists every order Koppel marked exported in that run. Only orders whose
content differs from the copy Koppel stored are fetched again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel.hooks.lenewblack import LeNewBlackHook, api_path
from koppel.pipeline.portal_changes import changed_exports, order_source_name
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.store import MessageStore
from tests.fixtures.lenewblack import LENEWBLACK_CONN_ID

pytestmark = pytest.mark.integration

CONNECTION, FLOW, OPERATION = "ipsoft_noordzee", "orders", "/api/v1/orders"


@pytest.fixture
def hook(lenewblack_server: LeNewBlackServer) -> LeNewBlackHook:
    lenewblack_server.seed_demo()
    return LeNewBlackHook(LENEWBLACK_CONN_ID, retry_wait_seconds=0)


def store_copy(store: MessageStore, hook: LeNewBlackHook, reference: str) -> None:
    """What the receive step does with an order: fetch it and store it under its name."""
    store.receive(
        connection_id=CONNECTION,
        flow=FLOW,
        source_name=order_source_name(OPERATION, reference),
        payload=hook.get_bytes(api_path("orders", reference)),
    )


def changed_since(store: MessageStore, hook: LeNewBlackHook, since: datetime) -> list[str]:
    """The next run's question: which exported orders changed since ``since``."""
    pages = [p.body for p in hook.list_orders(status="exported", updated_since=since)]
    return changed_exports(store, CONNECTION, FLOW, OPERATION, pages)


def test_orders_koppel_marked_exported_are_not_changes(
    store: MessageStore, hook: LeNewBlackHook
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    for reference, number in (("LNB-100045", "SO-2025-00042"), ("LNB-100047", "SO-2025-00043")):
        store_copy(store, hook, reference)
        hook.mark_exported(reference, number)

    listed = next(hook.list_orders(status="exported", updated_since=since))
    assert b"LNB-100045" in listed.body  # the mark moved updated_at: the portal lists both
    assert changed_since(store, hook, since) == []


def test_a_sales_rep_change_after_the_export_is_news(
    store: MessageStore, hook: LeNewBlackHook, lenewblack_server: LeNewBlackServer
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    for reference in ("LNB-100045", "LNB-100047"):
        store_copy(store, hook, reference)
        hook.mark_exported(reference, f"SO-{reference}")

    lenewblack_server.change_order("LNB-100045", remarks="Graag ook de sjaals meesturen")

    assert changed_since(store, hook, since) == ["LNB-100045"]


def test_a_change_stamped_before_the_mark_is_news_whatever_the_clocks_say(
    store: MessageStore, hook: LeNewBlackHook, lenewblack_server: LeNewBlackServer
) -> None:
    """A portal clock behind Koppel's: content decides, not when the portal says it changed."""
    since = datetime.now(UTC) - timedelta(hours=2)
    store_copy(store, hook, "LNB-100045")
    lenewblack_server.change_order(
        "LNB-100045", remarks="Toch 3 jurken", at=datetime.now(UTC) - timedelta(hours=1)
    )
    hook.mark_exported("LNB-100045", "SO-2025-00042")

    assert changed_since(store, hook, since) == ["LNB-100045"]


def test_an_exported_order_koppel_never_stored_is_news(
    store: MessageStore, hook: LeNewBlackHook
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    hook.mark_exported("LNB-100047", "SO-BY-ANOTHER-TOOL")

    assert changed_since(store, hook, since) == ["LNB-100047"]


def test_the_newest_stored_copy_is_the_one_compared(
    store: MessageStore, hook: LeNewBlackHook, lenewblack_server: LeNewBlackServer
) -> None:
    """A change already recorded is not news a second time."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    store_copy(store, hook, "LNB-100045")
    hook.mark_exported("LNB-100045", "SO-2025-00042")
    lenewblack_server.change_order("LNB-100045", remarks="Graag ook de sjaals meesturen")
    store_copy(store, hook, "LNB-100045")  # the run that recorded the change

    assert changed_since(store, hook, since) == []
