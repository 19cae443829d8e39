"""One dataflow of a connection: what moves, when, and from where to where."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from koppel.config.base import ConfigModel
from koppel.config.catalogue import CatalogueSettings
from koppel.config.document_types import with_document_target
from koppel.config.endpoint import Endpoint
from koppel.config.schedule import check_schedule

if TYPE_CHECKING:
    from koppel.config.connection import ConnectionConfig


class FlowName(StrEnum):
    """The dataflows Koppel knows (SPEC.md section 1); each becomes one DAG per connection."""

    CUSTOMERS = "customers"
    PRODUCTS = "products"
    PRICES = "prices"
    STOCK = "stock"
    ORDERS = "orders"
    STATUS_UPDATES = "status_updates"
    RETURNS = "returns"
    INBOUND_FORECASTS = "inbound_forecasts"
    INBOUND_UPDATES = "inbound_updates"
    PURCHASE_ORDERS = "purchase_orders"
    """Purchase orders out to a supplier (seed 003: store A's internal orders)."""
    DESPATCHES = "despatches"
    """Deliveries out as despatch advices / waybills (seed 003, Peppol T16)."""
    WAYBILLS = "waybills"
    """Waybills in, updating the purchase orders they answer (seed 003)."""
    QUOTES = "quotes"
    """Quotes to the ERP (seed 001: a CRM's quotes, a webshop's quote requests)."""
    INVOICES = "invoices"
    """Invoices for orders the ERP already has (seed 001)."""
    DIRECT_INVOICES = "direct_invoices"
    """Cash sales: order, pick and invoice at once (seed 001's direct invoice)."""
    SALES_INVOICES = "sales_invoices"
    """Invoices without articles, for services a CRM sold (seed 001)."""
    POSTINGS = "postings"
    """Financial mutations: ledger postings at one of four levels (seed 001)."""


#: Default first data interval of a flow.
DEFAULT_START_DATE = date(2026, 1, 1)
#: How long a run holds a message it works on before another run may take it over: long
#: enough for one message's slowest delivery, short enough that a run killed mid-message
#: does not hold it back for long (a retry of the same run takes it back at once).
DEFAULT_CLAIM_SECONDS = 600
#: Default largest inbound file a flow accepts, so one huge file cannot exhaust a worker.
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
#: Default most files one run takes: a burst of 10,000 orders is one run, not twenty.
#: Memory does not grow with it: every step works through the batch in bounded chunks.
DEFAULT_BATCH_SIZE = 10_000


class FlowConfig(ConfigModel):
    """Settings of one flow; ``name`` is taken from its key under ``flows:``.

    Attributes:
        enabled: ``None`` inherits the connection's ``enabled``; flows start
            paused unless one of the two says ``true``.
        schedule: cron expression or Airflow preset; ``None`` runs only by hand.
        options: flow-specific switches such as ``backorder_handling``.
        reply: where the flow reports back to the source system (an order
            cancelled or backordered at import goes back to the ERP).
        rules: named rule steps applied between reading and writing
            (``koppel.pipeline.rules``), e.g. ``stock_allocation``.
        reverse: the flow runs from the connection's target system back to
            its source system (warehouse to ERP: order updates, stock).
        claim_seconds: how long a run may hold one message before another run
            of the flow (a backfill, an "export now" beside the schedule) may
            take it over.
        catalogue: set for a flow of large catalogue files: they are streamed
            record by record, and only changed records go out, in batches
            (``koppel.config.catalogue``, ``docs/catalogues.md``).
    """

    name: FlowName
    description: str
    schedule: str | None = None
    enabled: bool | None = None
    start_date: date = DEFAULT_START_DATE
    catchup: bool = False
    source: Endpoint
    target: Endpoint
    reply: Endpoint | None = None
    rules: list[str] = Field(default_factory=list)
    reverse: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    retries: int = Field(default=2, ge=0)
    retry_delay_seconds: int = Field(default=300, ge=0)
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, gt=0)
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0)
    claim_seconds: int = Field(default=DEFAULT_CLAIM_SECONDS, gt=0)
    catalogue: CatalogueSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _document_target(cls, data: Any) -> Any:
        """``options.document_type`` picks the target's operation and format (seed 001)."""
        return with_document_target(data) if isinstance(data, Mapping) else data

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return None if value is None else check_schedule(value)

    def systems(self, connection: ConnectionConfig) -> tuple[str, str]:
        """Names of the system the flow reads from and the one it writes to."""
        ends = (connection.systems.source.name, connection.systems.target.name)
        return (ends[1], ends[0]) if self.reverse else ends

    def endpoints(self) -> list[tuple[str, Endpoint]]:
        """Every endpoint of the flow with its role: source, target and, if any, reply."""
        ends = [("source", self.source), ("target", self.target)]
        return ends + ([("reply", self.reply)] if self.reply is not None else [])

    def is_enabled(self, connection: ConnectionConfig) -> bool:
        """Whether the flow's DAG starts unpaused: its own setting, else the connection's."""
        return connection.enabled if self.enabled is None else self.enabled
