"""What every flow task shares: which connection file and flow it works for.

The operator modules are imported at every DAG parse, where only their
``__init__`` runs: what ``execute`` needs (the store and its SQLAlchemy and
Alembic, the pipeline, lxml, the transport hooks) is imported inside it, so a
DAG file costs no more than the connection file it reads.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from koppel.config import ConnectionConfig, FlowConfig, load_connection
from koppel.documents import Severity

if TYPE_CHECKING:
    from koppel.store import MessageSummary

#: ``KoppelStoreHook.default_conn_name``, the store's fixed Airflow connection id; not
#: taken from the hook, whose module imports SQLAlchemy and the store's migrations.
STORE_CONN_ID = "koppel_store"
RECEIVE_TASK = "receive"
PROCESS_TASK = "process"
ACKNOWLEDGE_TASK = "acknowledge"
#: Rejected messages named one by one in a failure; the rest are counted.
_NAMED = 20


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
        store_conn_id: str = STORE_CONN_ID,
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
        """Log the run's summary line; fail the run while rejected messages are owed an alert.

        Failing here, after every message was tried, is what makes Airflow
        alert without one bad document holding back the others. What fails
        the run is not this run's count but every rejected message of the
        flow nobody was alerted about yet: one rejected by a run that was
        killed before it could fail, or refused at receive, is alerted too,
        and each exactly once (the alert records it).
        """
        from koppel.hooks.store import KoppelStoreHook

        connection, flow = self.load()
        ti = context["ti"]
        received = ti.xcom_pull(task_ids=RECEIVE_TASK) or {}
        processed = ti.xcom_pull(task_ids=PROCESS_TASK) or {}
        summary: dict[str, object] = {
            "received": received.get("received", 0),
            "duplicates": received.get("duplicates", 0),
            "delivered": processed.get("delivered", 0),
            "skipped": processed.get("skipped", 0),
            "held": processed.get("held", 0),
            "rejected": received.get("rejected", 0) + processed.get("rejected", 0),
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
        store = KoppelStoreHook(self.store_conn_id).get_store()
        owed = store.claim_owed_alerts(
            connection_id=connection.id,
            flow=flow.name,
            run_id=context["run_id"],
            lease_seconds=flow.claim_seconds,
        )
        if not owed:
            return summary
        if not (connection.alert_emails or connection.alert_webhook_conn_id):
            store.mark_alerted(m.id for m in owed)  # the failed run is the only alert there is
        raise MessagesRejected(owed, where=where)


class MessagesRejected(AirflowFailException):
    """The run fails because messages were rejected; the text names each one and why."""

    def __init__(self, rejected: Sequence[MessageSummary], *, where: str) -> None:
        self.message_ids = [m.id for m in rejected]
        ids = ", ".join(str(i) for i in self.message_ids)
        lines = [rejection_line(m) for m in rejected[:_NAMED]]
        if len(rejected) > _NAMED:
            lines.append(f"… and {len(rejected) - _NAMED} more")
        super().__init__(
            f"{len(rejected)} message(s) rejected (ids {ids}); {where}\n" + "\n".join(lines)
        )


def rejection_line(message: MessageSummary) -> str:
    """One rejected message for a log or an alert: which document, and the first reason."""
    name = message.document_key or posixpath.basename(message.source_name)
    errors = [p for p in message.problems if p.severity is Severity.ERROR] or message.problems
    reason = str(errors[0]) if errors else "no reason recorded"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"- message {message.id} ({name}): {reason}{more}"
