"""The three tasks of an API flow: receive → process → finish.

Receive asks the source API for what changed in the run's window (or, for
portal orders, what waits to be exported) and stores every answer before
anything reads it. Process is the same engine as for files. Finish tells the
source what happened (an order exported, with the ERP's number) and moves the
watermark, so the next run asks only for what changed after this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from airflow.sdk import Context

from koppel.config import ApiEndpoint, ConnectionConfig, FlowConfig, api_endpoint
from koppel.errors import ConfigError
from koppel.hooks.store import KoppelStoreHook
from koppel.operators.base import RECEIVE_TASK, FlowOperator, resends
from koppel.pipeline.api_receive import Received, page_name, receive_answers
from koppel.store import Direction, MessageStatus, MessageStore


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
                source, list(params.get("references") or ()), changed_since=changed_since
            )
        outcome = receive_answers(answers, store, connection, flow, run_id=context["run_id"])
        return {**outcome.as_dict(), "until": window[1].isoformat()}


def _soap_pages(source: ApiEndpoint, since: datetime, until: datetime) -> Iterator[Received]:
    from koppel.hooks.ipsoft import IPSoftHook

    hook = IPSoftHook(source.conn_id)
    operation: Any = source.operation
    for page in hook.list_pages(
        operation, modified_since=since, modified_until=until, page_size=source.page_size
    ):
        yield Received(page_name(source.operation, since, until, page.number), page.envelope)


def _portal_orders(
    source: ApiEndpoint, references: list[str], *, changed_since: datetime | None
) -> Iterator[Received]:
    """Each order waiting in the portal (or only those asked for), fetched and stored one by one.

    One message per order, so one customer's missing reference holds back
    that customer's orders and nobody else's. Orders already exported but
    changed since the last run are fetched too: the change is not exported
    again, but it is recorded (from the second run on: a first run must not
    take orders some other tool exported before for changes). The listings are
    read completely before any order is fetched: nothing is marked exported
    while paging.
    """
    from koppel.hooks.lenewblack import LeNewBlackHook, api_path

    hook = LeNewBlackHook(source.conn_id)
    if not references:
        pages = list(
            hook.list_orders(
                status=source.params.get("status"), updated_since=None, page_size=source.page_size
            )
        )
        if changed_since is not None:
            pages += hook.list_orders(
                status="exported", updated_since=changed_since, page_size=source.page_size
            )
        references = list(
            dict.fromkeys(
                order["reference"] for page in pages for order in json.loads(page.body)["orders"]
            )
        )
    for reference in references:
        path = api_path("orders", reference)
        yield Received(f"{source.operation}/{reference}", hook.get_bytes(path))


class FinishApiOperator(FlowOperator):
    """Tell the source what became of its records, move the watermark, fail on rejections."""

    def execute(self, context: Context) -> dict[str, object]:
        connection, flow = self.load()
        source = api_endpoint(flow.source, "source")
        store = KoppelStoreHook(self.store_conn_id).get_store()
        extra: dict[str, Any] = {}
        if source.transport == "http":
            extra["confirmed"] = _confirm_exports(store, connection, flow, source)
        received = context["ti"].xcom_pull(task_ids=RECEIVE_TASK) or {}
        if until := received.get("until"):
            current = store.get_watermark(connection.id, flow.name)
            if current is None or datetime.fromisoformat(current) < datetime.fromisoformat(until):
                store.set_watermark(connection.id, flow.name, until)
            extra["watermark"] = store.get_watermark(connection.id, flow.name)
        return self.finish(context, extra, where="see the messages")


def _confirm_exports(
    store: MessageStore, connection: ConnectionConfig, flow: FlowConfig, source: ApiEndpoint
) -> int:
    """Mark each order exported in the portal with the ERP's order number, once."""
    from koppel.hooks.lenewblack import LeNewBlackHook

    hook = LeNewBlackHook(source.conn_id)
    confirmed = 0
    for message in store.find(
        connection_id=connection.id,
        flow=flow.name,
        direction=Direction.IN,
        statuses=[MessageStatus.DELIVERED],
        disposed=False,
    ):
        numbers = [
            out.disposition.split(":", 1)[1]
            for out in store.find(
                connection_id=connection.id,
                flow=flow.name,
                direction=Direction.OUT,
                parent_id=message.id,
                statuses=[MessageStatus.DELIVERED],
            )
            if out.disposition and ":" in out.disposition
        ]
        if not numbers or not message.document_key:
            raise ConfigError(f"message {message.id} was delivered without an ERP order number")
        hook.mark_exported(message.document_key, numbers[0])
        store.set_disposition(message.id, f"exported:{numbers[0]}")
        confirmed += 1
    return confirmed
