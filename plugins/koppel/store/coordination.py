"""What lets runs crash and overlap without losing or repeating anything.

A run may be killed between any two steps, and two runs of one flow may work
at once (an "export now" beside the schedule, a backfill's parallel runs). The
store therefore records, before each step that touches the outside world,
what is about to happen: which run works on a message (a claim with an expiry),
how far a delivery got (attempts that are started, then staged, then
finished), where an inbound file is being moved (the disposal), and whether a
rejected message has been alerted. A rerun reads these and finishes the step
instead of repeating it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, insert, or_, select, update

from koppel.documents import Problem
from koppel.errors import StoreError
from koppel.store.records import DeliveryAttempt, MessageSummary, dump_problems
from koppel.store.schema import SUMMARY_COLUMNS, delivery_attempts, messages, utc_now
from koppel.store.statuses import AttemptOutcome, Direction, MessageStatus

#: Attempts that were cut short: the next try must find out how far they got.
_UNFINISHED = (AttemptOutcome.STARTED.value, AttemptOutcome.STAGED.value)


class RunCoordination:
    """Claims, phased delivery attempts, disposal intents and owed alerts of the message store."""

    def _transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError  # provided by MessageStore

    # -- claims ------------------------------------------------------------------------------

    def candidate_ids(
        self,
        *,
        connection_id: str,
        flow: str,
        direction: Direction,
        statuses: Iterable[MessageStatus],
        undisposed: bool = False,
    ) -> list[int]:
        """Ids of the flow's messages a run could take up, oldest first (no payloads read)."""
        query = select(messages.c.id).where(
            messages.c.connection_id == connection_id,
            messages.c.flow == flow,
            messages.c.direction == direction.value,
            messages.c.status.in_([MessageStatus(s).value for s in statuses]),
        )
        if undisposed:
            query = query.where(messages.c.disposition.is_(None))
        with self._transaction() as conn:
            return [int(i) for i in conn.execute(query.order_by(messages.c.id)).scalars()]

    def claim_many(
        self,
        message_ids: Iterable[int],
        *,
        run_id: str,
        statuses: Iterable[MessageStatus],
        lease_seconds: int,
        undisposed: bool = False,
    ) -> list[int]:
        """:meth:`claim` a chunk of messages in one statement; return the ids taken, in order.

        The same conditional UPDATE as for one message, over an ``IN`` list,
        returning the rows it changed: a message another run holds, or
        finished meanwhile, is simply not among them.
        """
        ids = sorted(set(message_ids))
        if not ids:
            return []
        now = utc_now()
        condition = and_(messages.c.id.in_(ids), _claimable(run_id, statuses, now, undisposed))
        until = now + timedelta(seconds=lease_seconds)
        statement = (
            update(messages)
            .where(condition)
            .values(claimed_by=run_id, claimed_until=until)
            .returning(messages.c.id)
        )
        with self._transaction() as conn:
            return sorted(int(i) for i in conn.execute(statement).scalars())

    def release_many(self, message_ids: Iterable[int], *, run_id: str) -> None:
        """:meth:`release` a chunk of messages in one statement."""
        ids = sorted(set(message_ids))
        if not ids:
            return
        with self._transaction() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id.in_(ids), messages.c.claimed_by == run_id)
                .values(claimed_by=None, claimed_until=None)
            )

    def claim(
        self,
        message_id: int,
        *,
        run_id: str,
        statuses: Iterable[MessageStatus],
        lease_seconds: int,
        undisposed: bool = False,
    ) -> bool:
        """Take the message for ``run_id`` if it is still in one of ``statuses`` and free.

        Free means unclaimed, claimed by this same run (a retried task takes
        back what its killed try held), or claimed by a run whose lease ran
        out. One conditional UPDATE decides: on PostgreSQL a concurrent claimer
        waits for the row lock and then sees the winner's claim; SQLite has one
        writer at a time. The status is checked in the same statement, so a
        run never takes up a message another run finished meanwhile.
        """
        now = utc_now()
        condition = and_(messages.c.id == message_id, _claimable(run_id, statuses, now, undisposed))
        until = now + timedelta(seconds=lease_seconds)
        with self._transaction() as conn:
            result = conn.execute(
                update(messages).where(condition).values(claimed_by=run_id, claimed_until=until)
            )
        return result.rowcount == 1

    def release(self, message_id: int, *, run_id: str) -> None:
        """Give the message up, if this run still holds it."""
        with self._transaction() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id == message_id, messages.c.claimed_by == run_id)
                .values(claimed_by=None, claimed_until=None)
            )

    # -- delivery attempts in phases ---------------------------------------------------------

    def unfinished_attempt(self, message_id: int) -> DeliveryAttempt | None:
        """The message's last attempt if it was cut short (started or staged), else None."""
        query = (
            select(delivery_attempts)
            .where(delivery_attempts.c.message_id == message_id)
            .order_by(delivery_attempts.c.attempt_no.desc())
            .limit(1)
        )
        with self._transaction() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None or row["outcome"] not in _UNFINISHED:
            return None
        return DeliveryAttempt.from_row(row)

    def unfinished_attempts(self, message_ids: Iterable[int]) -> dict[int, DeliveryAttempt]:
        """:meth:`unfinished_attempt` for a chunk of messages: those cut short, by message id."""
        ids = sorted(set(message_ids))
        if not ids:
            return {}
        query = (
            select(delivery_attempts)
            .where(delivery_attempts.c.message_id.in_(ids))
            .order_by(delivery_attempts.c.message_id, delivery_attempts.c.attempt_no)
        )
        last: dict[int, DeliveryAttempt] = {}
        with self._transaction() as conn:
            for row in conn.execute(query).mappings():
                last[int(row["message_id"])] = DeliveryAttempt.from_row(row)
        return {i: a for i, a in last.items() if a.outcome.value in _UNFINISHED}

    def start_attempts(self, targets: Mapping[int, str]) -> dict[int, int]:
        """:meth:`start_attempt` for a chunk of messages in one transaction: attempt numbers."""
        if not targets:
            return {}
        ids = sorted(targets)
        now = utc_now()
        with self._transaction() as conn:
            conn.execute(select(messages.c.id).where(messages.c.id.in_(ids)).with_for_update())
            previous = dict(
                conn.execute(
                    select(delivery_attempts.c.message_id, func.max(delivery_attempts.c.attempt_no))
                    .where(delivery_attempts.c.message_id.in_(ids))
                    .group_by(delivery_attempts.c.message_id)
                )
                .tuples()
                .all()
            )
            numbers = {i: int(previous.get(i) or 0) + 1 for i in ids}
            conn.execute(
                insert(delivery_attempts),
                [
                    {
                        "message_id": i,
                        "attempt_no": numbers[i],
                        "target": targets[i],
                        "outcome": AttemptOutcome.STARTED.value,
                        "started_at": now,
                        "finished_at": now,
                    }
                    for i in ids
                ],
            )
        return numbers

    def stage_attempts(self, attempts: Sequence[tuple[int, int]]) -> None:
        """:meth:`stage_attempt` for a chunk of ``(message_id, attempt_no)`` in one transaction."""
        if not attempts:
            return
        with self._transaction() as conn:
            _set_attempts(conn, attempts, outcome=AttemptOutcome.STAGED)

    def finish_attempts(
        self,
        attempts: Mapping[AttemptOutcome, Sequence[tuple[int, int]]],
        *,
        status: MessageStatus,
        error: str | None = None,
    ) -> None:
        """:meth:`finish_attempt` for a chunk: close each attempt with its outcome, set ``status``.

        One transaction for the chunk, as one for a single message: a crash
        leaves every attempt of it open (the next try settles them from the
        server) or everything recorded.
        """
        pairs = [pair for group in attempts.values() for pair in group]
        if not pairs:
            return
        with self._transaction() as conn:
            for outcome, group in attempts.items():
                _set_attempts(conn, group, outcome=outcome, error=error)
            conn.execute(
                update(messages)
                .where(messages.c.id.in_(sorted({i for i, _ in pairs})))
                .values(status=status.value, updated_at=utc_now())
            )

    def start_attempt(self, message_id: int, *, target: str) -> int:
        """Record, before anything is sent, that an attempt begins; return its number."""
        now = utc_now()
        with self._transaction() as conn:
            lock_message(conn, message_id, messages.c.id)
            previous = conn.execute(
                select(func.max(delivery_attempts.c.attempt_no)).where(
                    delivery_attempts.c.message_id == message_id
                )
            ).scalar_one()
            attempt_no = int(previous or 0) + 1
            conn.execute(
                insert(delivery_attempts).values(
                    message_id=message_id,
                    attempt_no=attempt_no,
                    target=target,
                    outcome=AttemptOutcome.STARTED.value,
                    started_at=now,
                    finished_at=now,
                )
            )
        return attempt_no

    def stage_attempt(self, message_id: int, attempt_no: int) -> None:
        """Record that the whole payload is at the target under its temporary name."""
        with self._transaction() as conn:
            _set_attempt(conn, message_id, attempt_no, outcome=AttemptOutcome.STAGED)

    def finish_attempt(
        self,
        message_id: int,
        attempt_no: int,
        *,
        outcome: AttemptOutcome,
        status: MessageStatus,
        error: str | None = None,
        disposition: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        """Close the attempt and store the message's new status (and receipt) in one transaction.

        One transaction is what keeps an ERP's order number from being lost:
        a crash leaves either the attempt open (the next try asks again, and
        the target answers with the same order) or everything recorded.
        """
        values: dict[str, Any] = {"status": status.value, "updated_at": utc_now()}
        if disposition is not None:
            values["disposition"] = disposition
        if problems is not None:
            values["problems"] = dump_problems(problems)
        with self._transaction() as conn:
            _set_attempt(conn, message_id, attempt_no, outcome=outcome, error=error)
            conn.execute(update(messages).where(messages.c.id == message_id).values(**values))

    # -- where an inbound file is going ------------------------------------------------------

    def set_disposal(self, message_id: int, disposal: str) -> None:
        """Record where the inbound file is about to be moved (``error:/acme/…/error/x.xml``)."""
        with self._transaction() as conn:
            conn.execute(
                update(messages).where(messages.c.id == message_id).values(disposal=disposal)
            )

    def set_disposals(self, disposals: Mapping[int, str]) -> None:
        """:meth:`set_disposal` for a chunk of messages, in one transaction."""
        if not disposals:
            return
        statement = (
            update(messages)
            .where(messages.c.id == bindparam("b_id"))
            .values(disposal=bindparam("b_disposal"))
        )
        rows = [{"b_id": i, "b_disposal": d} for i, d in sorted(disposals.items())]
        with self._transaction() as conn:
            conn.execute(statement, rows)

    # -- alerts owed -------------------------------------------------------------------------

    def claim_owed_alerts(
        self, *, connection_id: str, flow: str, run_id: str, lease_seconds: int
    ) -> list[MessageSummary]:
        """Claim, for this run's alert, the flow's rejected messages nobody was alerted about.

        Whichever run rejected them (this one, one killed before it could
        fail, the receive step of any run), each is owed one alert; claiming
        them keeps two runs failing at once from alerting about the same ones.
        """
        owed = self._owed(connection_id, flow)
        rejected = (MessageStatus.REJECTED,)
        return [
            m
            for m in owed
            if self.claim(m.id, run_id=run_id, statuses=rejected, lease_seconds=lease_seconds)
        ]

    def owed_alerts_claimed_by(
        self, *, connection_id: str, flow: str, run_id: str
    ) -> list[MessageSummary]:
        """The rejected messages this run claimed for its alert and has not yet alerted about."""
        return self._owed(connection_id, flow, messages.c.claimed_by == run_id)

    def mark_alerted(self, message_ids: Iterable[int]) -> None:
        """Record that the alert about these rejected messages went out, and let them go."""
        ids = sorted(set(message_ids))
        if not ids:
            return
        with self._transaction() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id.in_(ids), messages.c.alerted_at.is_(None))
                .values(alerted_at=utc_now(), claimed_by=None, claimed_until=None)
            )

    def requeue(self, message_id: int) -> None:
        """Put an inbound message back for the next run, as new: no problems, no alert owed yet.

        A user's replay, after fixing master data in Koppel or in the target:
        what the target refused is offered to it again (its outbound copies go
        back to pending); what it took stays delivered. If the checks reject it
        again, that is news worth a new alert. A run holding the message keeps
        its claim: the replay is for the next run, not beside a running one.
        """
        now = utc_now()
        with self._transaction() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(
                    status=MessageStatus.RECEIVED.value,
                    problems=[],
                    alerted_at=None,
                    updated_at=now,
                )
            )
            conn.execute(
                update(messages)
                .where(
                    messages.c.parent_id == message_id,
                    messages.c.status == MessageStatus.REJECTED.value,
                )
                .values(status=MessageStatus.PENDING.value, problems=[], updated_at=now)
            )

    def waiting_counts(self, *, connection_id: str, flow: str) -> dict[MessageStatus, int]:
        """How many of the flow's inbound messages wait in each unfinished status (failed, held, …).

        Inbound only: an outbound copy waits with its inbound message and is
        retried with it, so counting both would count one order twice.
        """
        waiting = [MessageStatus.RECEIVED, MessageStatus.FAILED, MessageStatus.HELD]
        query = (
            select(messages.c.status, func.count())
            .where(
                messages.c.connection_id == connection_id,
                messages.c.flow == flow,
                messages.c.direction == Direction.IN.value,
                messages.c.status.in_([s.value for s in waiting]),
            )
            .group_by(messages.c.status)
        )
        with self._transaction() as conn:
            return {MessageStatus(s): int(n) for s, n in conn.execute(query).all()}

    def _owed(self, connection_id: str, flow: str, *extra: Any) -> list[MessageSummary]:
        query = (
            select(*SUMMARY_COLUMNS)
            .where(
                messages.c.connection_id == connection_id,
                messages.c.flow == flow,
                messages.c.direction == Direction.IN.value,
                messages.c.status == MessageStatus.REJECTED.value,
                messages.c.alerted_at.is_(None),
                *extra,
            )
            .order_by(messages.c.id)
        )
        with self._transaction() as conn:
            return [MessageSummary.from_row(row) for row in conn.execute(query).mappings()]


