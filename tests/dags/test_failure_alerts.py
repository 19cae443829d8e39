"""A failed flow run alerts by e-mail and chat webhook, saying connection, flow, run and reason."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from koppel.sandbox import samples
from koppel.sandbox.sftp_server import SFTPServer
from koppel.sandbox.smtp_server import SMTPServer
from tests.fixtures.airflow_env import dag_bag
from tests.fixtures.alerts import WebhookReceiver

pytestmark = pytest.mark.dagrun

MERCHANT = """\
extends: _itsperfect_monta
name: Bella Moda
prefix: bellamoda
channels:
  B2C: {{origin: bellamoda-webshop}}
vars:
  sftp_conn_id: {sftp}
alert_emails: [ops@bellamoda.example, integrations@koppel.example]
alert_webhook_conn_id: {webhook}
flows:
  orders:
    retries: 0
    source:
      stable_seconds: 0
"""


def test_a_rejected_file_fails_the_run_and_alerts_both_channels(
    airflow_db: Path,
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    smtp_server: SMTPServer,
    webhook_receiver: WebhookReceiver,
) -> None:
    (connections_dir / "itsperfect_bellamoda.yaml").write_text(
        MERCHANT.format(sftp=sftp_server.conn_id, webhook=WebhookReceiver.conn_id)
    )
    inbound = sftp_server.root / "bellamoda" / "itsperfect" / "orders"
    inbound.mkdir(parents=True)
    (inbound / "order_1.xml").write_bytes(samples.good_order("1"))
    (inbound / "order_2.xml").write_bytes(samples.xsd_violation())

    run = dag_bag().dags["itsperfect_bellamoda__orders"].test()

    assert str(run.state) == "failed"
    (mail,) = smtp_server.messages
    assert mail["Subject"].startswith("[Koppel] itsperfect_bellamoda orders failed: 1 message(s)")
    assert set(mail["To"].split(", ")) == {"ops@bellamoda.example", "integrations@koppel.example"}
    body = mail.get_body(("html", "plain"))
    assert body is not None
    text = body.get_content()
    assert run.run_id in text
    assert "Task: acknowledge" in text
    assert "koppel messages --connection itsperfect_bellamoda --flow orders" in text
    (post,) = webhook_receiver.posts
    assert post["text"].startswith(mail["Subject"])
    assert run.run_id in post["text"]


OUTAGE_MERCHANT = (
    MERCHANT
    + """\
    target: {{conn_id: koppel_test_dead_monta}}
"""
)


def test_an_outage_alerts_with_the_messages_it_left_failed_not_rejected(
    airflow_db: Path,
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    smtp_server: SMTPServer,
    webhook_receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A target that is down leaves the order failed, to retry: the alert says so."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"sftp://koppel:x@127.0.0.1:{closed.getsockname()[1]}/"
    monkeypatch.setenv("AIRFLOW_CONN_KOPPEL_TEST_DEAD_MONTA", dead)
    (connections_dir / "itsperfect_bellamoda.yaml").write_text(
        OUTAGE_MERCHANT.format(sftp=sftp_server.conn_id, webhook=WebhookReceiver.conn_id)
    )
    inbound = sftp_server.root / "bellamoda" / "itsperfect" / "orders"
    inbound.mkdir(parents=True)
    (inbound / "order_1.xml").write_bytes(samples.good_order("1"))

    run = dag_bag().dags["itsperfect_bellamoda__orders"].test()

    assert str(run.state) == "failed"
    (mail,) = smtp_server.messages
    body = mail.get_body(("html", "plain"))
    assert body is not None
    text = body.get_content()
    assert "Task: process" in text
    assert "1 message(s) failed, retried by the next run" in text
    assert "--status failed --problems" in text
    assert "--status rejected" not in text
