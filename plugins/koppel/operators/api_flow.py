"""The three tasks of an API flow: receive → process → finish.

Receive asks the source API for what changed in the run's window (or, for
portal orders, what waits to be exported) and stores every answer before
anything reads it. Process is the same engine as for files. Finish tells the
source what happened (an order exported, with the ERP's number) and moves the
watermark, so the next run asks only for what changed after this one.

The store, the pipeline and the API hooks are imported where they are used:
parsing a DAG file only builds these operators (see ``koppel.operators.base``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from koppel.config import ApiEndpoint, ConnectionConfig, FlowConfig, api_endpoint
from koppel.config.document_types import document_type_of
from koppel.errors import ConfigError, TransportError
from koppel.operators.base import RECEIVE_TASK, FlowOperator, resends

if TYPE_CHECKING:
    from koppel.pipeline.api_receive import Received
    from koppel.pipeline.export_confirmation import Confirmation
    from koppel.store import MessageStore


def run_window(context: Context, watermark: str | None, start: date) -> tuple[datetime, datetime]:
    """The time window a run asks the source for.

    A scheduled or manual run asks for everything modified since the last
    successful run (the watermark) up to now, so nothing modified between two
    runs is missed whenever they run. A backfill, or a run asked to resend,
    asks for its own data interval, so a backfill over a date range resends
    that range and nothing else.
    """
    now = datetime.now(UTC)
    first, last = context.get("data_interval_start"), context.get("data_interval_end")
    if resends(context) and first is not None and last is not None and first < last:
        return first, last
    since = (
        datetime.fromisoformat(watermark)
        if watermark
        else datetime.combine(start, time.min, tzinfo=UTC)
    )
    return since, max(now, since)


class ReceiveApiOperator(FlowOperator):
    """Store the source API's answers: IPSoft list pages, or Le New Black orders one by one."""

    def execute(self, context: Context) -> dict[str, object]:
        from koppel.hooks.store import KoppelStoreHook
        from koppel.pipeline.api_receive import receive_answers

        connection, flow = self.load()
        source = api_endpoint(flow.source, "source")
        store = KoppelStoreHook(self.store_conn_id).get_store()
        params = context["params"]
        watermark = store.get_watermark(connection.id, flow.name)
        window = run_window(context, watermark, flow.start_date)
        if source.transport == "soap":
            answers = _soap_pages(source, *window)
        else:
            changed_since = window[0] if watermark else None
            answers = _portal_orders(
                store,
                connection,
                flow,
                list(params.get("references") or ()),
                changed_since=changed_since,
            )
        outcome = receive_answers(answers, store, connection, flow, run_id=context["run_id"])
        return {**outcome.as_dict(), "until": window[1].isoformat()}


def _soap_pages(source: ApiEndpoint, since: datetime, until: datetime) -> Iterator[Received]:
    from koppel.hooks.ipsoft import IPSoftHook
    from koppel.pipeline.api_receive import Received, page_name

    hook = IPSoftHook(source.conn_id)
    operation: Any = source.operation
    for page in hook.list_pages(
        operation, modified_since=since, modified_until=until, page_size=source.page_size
    ):
        yield Received(page_name(source.operation, since, until, page.number), page.envelope)


def _portal_orders(
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    references: list[str],
    *,
    changed_since: datetime | None,
) -> Iterator[Received]:
    """Each record waiting in the source (or only those asked for), fetched and stored one by one.

    One message per record (a portal order, a webshop order, a CRM quote or
    deal), so one customer's missing reference or one unknown product holds
    back that record and nobody else's. A source that marks exports per
    document type is asked only for what this flow's type has not exported
    yet (``not_exported_as``). Le New Black's orders already exported but
    changed since the last run are fetched too: the change is not exported
    again, but it is recorded (from the second run on: a first run must not
    take orders some other tool exported before for changes). Being marked
    exported by Koppel is not such a change (``portal_changes``). The listings
    are read completely before any record is fetched: nothing is marked
    exported while paging.
    """
    from koppel.hooks.json_api import api_path
    from koppel.hooks.lenewblack import LeNewBlackHook
    from koppel.hooks.record_sources import RecordSourceHook, collection_of, source_hook
    from koppel.pipeline.api_receive import Received
    from koppel.pipeline.portal_changes import changed_exports, order_source_name

    source = api_endpoint(flow.source, "source")
    hook = source_hook(source)
    collection = collection_of(source.operation)
    if not references:
        params: dict[str, str] = dict(source.params)
        if isinstance(hook, RecordSourceHook):
            params["not_exported_as"] = document_type_of(flow)
        waiting = list(hook.list_pages(collection, params, page_size=source.page_size))
        references = [r["reference"] for page in waiting for r in json.loads(page.body)[collection]]
        if changed_since is not None and isinstance(hook, LeNewBlackHook):
            exported = hook.list_orders(
                status="exported", updated_since=changed_since, page_size=source.page_size
            )
            pages = [page.body for page in exported]
            references += changed_exports(store, connection.id, flow.name, source.operation, pages)
        references = list(dict.fromkeys(references))
    for reference in references:
        path = api_path(collection, reference)
        yield Received(order_source_name(source.operation, reference), hook.get_bytes(path))


