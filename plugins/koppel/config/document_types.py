"""Seed 001's document types as a flow option: ``document_type`` decides what the target creates.

A connection hands an order over in the phase it chooses (SPEC.md section 3):
as a quote, an order, an invoice for an order already there, a direct invoice
(a cash sale), a sales invoice without articles, or a financial mutation. A
merchant says which with one option::

    flows:
      orders:
        options: {document_type: direct_invoice}

and the flow's target follows: for a target system that creates each type
with its own operation (IPSoft: CreateQuote, CreateOrder, ...), the option
picks the operation and the wire format, so the merchant cannot name one and
send the other. ``ledger_level`` says how detailed a financial mutation is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from koppel.config.endpoint import ApiEndpoint
from koppel.config.problems import ConfigProblem
from koppel.errors import ConfigError

if TYPE_CHECKING:
    from koppel.config.connection import ConnectionConfig
    from koppel.config.flows import FlowConfig

DOCUMENT_TYPES = (
    "quote",
    "order",
    "invoice",
    "direct_invoice",
    "sales_invoice",
    "financial_mutation",
)
#: What a flow hands over when it names no type: the common case of seed 001.
DEFAULT_DOCUMENT_TYPE = "order"
#: A financial mutation's levels of detail, least first (seed 001).
LEDGER_LEVELS = ("simple", "recommended", "advanced", "extreme")
#: The level a financial mutation gets when the flow names none: the seed's advice.
DEFAULT_LEDGER_LEVEL = "recommended"

#: Per target system (the prefix of its formats): document type -> (operation, format).
DOCUMENT_TARGETS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "ipsoft": {
        "quote": ("CreateQuote", "ipsoft.create_quote"),
        "order": ("CreateOrder", "ipsoft.create_order"),
        "invoice": ("CreateInvoice", "ipsoft.create_invoice"),
        "direct_invoice": ("CreateDirectInvoice", "ipsoft.create_direct_invoice"),
        "sales_invoice": ("CreateSalesInvoice", "ipsoft.create_sales_invoice"),
        "financial_mutation": ("CreateJournalEntry", "ipsoft.create_journal_entry"),
    },
}


def document_type_of(flow: FlowConfig) -> str:
    """The document type ``flow`` creates in its target: its option, else the default."""
    return str(flow.options.get("document_type", DEFAULT_DOCUMENT_TYPE))


def target_system(endpoint: Mapping[str, Any] | ApiEndpoint) -> str:
    """The system an endpoint talks to, by its format's prefix (``ipsoft.create_order``)."""
    fmt = endpoint.format if isinstance(endpoint, ApiEndpoint) else endpoint.get("format")
    return str(fmt or "").split(".", 1)[0]


def with_document_target(flow: Mapping[str, Any]) -> Mapping[str, Any]:
    """The flow as YAML gave it, its target's operation and format set by ``document_type``.

    Left as it is when the option is absent or not a known type, or the target
    system creates no documents per type: :func:`document_type_problems`
    reports those once the flow is loaded.
    """
    options, target = flow.get("options"), flow.get("target")
    if not isinstance(options, Mapping) or not isinstance(target, Mapping):
        return flow
    kind = options.get("document_type")
    table = DOCUMENT_TARGETS.get(target_system(target), {})
    if not isinstance(kind, str) or kind not in table:
        return flow
    operation, fmt = table[kind]
    return {**flow, "target": {**target, "operation": operation, "format": fmt}}


def document_type_problems(config: ConnectionConfig) -> list[ConfigProblem]:
    """What cannot work in the flows' document types, ledger levels and ledger accounts."""
    path = str(config.path)
    problems: list[ConfigProblem] = []
    posting = False
    for name, flow in config.flows.items():
        options = flow.options
        kind = options.get("document_type")
        field = f"flows.{name}.options"
        if kind is not None and kind in DOCUMENT_TYPES:
            system = target_system(flow.target) if isinstance(flow.target, ApiEndpoint) else ""
            if system not in DOCUMENT_TARGETS:
                problems.append(
                    ConfigProblem(
                        path,
                        f"{field}.document_type",
                        f"the target ({system or flow.target.transport}) does not create documents"
                        f" per type; document types go to: {', '.join(DOCUMENT_TARGETS)}",
                    )
                )
        if "ledger_level" in options and kind != "financial_mutation":
            problems.append(
                ConfigProblem(
                    path,
                    f"{field}.ledger_level",
                    "ledger_level applies only with document_type: financial_mutation",
                )
            )
        if kind == "financial_mutation":
            posting = True
            level = options.get("ledger_level", DEFAULT_LEDGER_LEVEL)
            problems += _account_problems(config, level, f"{field}.ledger_level")
    if posting and config.ledger_accounts is None:
        problems.append(
            ConfigProblem(
                path,
                "ledger_accounts",
                "a flow posts financial mutations: map the ledger accounts (debtor, revenue per"
                " tax rate, tax_payable per rate, rounding, ...) under ledger_accounts",
            )
        )
    return problems


def _account_problems(config: ConnectionConfig, level: object, field: str) -> list[ConfigProblem]:
    """The simple level books the whole total on one account: it must be mapped."""
    if config.ledger_accounts is None or level != "simple":
        return []
    try:
        accounts = config.accounts()
    except ConfigError:
        return []  # the connection's own validation reports the broken mapping
    if accounts.turnover is None:
        return [
            ConfigProblem(
                str(config.path),
                field,
                "the simple level books the total on ledger_accounts.turnover: map it",
            )
        ]
    return []
