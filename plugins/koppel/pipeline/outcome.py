"""Counts per step, small enough for XCom and the demo's summary line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from koppel.store import MessageStatus


@dataclass
class ReceiveOutcome:
    """What one receive step found in the inbound folder."""

    received: int = 0
    """Files stored as new messages."""
    duplicates: int = 0
    """Files already received before (same name and content); archived without processing."""
    message_ids: list[int] = field(default_factory=list)
    rejected: int = 0
    """Files refused as they came in (too large to download): stored rejected, never parsed."""
    rejected_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class ProcessOutcome:
    """Per-message results of one process step."""

    delivered: int = 0
    skipped: int = 0
    """Accepted, but nothing to send (a split order's shipment is never reported)."""
    held: int = 0
    """Waiting for master data to be fixed (an order whose customer has no ERP reference)."""
    rejected: int = 0
    rejected_ids: list[int] = field(default_factory=list)
    taken_by_others: int = 0
    """Messages another run of the flow was working on; that run reports them."""

    def count(self, status: MessageStatus, message_id: int) -> None:
        """Count one message this run took to ``status``."""
        if status is MessageStatus.DELIVERED:
            self.delivered += 1
        elif status is MessageStatus.SKIPPED:
            self.skipped += 1
        elif status is MessageStatus.HELD:
            self.held += 1
        elif status is MessageStatus.REJECTED:
            self.rejected += 1
            self.rejected_ids.append(message_id)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class AcknowledgeOutcome:
    """Where the inbound files went."""

    archived: int = 0
    errored: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
