"""The three tasks of a file flow: receive → process → acknowledge.

Each operator reloads its connection file when it runs (cheap, and the
worker's copy is the truth), opens one session on the server it needs, calls
one pipeline function and returns counts for XCom, never payloads. What that
needs is imported in ``execute``: parsing a DAG file builds these operators
and must not load the store, the pipeline or the transports.
"""

from __future__ import annotations

from airflow.sdk import Context

from koppel.config import file_endpoint
from koppel.operators.base import FlowOperator, resends


class ReceiveFilesOperator(FlowOperator):
    """Store every complete file of the inbound folder as a message (received means stored)."""

    def execute(self, context: Context) -> dict[str, object]:
        from koppel.hooks.file_sessions import open_file_session
        from koppel.hooks.store import KoppelStoreHook
        from koppel.pipeline import receive_batch

        connection, flow = self.load()
        params = context["params"]
        store = KoppelStoreHook(self.store_conn_id).get_store()
        source = file_endpoint(flow.source, "source")
        with open_file_session(source.transport, source.conn_id) as session:
            outcome = receive_batch(
                session,
                store,
                connection,
                flow,
                run_id=context["run_id"],
                only=list(params.get("only_files") or ()),
                limit=params.get("max_files"),
            )
        return outcome.as_dict()


class ProcessMessagesOperator(FlowOperator):
    """Parse, validate, apply rules, map and deliver every stored message not yet finished."""

    def execute(self, context: Context) -> dict[str, object]:
        from koppel.formats import default_registry
        from koppel.hooks.destinations import flow_lookups, open_destinations
        from koppel.hooks.store import KoppelStoreHook
        from koppel.pipeline import process_pending

        connection, flow = self.load()
        hook = KoppelStoreHook(self.store_conn_id)
        with open_destinations() as destinations:
            outcome = process_pending(
                hook.get_store(),
                hook.get_master_data(),
                default_registry(),
                connection,
                flow,
                run_id=context["run_id"],
                destination=destinations.get,
                resend=resends(context),
                lookups=flow_lookups(flow),
            )
        return outcome.as_dict()


class AcknowledgeFilesOperator(FlowOperator):
    """Archive or error-folder the finished files, then fail the run if any message was rejected.

    Failing here, after every message was tried and every file moved, is what
    makes Airflow alert without one bad document holding back the others.
    """

    def execute(self, context: Context) -> dict[str, object]:
        from koppel.hooks.file_sessions import open_file_session
        from koppel.hooks.store import KoppelStoreHook
        from koppel.pipeline import acknowledge_batch

        connection, flow = self.load()
        store = KoppelStoreHook(self.store_conn_id).get_store()
        source = file_endpoint(flow.source, "source")
        with open_file_session(source.transport, source.conn_id) as session:
            acknowledged = acknowledge_batch(
                session, store, connection, flow, run_id=context["run_id"]
            )
        return self.finish(
            context, acknowledged.as_dict(), where=f"their files are in {source.error_folder}"
        )
