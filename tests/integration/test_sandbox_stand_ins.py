"""The stand-ins of ``python -m koppel.sandbox``: every connection served, no secret shown."""

from __future__ import annotations

import socket
import stat
from pathlib import Path
from urllib.parse import unquote

import paramiko
import pytest

from koppel import INCLUDE_DIR
from koppel.sandbox.stand_ins import StandIns, redacted, write_env_file

pytestmark = pytest.mark.integration

CONNECTIONS = INCLUDE_DIR / "connections"
EXPECTED_CONN_IDS = {
    "ipsoft_noordzee",
    "lenewblack_noordzee",
    "sftp_acme",
    "sftp_bellamoda",
    "smtp_default",
}


def test_every_example_connection_is_served_and_stops_cleanly(tmp_path: Path) -> None:
    stand_ins = StandIns(tmp_path / "sftp", CONNECTIONS)
    with stand_ins:
        values = stand_ins.airflow_connections()
        ports = [stand_ins.sftp.port, stand_ins.ipsoft.port, stand_ins.lenewblack.port]
        sftp_uri = values["sftp_acme"]
        transport = paramiko.Transport(("127.0.0.1", stand_ins.sftp.port))
        try:
            transport.connect(username="koppel", password=stand_ins.sftp.password)
            offered = transport.get_remote_server_key()
        finally:
            transport.close()
    assert set(values) == EXPECTED_CONN_IDS
    assert f"host_key=ssh-ed25519 {offered.get_base64()}" in unquote(sftp_uri)
    assert (tmp_path / "sftp/acme/monta/stock/stock_0600.xml").is_file()
    assert (tmp_path / "sftp/bellamoda/itsperfect/orders/archive").is_dir()
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_secrets_stay_in_the_env_file(tmp_path: Path) -> None:
    with StandIns(tmp_path / "sftp", CONNECTIONS, demo_files=False) as stand_ins:
        values = stand_ins.airflow_connections()
        secrets = [stand_ins.sftp.password, stand_ins.ipsoft.password, stand_ins.lenewblack.token]
    shown = "\n".join(redacted(value) for value in values.values())
    env_file = tmp_path / "connections.env"
    write_env_file(env_file, values)
    assert not any(secret in shown for secret in secrets)
    assert all(secret in env_file.read_text() for secret in secrets)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "export AIRFLOW_CONN_SFTP_BELLAMODA=" in env_file.read_text()
