"""Finish of a portal order flow: tell the portal each delivered order is exported, with its number.

A delivered order is marked exported in the portal with the number the ERP
gave it, and the message is then disposed (``exported:<number>``), so it is
marked once. Two things must never stop the other orders from being marked:

- a number that was never recorded (the process died between storing the
  delivery and storing the ERP's answer) is asked of the ERP again, by the
  portal reference the order was created under;
- an order that cannot be marked (the ERP does not know it, the portal
  refuses) gets an error on its message and is left for the next run, while
  the others are marked; the caller fails the run with the reasons.

Marking is repeatable: the portal answers a second mark with the same number
as the first, which is what a rerun after a crash between the mark and its
record does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from koppel.documents import Problem, Severity
from koppel.errors import FatalSyncError, RetriableSyncError, TransportError
from koppel.faults import failpoint
from koppel.store import Direction, Message, MessageStatus, MessageStore

log = logging.getLogger(__name__)

#: The problem left on an order that could not be marked exported.
UNCONFIRMED = "export.unconfirmed"


class Portal(Protocol):
    """Where the orders came from: it is told which ERP number each one got."""

    def mark_exported(self, reference: str, erp_order_number: str) -> None:
        """Mark the order exported with ``erp_order_number``; repeating it is harmless."""
        ...


class Erp(Protocol):
    """Where the orders went: it can say which number it gave an order."""

    def order_number(self, reference: str) -> str | None:
        """The ERP's number for the order created under portal ``reference``, or None."""
        ...


class _MarksPerType(Protocol):
    def mark_exported(
        self, collection: str, reference: str, document_type: str, erp_document_number: str
    ) -> None: ...


@dataclass(frozen=True)
class DocumentExports:
    """A source that marks its records exported per document type (a webshop, a CRM), as a
    :class:`Portal`: this flow's collection and document type are fixed."""

    source: _MarksPerType
    collection: str
    document_type: str

    def mark_exported(self, reference: str, erp_order_number: str) -> None:
        """Mark the record exported as this flow's document type with the ERP's number."""
        self.source.mark_exported(self.collection, reference, self.document_type, erp_order_number)


class _FindsDocuments(Protocol):
    def document_number(self, document_type: str, reference: str) -> str | None: ...


@dataclass(frozen=True)
class ErpDocuments:
    """An ERP that finds each document type by its source reference, as an :class:`Erp`."""

    erp: _FindsDocuments
    document_type: str

    def order_number(self, reference: str) -> str | None:
        """The number of the document of this flow's type the ERP made for ``reference``."""
        return self.erp.document_number(self.document_type, reference)


@dataclass(frozen=True)
class ExportSystems:
    """The two systems of the flow, and their names for messages a user reads.

    Attributes:
        erp_transport: how the ERP was delivered to (``soap``): the prefix of
            a recorded order number, as delivery records it.
    """

    portal: Portal
    erp: Erp
    portal_name: str
    erp_name: str
    erp_transport: str


@dataclass
class Confirmation:
    """What the finish step did: orders marked, numbers fetched back, and what it could not do."""

    confirmed: int = 0
    recovered: int = 0
    """Order numbers asked of the ERP again because their recording was lost."""
    failed: list[str] = field(default_factory=list)
    """Why an order was not marked, one per order; each is also an error on its message."""
    retry: list[str] = field(default_factory=list)
    """Orders not marked because the ERP could not be asked: tried again on the next run."""


class _UnconfirmableError(FatalSyncError):
    """This order cannot be marked exported until someone looks at it; the message says why."""


class _ErpUnreachableError(RetriableSyncError):
    """The ERP could not be asked for a lost order number; nothing is wrong with the order."""


def confirm_exports(
    store: MessageStore, connection_id: str, flow: str, systems: ExportSystems
) -> Confirmation:
    """Mark every delivered, not yet confirmed order exported in the portal, one by one.

    Raises:
        TransportError: the portal cannot be reached, so no order can be marked now.
    """
    outcome = Confirmation()
    for message in store.find(
        connection_id=connection_id,
        flow=flow,
        direction=Direction.IN,
        statuses=[MessageStatus.DELIVERED],
        disposed=False,
    ):
        outbound = store.find(
            connection_id=connection_id,
            flow=flow,
            direction=Direction.OUT,
            parent_id=message.id,
            statuses=[MessageStatus.DELIVERED],
        )
        try:
            number = _confirm_one(store, message, outbound, systems, outcome)
        except _ErpUnreachableError as exc:
            outcome.retry.append(f"message {message.id}: {exc}")
            log.warning("message %d is marked exported on a later run: %s", message.id, exc)
            continue
        except FatalSyncError as exc:  # the ERP does not know it, the portal refuses it
            reason = f"not marked exported in {systems.portal_name}: {exc}"
            _record_error(store, message, reason)
            outcome.failed.append(f"message {message.id} ({message.document_key}) {reason}")
            log.error("message %d %s", message.id, reason)
            continue
        failpoint("finish.marked_exported")
        store.set_disposition(message.id, f"exported:{number}")
        outcome.confirmed += 1
    return outcome


def _confirm_one(
    store: MessageStore,
    message: Message,
    outbound: list[Message],
    systems: ExportSystems,
    outcome: Confirmation,
) -> str:
    """Mark one order exported and return its number, recovering the number if it was lost."""
    reference = message.document_key
    if not reference:
        raise _UnconfirmableError("the message has no portal order reference")
    recorded = [out.disposition.split(":", 1)[1] for out in outbound if out.disposition]
    if recorded:
        number = recorded[0]
    elif outbound:
        number = _recover_number(store, reference, outbound[0], systems)
        outcome.recovered += 1
    else:
        raise _UnconfirmableError(f"no delivery to {systems.erp_name} is recorded for it")
    systems.portal.mark_exported(reference, number)
    return number


def _recover_number(
    store: MessageStore, reference: str, out: Message, systems: ExportSystems
) -> str:
    """Ask the ERP for the number it gave the order, and record it where delivery would have."""
    erp = systems.erp_name
    try:
        number = systems.erp.order_number(reference)
    except TransportError as exc:
        raise _ErpUnreachableError(
            f"its {erp} order number was not recorded and {erp} could not be asked: {exc}"
        ) from exc
    if number is None:
        raise _UnconfirmableError(
            f"it was delivered to {erp} (message {out.id}) but its order number was not"
            f" recorded, and {erp} has no order {reference}: check the order in {erp}"
        )
    store.set_disposition(out.id, f"{systems.erp_transport}:{number}")
    log.warning(
        "order %s: %s order number %s fetched back from %s (its recording was lost)",
        reference,
        erp,
        number,
        erp,
    )
    return number


def _record_error(store: MessageStore, message: Message, reason: str) -> None:
    """Put the reason on the message as an error, once however many runs meet it."""
    problem = Problem(code=UNCONFIRMED, severity=Severity.ERROR, message=reason)
    if problem not in message.problems:
        store.add_problems(message.id, [problem])
