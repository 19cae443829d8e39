"""Failure alerts: one e-mail and/or chat message per failed task, saying what, where and why.

Airflow's built-in failure e-mail has a subject made of the task instance's
repr; an integration engineer needs the connection, the flow, the run and
the reason at a glance, and a command to see the failed messages.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier, Context

from koppel.faults import failpoint
from koppel.operators.base import STORE_CONN_ID, rejection_line

if TYPE_CHECKING:
    from koppel.store import MessageStatus, MessageSummary


class FlowFailureAlert(BaseNotifier):
    """Sends a failed task's alert by e-mail (SMTP connection) and/or to a chat webhook (HTTP).

    The rejected messages this run claimed for its alert are named in it and
    recorded as alerted once it has gone out, so each is alerted once. The
    one thing not exactly-once: a crash after the mail server accepted the
    alert and before that record is written sends it again on the next run
    (SMTP cannot be asked whether a mail was sent); the stable Message-ID
    lets mail clients show such a repeat as one mail.
    """

    def __init__(
        self,
        *,
        connection_id: str,
        flow: str,
        emails: list[str],
        webhook_conn_id: str | None = None,
        smtp_conn_id: str = "smtp_default",
        store_conn_id: str = STORE_CONN_ID,
    ) -> None:
        super().__init__()
        self.connection_id = connection_id
        self.flow = flow
        self.emails = emails
        self.webhook_conn_id = webhook_conn_id
        self.smtp_conn_id = smtp_conn_id
        self.store_conn_id = store_conn_id

    def notify(self, context: Context) -> None:
        from koppel.hooks.store import KoppelStoreHook

        store = KoppelStoreHook(self.store_conn_id).get_store()
        owed = store.owed_alerts_claimed_by(
            connection_id=self.connection_id, flow=self.flow, run_id=context["run_id"]
        )
        waiting = store.waiting_counts(connection_id=self.connection_id, flow=self.flow)
        subject, lines = self.compose(context, owed, waiting)
        if self.emails:
            from airflow.providers.smtp.hooks.smtp import SmtpHook

            body = "<br>\n".join(html.escape(line) for line in lines)
            with SmtpHook(smtp_conn_id=self.smtp_conn_id) as smtp:
                smtp.send_email_smtp(
                    to=self.emails,
                    subject=subject,
                    html_content=body,
                    custom_headers={"Message-ID": _message_id(context, owed)},
                )
        if self.webhook_conn_id:
            from airflow.providers.http.hooks.http import HttpHook

            HttpHook(method="POST", http_conn_id=self.webhook_conn_id).run(
                json={"text": "\n".join([subject, *lines])}
            )
        failpoint("alert.sent")
        store.mark_alerted(m.id for m in owed)

    def compose(
        self,
        context: Context,
        owed: Sequence[MessageSummary] = (),
        waiting: Mapping[MessageStatus, int] | None = None,
    ) -> tuple[str, list[str]]:
        """Subject and body lines of the alert, with the command that shows what fits."""
        ti: Any = context["ti"]
        reason = str(context.get("exception") or "unknown error").strip()
        headline = reason.splitlines()[0].split(";")[0][:150]
        subject = f"[Koppel] {self.connection_id} {self.flow} failed: {headline}"
        lines = [
            f"Connection: {self.connection_id}",
            f"Flow: {self.flow}",
            f"DAG: {ti.dag_id}",
            f"Run: {context['run_id']}",
            f"Task: {ti.task_id} (try {ti.try_number})",
            f"Reason: {reason.splitlines()[0]}",
        ]
        lines += [rejection_line(m) for m in owed if rejection_line(m) not in reason]
        lines += [line for line in reason.splitlines()[1:] if line.strip()]
        lines += self._where_to_look(owed, waiting or {})
        return subject, lines

    def _where_to_look(
        self, owed: Sequence[MessageSummary], waiting: Mapping[MessageStatus, int]
    ) -> list[str]:
        """The ``koppel messages`` commands that show the messages this failure is about."""
        from koppel.store import MessageStatus

        command = f"koppel messages --connection {self.connection_id} --flow {self.flow}"
        hints = []
        if owed:
            hints.append(f"Rejected messages: {command} --status rejected --problems")
        for status in (MessageStatus.FAILED, MessageStatus.HELD, MessageStatus.RECEIVED):
            if waiting.get(status):
                hints.append(
                    f"{waiting[status]} message(s) {status.value}, retried by the next run: "
                    f"{command} --status {status.value} --problems"
                )
        return hints or ["No message is waiting: the task log says what failed."]


def _message_id(context: Context, owed: Sequence[MessageSummary]) -> str:
    """The same Message-ID for the same alert, so a repeat after a crash reads as one mail."""
    ti: Any = context["ti"]
    ids = ",".join(str(m.id) for m in owed) or f"{ti.task_id}.{ti.try_number}"
    digest = hashlib.sha256(f"{context['run_id']}|{ti.dag_id}|{ids}".encode()).hexdigest()
    return f"<koppel.{digest[:32]}@koppel.alerts>"
