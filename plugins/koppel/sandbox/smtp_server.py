"""A local SMTP server that keeps what it receives: where tests and the demo catch alerts."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from koppel.sandbox.lifecycle import LocalServer


class _Collector:
    """aiosmtpd handler that stores every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


class SMTPServer(LocalServer):
    """An SMTP sink on 127.0.0.1 with an Airflow connection that points at it."""

    def __init__(
        self,
        *,
        conn_id: str = "smtp_default",
        from_email: str = "koppel@localhost",
        host: str = "127.0.0.1",
        port: int = 0,
        bind: str | None = None,
    ) -> None:
        """Prepare a server: clients use ``host``; it listens on ``bind`` (default ``host``)."""
        self.conn_id = conn_id
        self.from_email = from_email
        self.host = host
        self._collector = _Collector()
        listen = bind or host
        self.port = port or _free_port(listen)
        self._controller = Controller(self._collector, hostname=listen, port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        return list(self._collector.messages)

    def start(self) -> SMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def airflow_connection(self) -> str:
        """The connection as JSON for ``AIRFLOW_CONN_<ID>``: plain SMTP, no TLS, one try."""
        connection: dict[str, Any] = {
            "conn_type": "smtp",
            "host": self.host,
            "port": self.port,
            "extra": {
                "from_email": self.from_email,
                "disable_ssl": True,
                "disable_tls": True,
                "retry_limit": 1,
                "timeout": 10,
            },
        }
        return json.dumps(connection)


def _free_port(host: str) -> int:
    """A port nobody listens on now (aiosmtpd's controller cannot bind port 0 and report it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