class FinishApiOperator(FlowOperator):
    """Tell the source what became of its records, move the watermark, fail on rejections."""

    def execute(self, context: Context) -> dict[str, object]:
        from koppel.hooks.store import KoppelStoreHook
        from koppel.pipeline.export_confirmation import Confirmation

        connection, flow = self.load()
        source = api_endpoint(flow.source, "source")
        store = KoppelStoreHook(self.store_conn_id).get_store()
        extra: dict[str, Any] = {}
        confirmation = Confirmation()
        if source.transport == "http":
            confirmation = _confirm_exports(store, connection, flow, source)
            extra["confirmed"] = confirmation.confirmed
            extra["recovered"] = confirmation.recovered
        received = context["ti"].xcom_pull(task_ids=RECEIVE_TASK) or {}
        if until := received.get("until"):
            current = store.get_watermark(connection.id, flow.name)
            if current is None or datetime.fromisoformat(current) < datetime.fromisoformat(until):
                store.set_watermark(connection.id, flow.name, until)
            extra["watermark"] = store.get_watermark(connection.id, flow.name)
        summary = self.finish(context, extra, where="see the messages")
        _fail_unconfirmed(confirmation)
        return summary


def _confirm_exports(
    store: MessageStore, connection: ConnectionConfig, flow: FlowConfig, source: ApiEndpoint
) -> Confirmation:
    """Mark each delivered record exported in its source with the ERP's number, once."""
    from koppel.hooks.ipsoft import IPSoftHook
    from koppel.hooks.lenewblack import LeNewBlackHook
    from koppel.hooks.record_sources import RecordSourceHook, collection_of, source_hook
    from koppel.pipeline.export_confirmation import (
        DocumentExports,
        ErpDocuments,
        ExportSystems,
        Portal,
        confirm_exports,
    )

    target = api_endpoint(flow.target, "target")
    portal_name, erp_name = flow.systems(connection)
    hook = source_hook(source)
    erp = IPSoftHook(target.conn_id)
    kind = document_type_of(flow)
    portal: Portal
    if isinstance(hook, RecordSourceHook):
        portal = DocumentExports(hook, collection_of(source.operation), kind)
    elif isinstance(hook, LeNewBlackHook):
        portal = hook
    else:
        raise ConfigError(f"{portal_name} cannot be told which orders were exported")
    systems = ExportSystems(
        portal=portal,
        erp=ErpDocuments(erp, kind),
        portal_name=portal_name,
        erp_name=erp_name,
        erp_transport=target.transport,
    )
    return confirm_exports(store, connection.id, flow.name, systems)


def _fail_unconfirmed(confirmation: Confirmation) -> None:
    """Fail the run, after every other order was marked, for the orders that could not be.

    An order that needs someone to look at it fails the run without retries;
    one that waits only for the ERP to answer again lets the task retry.
    """
    if confirmation.failed:
        raise AirflowFailException(
            f"{len(confirmation.failed)} delivered order(s) could not be marked exported: "
            + "; ".join(confirmation.failed + confirmation.retry)
        )
    if confirmation.retry:
        raise TransportError(
            f"{len(confirmation.retry)} delivered order(s) not marked exported yet: "
            + "; ".join(confirmation.retry)
        )
