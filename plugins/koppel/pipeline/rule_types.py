"""What a rule step sees and what it decides: the types every step in ``koppel.pipeline`` shares.

Kept apart from the steps themselves so that steps for one platform can live
in a module of their own (``koppel.pipeline.store_rules``) and still be listed
in the one table of rule names (``koppel.pipeline.rules.RULES``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

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


_Document = TypeVar("_Document", bound=CanonicalModel)


def expect(document: CanonicalModel, kind: type[_Document], rule: str) -> _Document:
    """A rule applies to one kind of document; another kind means the flow is misconfigured."""
    if not isinstance(document, kind):
        raise ConfigError(
            f"rule {rule} works on {kind.__name__} documents, not {type(document).__name__}"
        )
    return document
