"""The destinations of a task run, built from Airflow connections."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from koppel.config import ApiEndpoint, FileEndpoint, FlowConfig, SqlEndpoint
from koppel.config.document_types import DOCUMENT_TARGETS
from koppel.errors import ConfigError
from koppel.files import FileSession
from koppel.hooks.file_sessions import open_file_session
from koppel.pipeline.destinations import Destination, Destinations

if TYPE_CHECKING:
    from koppel.documents import Order
    from koppel.hooks.ipsoft import IPSoftHook
    from koppel.hooks.lenewblack import LeNewBlackHook
    from koppel.rules.erp_master_data import OrderMasterData


@dataclass(frozen=True)
class HttpPutDestination:
    """A portal resource: the payload is PUT to the target path (an upsert)."""

    hook: LeNewBlackHook

    def deliver(self, target_name: str, payload: bytes) -> str | None:
        from koppel.hooks.lenewblack import LeNewBlackError

        try:
            self.hook.put(target_name, payload)
        except LeNewBlackError as exc:
            if exc.status in {401, 403}:
                # Every record would be refused the same way: fix the connection, not the data.
                raise ConfigError(f"Le New Black refused the credentials: {exc}") from exc
            raise
        return None


@dataclass(frozen=True)
class SoapCreateDocumentDestination:
    """The ERP's Create operations (CreateOrder, CreateQuote, ..., CreateJournalEntry).

    The payload is the request, whose root names the operation; the receipt
    is the number the ERP gave the document. Every one is idempotent on the
    source's reference, so a retry after a lost answer creates nothing twice.
    """

    hook: IPSoftHook

    def deliver(self, target_name: str, payload: bytes) -> str | None:
        from koppel.hooks.ipsoft import IPSoftFaultError

        try:
            return self.hook.create_document(payload).number
        except IPSoftFaultError as exc:
            if exc.code == "AUTHENTICATION_FAILED":
                raise ConfigError(f"IPSoft refused the credentials: {exc}") from exc
            raise


#: The SOAP operations Koppel delivers to: one per document type (seed 001).
CREATE_OPERATIONS = frozenset(
    operation for table in DOCUMENT_TARGETS.values() for operation, _ in table.values()
)


def _open_session(endpoint: FileEndpoint) -> AbstractContextManager[FileSession]:
    return open_file_session(endpoint.transport, endpoint.conn_id)


@contextmanager
def _open_api(endpoint: ApiEndpoint) -> Iterator[Destination]:
    if endpoint.transport == "http":
        from koppel.hooks.lenewblack import LeNewBlackHook

        yield HttpPutDestination(LeNewBlackHook(endpoint.conn_id))
    elif endpoint.operation in CREATE_OPERATIONS:
        from koppel.hooks.ipsoft import IPSoftHook

        yield SoapCreateDocumentDestination(IPSoftHook(endpoint.conn_id))
    else:
        raise ConfigError(f"Koppel cannot deliver to SOAP operation {endpoint.operation!r}")


@contextmanager
def _open_sql(endpoint: SqlEndpoint) -> Iterator[Destination]:
    from koppel.hooks.sql import SqlDestination, SqlHook

    hook = SqlHook(endpoint.conn_id)
    try:
        yield SqlDestination(hook.get_engine(), endpoint)
    finally:
        hook.dispose()


def open_destinations() -> Destinations:
    """Destinations for every endpoint kind Koppel delivers to, opened on first use."""
    return Destinations(open_session=_open_session, open_api=_open_api, open_sql=_open_sql)


def portal_lookups(flow: FlowConfig) -> dict[str, Callable[..., Any]]:
    """Master data a rule may ask the portal for while it processes (seed 004's references)."""
    source = flow.source
    if not (isinstance(source, ApiEndpoint) and source.transport == "http"):
        return {}
    from koppel.hooks.lenewblack import LeNewBlackHook

    hook = LeNewBlackHook(source.conn_id)

    def customer_reference(customer_id: str) -> str | None:
        customer = hook.customer(customer_id)
        return None if customer is None else customer.get("erp_reference")

    return {"customer_reference": customer_reference}


#: The rule that checks SCSN orders against the ERP's master data (seed 002).
SCSN_ORDER_IMPORT = "scsn_order_import"


def flow_lookups(flow: FlowConfig) -> dict[str, Callable[..., Any]]:
    """Master data the flow's rules may read while they process, from the systems it talks to.

    The portal's lookups (:func:`portal_lookups`), and for an SCSN order
    import into an ERP database the ERP's master data per order
    (``erp_order_master_data``), read fresh for each message from the
    flow's target database.
    """
    lookups = portal_lookups(flow)
    if SCSN_ORDER_IMPORT in flow.rules and isinstance(flow.target, SqlEndpoint):
        lookups["erp_order_master_data"] = _erp_master_data(flow.target.conn_id)
    lookups |= store_lookups(flow)
    lookups |= erp_product_lookups(flow)
    return lookups


#: The rule that hands orders over as the flow's document type (seed 001).
DOCUMENT_TYPE = "document_type"


def erp_product_lookups(flow: FlowConfig) -> dict[str, Callable[..., Any]]:
    """Which products the ERP knows, asked per message for the ``document_type`` rule.

    Asked of the flow's target, not of a copy in the store: an article
    created in the ERP a minute ago releases a held order on the next run.
    """
    target = flow.target
    if DOCUMENT_TYPE not in flow.rules or not (
        isinstance(target, ApiEndpoint) and target.transport == "soap"
    ):
        return {}
    from koppel.hooks.ipsoft import IPSoftHook

    hook = IPSoftHook(target.conn_id)
    return {"known_skus": hook.known_skus}


def store_lookups(flow: FlowConfig) -> dict[str, Callable[..., Any]]:
    """The store-database reads the flow's store rules ask for (seed 003, the Peppol supplier).

    Each store flow has one store database: its SQL target (an order or a
    waybill written into it) or, failing that, its SQL source (a purchase
    order or a delivery read from it). A store rule in a flow with neither
    gets no lookup and says so when it runs.
    """
    from koppel.pipeline.store_rules import (
        DELIVERED_SALES_ORDER,
        PURCHASE_ORDER,
        SALES_MASTER_DATA,
        STORE_RULES,
    )

    wanted = {STORE_RULES[name][1] for name in flow.rules if name in STORE_RULES}
    database = next(
        (e for e in (flow.target, flow.source) if isinstance(e, SqlEndpoint)),
        None,
    )
    if not wanted or database is None:
        return {}
    from koppel.hooks.sql import SqlHook
    from koppel.hooks.store_erp import StoreErpReader

    hook = SqlHook(database.conn_id)

    def reader() -> StoreErpReader:
        return StoreErpReader(hook.get_engine())

    available: dict[str, Callable[..., Any]] = {
        SALES_MASTER_DATA: lambda order: reader().sales_master_data(order),
        PURCHASE_ORDER: lambda number: reader().purchase_order(number),
        DELIVERED_SALES_ORDER: lambda order, delivery: reader().delivered_sales_order(
            order, delivery
        ),
    }
    return {name: available[name] for name in wanted}


def _erp_master_data(conn_id: str) -> Callable[[Order], OrderMasterData]:
    """A reader of the ERP's master data, connecting on its first order (not at DAG parse)."""
    from koppel.hooks.isah import IsahReader
    from koppel.hooks.sql import SqlHook

    hook = SqlHook(conn_id)

    def order_master_data(order: Order) -> OrderMasterData:
        return IsahReader(hook.get_engine()).order_master_data(order)

    return order_master_data