def lock_message(conn: Connection, message_id: int, column: Any) -> Any:
    """Lock the message's row for this transaction and return one of its columns.

    Raises:
        StoreError: no message has this id.
    """
    query = select(column).where(messages.c.id == message_id).with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise StoreError(f"message {message_id} does not exist")
    return row[0]


def _claimable(
    run_id: str, statuses: Iterable[MessageStatus], now: Any, undisposed: bool
) -> ColumnElement[bool]:
    """In one of ``statuses`` and free for ``run_id``: unclaimed, its own, or the lease ran out."""
    condition = and_(
        messages.c.status.in_([MessageStatus(s).value for s in statuses]),
        or_(
            messages.c.claimed_by.is_(None),
            messages.c.claimed_by == run_id,
            messages.c.claimed_until < now,
        ),
    )
    if undisposed:
        condition = and_(condition, messages.c.disposition.is_(None))
    return condition


def _set_attempts(
    conn: Connection,
    attempts: Sequence[tuple[int, int]],
    *,
    outcome: AttemptOutcome,
    error: str | None = None,
) -> None:
    """Set the outcome of several attempts; each must exist."""
    if not attempts:
        return
    statement = (
        update(delivery_attempts)
        .where(
            delivery_attempts.c.message_id == bindparam("b_message_id"),
            delivery_attempts.c.attempt_no == bindparam("b_attempt_no"),
        )
        .values(outcome=outcome.value, error=error, finished_at=utc_now())
    )
    result = conn.execute(statement, [{"b_message_id": m, "b_attempt_no": a} for m, a in attempts])
    if result.rowcount != len(attempts):
        raise StoreError(f"{len(attempts) - result.rowcount} delivery attempt(s) do not exist")


def _set_attempt(
    conn: Connection,
    message_id: int,
    attempt_no: int,
    *,
    outcome: AttemptOutcome,
    error: str | None = None,
) -> None:
    result = conn.execute(
        update(delivery_attempts)
        .where(
            delivery_attempts.c.message_id == message_id,
            delivery_attempts.c.attempt_no == attempt_no,
        )
        .values(outcome=outcome.value, error=error, finished_at=utc_now())
    )
    if result.rowcount == 0:
        raise StoreError(f"message {message_id} has no delivery attempt {attempt_no}")
