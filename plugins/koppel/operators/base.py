"""What every flow task shares: which connection file and flow it works for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from koppel.config import ConnectionConfig, FlowConfig, load_connection
from koppel.hooks.store import KoppelStoreHook

RECEIVE_TASK = "receive"
PROCESS_TASK = "process"
ACKNOWLEDGE_TASK = "acknowledge"


def resends(context: Context) -> bool:
    """Whether the run resends its data interval: a backfill does, or a run asked to by hand."""
    dag_run: Any = context.get("dag_run")
    backfill = "backfill" in str(getattr(dag_run, "run_type", "")).lower()
    return backfill or bool(context["params"].get("resend"))


class FlowOperator(BaseOperator):
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

    def finish(self, context: Context, extra: dict[str, Any], *, where: str) -> dict[str, object]:
        """Log the run's summary line and fail the run if any message was rejected.

        Failing here, after every message was tried, is what makes Airflow
        alert without one bad document holding back the others.
        """
        ti = context["ti"]
        received = ti.xcom_pull(task_ids=RECEIVE_TASK) or {}
        processed = ti.xcom_pull(task_ids=PROCESS_TASK) or {}
        summary: dict[str, object] = {
            "received": received.get("received", 0),
            "duplicates": received.get("duplicates", 0),
            "delivered": processed.get("delivered", 0),
            "skipped": processed.get("skipped", 0),
            "held": processed.get("held", 0),
            "rejected": processed.get("rejected", 0),
            **extra,
        }
        self.log.info(
            "%s received=%s delivered=%s rejected=%s held=%s",
            self.dag_id,
            summary["received"],
            summary["delivered"],
            summary["rejected"],
            summary["held"],
        )
        if summary["rejected"]:
            ids = ", ".join(str(i) for i in processed.get("rejected_ids", []))
            raise AirflowFailException(
                f"{summary['rejected']} message(s) rejected (ids {ids}); {where}; their problems "
                "are in `koppel messages --status rejected --problems`"
            )
        return summary
