"""The three tasks of a file flow: receive → process → acknowledge.

Each operator reloads its connection file when it runs (cheap, and the
worker's copy is the truth), opens one session on the server it needs, calls
one pipeline function and returns counts for XCom, never payloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from koppel.config import ConnectionConfig, FlowConfig, file_endpoint, load_connection
from koppel.formats import default_registry
from koppel.hooks.destinations import open_destinations
from koppel.hooks.file_sessions import open_file_session
from koppel.hooks.store import KoppelStoreHook
from koppel.pipeline import acknowledge_batch, process_pending, receive_batch

RECEIVE_TASK = "receive"
PROCESS_TASK = "process"
ACKNOWLEDGE_TASK = "acknowledge"


class _FileFlowOperator(BaseOperator):
    """Shared plumbing: which connection file and flow this task works for."""

    template_fields: Sequence[str] = ("connection_file", "flow_name", "store_conn_id")

    def __init__(
        self,
        *,
        connection_file: str,
        flow_name: str,
        store_conn_id: str = KoppelStoreHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.connection_file = connection_file
        self.flow_name = flow_name
        self.store_conn_id = store_conn_id

    def load(self) -> tuple[ConnectionConfig, FlowConfig]:
        """The connection and flow as the file says now."""
        connection = load_connection(Path(self.connection_file))
        return connection, connection.flows[self.flow_name]


class ReceiveFilesOperator(_FileFlowOperator):
    """Store every complete file of the inbound folder as a message (received means stored)."""

    def execute(self, context: Context) -> dict[str, object]:
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


class ProcessMessagesOperator(_FileFlowOperator):
    """Parse, validate, map and deliver every stored message not yet finished."""

    def execute(self, context: Context) -> dict[str, object]:
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
            )
        return outcome.as_dict()


class AcknowledgeFilesOperator(_FileFlowOperator):
    """Archive or error-folder the finished files, then fail the run if any message was rejected.

    Failing here, after every message was tried and every file moved, is what
    makes Airflow alert without one bad document holding back the others.
    """

    def execute(self, context: Context) -> dict[str, object]:
        connection, flow = self.load()
        store = KoppelStoreHook(self.store_conn_id).get_store()
        source = file_endpoint(flow.source, "source")
        with open_file_session(source.transport, source.conn_id) as session:
            acknowledged = acknowledge_batch(session, store, connection, flow)
        ti = context["ti"]
        received = ti.xcom_pull(task_ids=RECEIVE_TASK) or {}
        processed = ti.xcom_pull(task_ids=PROCESS_TASK) or {}
        summary = {
            "received": received.get("received", 0),
            "duplicates": received.get("duplicates", 0),
            "delivered": processed.get("delivered", 0),
            "rejected": processed.get("rejected", 0),
            **acknowledged.as_dict(),
        }
        self.log.info(
            "%s received=%d delivered=%d rejected=%d",
            self.dag_id,
            summary["received"],
            summary["delivered"],
            summary["rejected"],
        )
        if summary["rejected"]:
            ids = ", ".join(str(i) for i in processed.get("rejected_ids", []))
            raise AirflowFailException(
                f"{summary['rejected']} message(s) rejected (ids {ids}); their files are in "
                f"{source.error_folder} and their problems in "
                "`koppel messages --status rejected --problems`"
            )
        return summary
