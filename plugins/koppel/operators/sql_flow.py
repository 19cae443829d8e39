"""The receive and finish tasks of a flow reading a database table: receive → process → finish.

Receive reads the rows changed in the run's window (since the flow's
watermark, see :func:`koppel.operators.api_flow.run_window`) as one JSON
message each and stores them before anything reads them; process is the
same engine as for files and APIs; finish moves the watermark to the end of
the window the receive read, so the next run reads only what changed after.

The store and the SQL hooks are imported where they are used: parsing a DAG
file only builds these operators (see ``koppel.operators.base``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Context

from koppel.config import sql_endpoint
from koppel.operators.api_flow import run_window
from koppel.operators.base import RECEIVE_TASK, FlowOperator


class ReceiveSqlOperator(FlowOperator):
    """Store each row of the source table changed since the last run as a message."""

    def execute(self, context: Context) -> dict[str, object]:
        from koppel.hooks.sql import SqlHook
        from koppel.hooks.sql_source import SqlSource
        from koppel.hooks.store import KoppelStoreHook
        from koppel.pipeline.api_receive import receive_answers

        connection, flow = self.load()
        source = sql_endpoint(flow.source, "source")
        store = KoppelStoreHook(self.store_conn_id).get_store()
        since, until = run_window(
            context, store.get_watermark(connection.id, flow.name), flow.start_date
        )
        hook = SqlHook(source.conn_id)
        try:
            rows = SqlSource(hook.get_engine(), source).changed(since, until)
            outcome = receive_answers(rows, store, connection, flow, run_id=context["run_id"])
        finally:
            hook.dispose()
        return {**outcome.as_dict(), "until": until.isoformat()}


class FinishSqlOperator(FlowOperator):
    """Move the watermark to the end of the window read, then fail on rejections."""

    def execute(self, context: Context) -> dict[str, object]:
        from koppel.hooks.store import KoppelStoreHook

        connection, flow = self.load()
        store = KoppelStoreHook(self.store_conn_id).get_store()
        received = context["ti"].xcom_pull(task_ids=RECEIVE_TASK) or {}
        extra: dict[str, object] = {}
        if until := received.get("until"):
            current = store.get_watermark(connection.id, flow.name)
            if current is None or datetime.fromisoformat(current) < datetime.fromisoformat(until):
                store.set_watermark(connection.id, flow.name, until)
            extra["watermark"] = store.get_watermark(connection.id, flow.name)
        return self.finish(context, extra, where="see the messages")
