"""Failure alerts: one e-mail and/or chat message per failed task, saying what, where and why.

Airflow's built-in failure e-mail has a subject made of the task instance's
repr; an integration engineer needs the connection, the flow, the run and
the reason at a glance, and a command to see the failed messages.
"""

from __future__ import annotations

import html
from typing import Any

from airflow.sdk import BaseNotifier, Context


class FlowFailureAlert(BaseNotifier):
    """Sends a failed task's alert by e-mail (SMTP connection) and/or to a chat webhook (HTTP)."""

    def __init__(
        self,
        *,
        connection_id: str,
        flow: str,
        emails: list[str],
        webhook_conn_id: str | None = None,
        smtp_conn_id: str = "smtp_default",
    ) -> None:
        super().__init__()
        self.connection_id = connection_id
        self.flow = flow
        self.emails = emails
        self.webhook_conn_id = webhook_conn_id
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Context) -> None:
        subject, lines = self.compose(context)
        if self.emails:
            from airflow.providers.smtp.hooks.smtp import SmtpHook

            body = "<br>\n".join(html.escape(line) for line in lines)
            with SmtpHook(smtp_conn_id=self.smtp_conn_id) as smtp:
                smtp.send_email_smtp(to=self.emails, subject=subject, html_content=body)
        if self.webhook_conn_id:
            from airflow.providers.http.hooks.http import HttpHook

            HttpHook(method="POST", http_conn_id=self.webhook_conn_id).run(
                json={"text": "\n".join([subject, *lines])}
            )

    def compose(self, context: Context) -> tuple[str, list[str]]:
        """Subject and body lines of the alert."""
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
            f"Reason: {reason}",
            "Failed messages: koppel messages "
            f"--connection {self.connection_id} --flow {self.flow} --status rejected --problems",
        ]
        return subject, lines
