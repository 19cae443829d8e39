"""What a rule step sees and what it decides: the types every step in ``koppel.pipeline`` shares.

Kept apart from the steps themselves so that steps for one platform can live
in a module of their own (``koppel.pipeline.store_rules``) and still be listed
in the one table of rule names (``koppel.pipeline.rules.RULES``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from koppel.config import ConnectionConfig, FlowConfig
from koppel.documents import CanonicalModel, Problem
from koppel.errors import ConfigError
from koppel.store import MasterDataStore, Message
from koppel.store.repository import MasterDataChange


@dataclass(frozen=True)
class RuleContext:
    """What a rule step may look at besides the documents."""

    connection: ConnectionConfig
    flow: FlowConfig
    message: Message
    master: MasterDataStore
    lookups: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    """Fresh master data from partner systems (a customer's current ERP reference)."""
    rejections: int = 0
    """How many earlier rejections of this message were answered (a replay's new answer
    needs a new id)."""


@dataclass
class RuleResult:
    """The documents to send, and everything else a rule step decided."""

    target: list[CanonicalModel]
    reply: list[CanonicalModel] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    commits: list[MasterDataChange] = field(default_factory=list)
    """Master-data changes, made only once the message is accepted: in the transaction
    that stores its decision, so a crash never keeps one without the other."""
    hold: bool = False
    """Keep the message waiting (status held) and try it again on the next run."""
    rejection_reply: list[CanonicalModel] = field(default_factory=list)
    """Answers to the sender sent only if the message is rejected (an order response with
    the reasons), through the ``reply`` endpoint; ``reply`` is sent only if it is accepted."""


Rule = Callable[[RuleResult, RuleContext], RuleResult]


def carry(result: RuleResult) -> RuleResult:
    """A new result that keeps everything earlier steps decided, with no target yet."""
    return RuleResult(
        target=[],
        reply=list(result.reply),
        notes=list(result.notes),
        commits=list(result.commits),
        hold=result.hold,
        rejection_reply=list(result.rejection_reply),
    )


def answer_id(order_id: str, ctx: RuleContext) -> str:
    """The id of the order response that answers ``order_id`` in this message.

    The message id makes it unique per delivery; a replay after a rejection was
    answered adds the count of rejections, because the buyer already holds an
    answer with the plain id and a second one must not collide with it.
    """
    answer = f"{order_id}-{ctx.message.id}"
    return f"{answer}-{ctx.rejections}" if ctx.rejections else answer


class OrderDecision(Protocol):
    """What an order import decides (SCSN's checks, the Peppol supplier's pricing)."""

    @property
    def sales_order(self) -> CanonicalModel | None: ...

    @property
    def response(self) -> CanonicalModel: ...

    @property
    def problems(self) -> list[Problem]: ...


def take_order_decision(out: RuleResult, decision: OrderDecision) -> None:
    """Add an order import's decision to ``out``: its problems, and what to send.

    An accepted order goes to the target with its response as the reply; a
    rejected one sends only the response, as the rejection reply.
    """
    out.notes += decision.problems
    if decision.sales_order is None:
        out.rejection_reply.append(decision.response)
    else:
        out.target.append(decision.sales_order)
        out.reply.append(decision.response)


_Document = TypeVar("_Document", bound=CanonicalModel)


def expect(document: CanonicalModel, kind: type[_Document], rule: str) -> _Document:
    """A rule applies to one kind of document; another kind means the flow is misconfigured."""
    if not isinstance(document, kind):
        raise ConfigError(
            f"rule {rule} works on {kind.__name__} documents, not {type(document).__name__}"
        )
    return document
