"""Claims, phased delivery attempts, disposal intents and owed alerts, on PostgreSQL and SQLite."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from koppel.documents import Problem, Severity
from koppel.store import AttemptOutcome, MessageStatus, MessageStore, migrate
from koppel.store.migrate import MIGRATIONS_DIR

pytestmark = pytest.mark.integration

CONN = "acme"
FLOW = "orders"
TO_PROCESS = (MessageStatus.RECEIVED, MessageStatus.FAILED)


def _receive(store: MessageStore, name: str = "order-1.xml") -> int:
    return store.receive(
        connection_id=CONN, flow=FLOW, source_name=name, payload=name.encode()
    ).message_id


def test_one_run_wins_a_claim_and_the_same_run_takes_it_back(any_store: MessageStore) -> None:
    message_id = _receive(any_store)

    assert any_store.claim(message_id, run_id="a", statuses=TO_PROCESS, lease_seconds=60)
    assert not any_store.claim(message_id, run_id="b", statuses=TO_PROCESS, lease_seconds=60)
    assert any_store.claim(message_id, run_id="a", statuses=TO_PROCESS, lease_seconds=60)

    any_store.release(message_id, run_id="a")
    assert any_store.claim(message_id, run_id="b", statuses=TO_PROCESS, lease_seconds=60)


def test_a_claim_whose_lease_ran_out_is_taken_over(any_store: MessageStore) -> None:
    message_id = _receive(any_store)
    assert any_store.claim(message_id, run_id="killed", statuses=TO_PROCESS, lease_seconds=1)

    time.sleep(1.1)

    assert any_store.claim(message_id, run_id="next", statuses=TO_PROCESS, lease_seconds=60)


def test_a_message_finished_meanwhile_is_not_claimed(any_store: MessageStore) -> None:
    message_id = _receive(any_store)
    any_store.update(message_id, status=MessageStatus.DELIVERED)

    assert not any_store.claim(message_id, run_id="late", statuses=TO_PROCESS, lease_seconds=60)


def test_concurrent_claimers_get_each_message_once(any_store: MessageStore) -> None:
    ids = [_receive(any_store, f"order-{n}.xml") for n in range(40)]

    def claim_all(run_id: str) -> list[int]:
        return [
            i
            for i in ids
            if any_store.claim(i, run_id=run_id, statuses=TO_PROCESS, lease_seconds=60)
        ]

    with ThreadPoolExecutor(4) as pool:
        won = list(pool.map(claim_all, ["r1", "r2", "r3", "r4"]))

    assert sorted(i for claimed in won for i in claimed) == ids


def test_an_attempt_goes_started_staged_finished_with_status_and_receipt_together(
    any_store: MessageStore,
) -> None:
    out = any_store.create_outbound(
        parent_id=None,
        connection_id=CONN,
        flow=FLOW,
        delivery_key="target:CreateOrder/LNB-1",
        target_name="CreateOrder/LNB-1",
        payload=b"<Order/>",
        document=None,
        document_key="LNB-1",
    ).message_id
    attempt = any_store.start_attempt(out, target="soap:CreateOrder/LNB-1")
    assert any_store.unfinished_attempt(out).outcome is AttemptOutcome.STARTED  # type: ignore[union-attr]
    any_store.stage_attempt(out, attempt)
    assert any_store.unfinished_attempt(out).outcome is AttemptOutcome.STAGED  # type: ignore[union-attr]

    any_store.finish_attempt(
        out,
        attempt,
        outcome=AttemptOutcome.DELIVERED,
        status=MessageStatus.DELIVERED,
        disposition="soap:SO-1001",
    )

    assert any_store.unfinished_attempt(out) is None
    stored = any_store.get(out)
    assert (stored.status, stored.disposition) == (MessageStatus.DELIVERED, "soap:SO-1001")
    assert [a.outcome for a in any_store.attempts(out)] == [AttemptOutcome.DELIVERED]


def test_a_disposal_is_cleared_when_the_move_is_recorded(any_store: MessageStore) -> None:
    message_id = _receive(any_store)
    any_store.set_disposal(message_id, "archive:/in/archive/order-1.xml")
    assert any_store.get(message_id).disposal == "archive:/in/archive/order-1.xml"

    any_store.set_disposition(message_id, "archive:/in/archive/order-1.xml")

    stored = any_store.get(message_id)
    assert (stored.disposal, stored.disposition) == (None, "archive:/in/archive/order-1.xml")


def test_each_rejection_is_owed_one_alert_claimed_by_one_run(any_store: MessageStore) -> None:
    bad = Problem(code="xsd.invalid", message="no", severity=Severity.ERROR)
    first = any_store.receive(
        connection_id=CONN, flow=FLOW, source_name="big.xml", payload=b"", rejected=[bad]
    ).message_id
    second = _receive(any_store, "order-2.xml")
    any_store.update(second, status=MessageStatus.REJECTED, problems=[bad])
    _receive(any_store, "order-3.xml")  # not rejected: owes nothing

    claimed = any_store.claim_owed_alerts(
        connection_id=CONN, flow=FLOW, run_id="r1", lease_seconds=60
    )
    again = any_store.claim_owed_alerts(
        connection_id=CONN, flow=FLOW, run_id="r2", lease_seconds=60
    )

    assert [m.id for m in claimed] == [first, second]
    assert again == []
    owed = any_store.owed_alerts_claimed_by(connection_id=CONN, flow=FLOW, run_id="r1")
    assert [m.id for m in owed] == [first, second]
    any_store.mark_alerted([first, second])
    assert any_store.owed_alerts_claimed_by(connection_id=CONN, flow=FLOW, run_id="r1") == []
    assert any_store.get(first).alerted_at is not None
    assert (
        any_store.claim_owed_alerts(connection_id=CONN, flow=FLOW, run_id="r3", lease_seconds=60)
        == []
    )


def test_a_message_stores_its_first_hundred_problems_and_a_count(any_store: MessageStore) -> None:
    message_id = _receive(any_store)
    problems = [
        Problem(code="xsd.invalid", message=f"bad quantity {n}", line=n) for n in range(8000)
    ]

    any_store.update(message_id, status=MessageStatus.REJECTED, problems=problems)

    stored = any_store.get(message_id).problems
    assert len(stored) == 101
    assert stored[99].message == "bad quantity 99"
    assert stored[-1].code == "problems.truncated"
    assert "7,900 more" in stored[-1].message
    assert stored[-1].severity is Severity.ERROR


def test_migration_0003_counts_earlier_rejections_as_alerted(any_engine: Engine) -> None:
    """A store upgraded in place must not alert again about what its old runs alerted."""
    store = MessageStore(any_engine)
    rejected = _receive(store, "old-bad.xml")
    store.update(rejected, status=MessageStatus.REJECTED)
    waiting = _receive(store, "old-new.xml")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with any_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")

    migrate(any_engine)

    assert store.get(rejected).alerted_at is not None
    assert store.get(waiting).alerted_at is None
    assert store.claim_owed_alerts(connection_id=CONN, flow=FLOW, run_id="r", lease_seconds=9) == []


def test_a_replayed_message_rejected_again_is_owed_a_new_alert(any_store: MessageStore) -> None:
    message_id = _receive(any_store)
    any_store.update(message_id, status=MessageStatus.REJECTED)
    any_store.mark_alerted([message_id])

    any_store.requeue(message_id)
    requeued = any_store.get(message_id)
    assert (requeued.status, requeued.problems, requeued.alerted_at) == (
        MessageStatus.RECEIVED,
        [],
        None,
    )
    any_store.update(message_id, status=MessageStatus.REJECTED)

    owed = any_store.claim_owed_alerts(connection_id=CONN, flow=FLOW, run_id="r", lease_seconds=9)
    assert [m.id for m in owed] == [message_id]


def test_a_replay_offers_what_the_target_refused_again_and_keeps_what_it_took(
    any_store: MessageStore,
) -> None:
    message_id = _receive(any_store)
    assert any_store.claim(message_id, run_id="busy", statuses=TO_PROCESS, lease_seconds=60)
    refused, taken = (
        any_store.create_outbound(
            parent_id=message_id,
            connection_id=CONN,
            flow=FLOW,
            delivery_key=f"target:{name}",
            target_name=name,
            payload=name.encode(),
            document=None,
            document_key=None,
        ).message_id
        for name in ("a.xml", "b.xml")
    )
    refusal = Problem(code="delivery.refused", message="UNKNOWN_SKU")
    any_store.update(refused, status=MessageStatus.REJECTED, problems=[refusal])
    any_store.update(taken, status=MessageStatus.DELIVERED)
    any_store.update(message_id, status=MessageStatus.REJECTED, problems=[refusal])

    any_store.requeue(message_id)

    assert any_store.get(refused).status is MessageStatus.PENDING
    assert any_store.get(taken).status is MessageStatus.DELIVERED
    assert any_store.get(message_id).status is MessageStatus.RECEIVED
    # The run that holds it keeps it: the replay is for the next run.
    assert not any_store.claim(message_id, run_id="other", statuses=TO_PROCESS, lease_seconds=60)
