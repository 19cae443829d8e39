"""The stand-ins of ``python -m koppel.sandbox``: every connection served, no secret shown."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from urllib.parse import unquote

import paramiko
import pytest
from sqlalchemy import URL, create_engine, make_url, text

from koppel import INCLUDE_DIR
from koppel.sandbox.stand_ins import StandIns, redacted, write_env_file

pytestmark = pytest.mark.integration

CONNECTIONS = INCLUDE_DIR / "connections"
EXPECTED_CONN_IDS = {
    "ipsoft_noordzee",
    "isah_techparts",
    "scsn_sftp_techparts",
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
    assert (tmp_path / "sftp/techparts/inbound/orders/bakker_1001.xml").is_file()
    # The ERP of the SCSN supplier: a SQLite file beside the root, seeded once, kept on restart.
    erp = create_engine(f"sqlite:///{tmp_path / 'isah.db'}")
    with erp.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 4
    assert json.loads(values["isah_techparts"]) == {
        "conn_type": "sqlite",
        "host": str(tmp_path / "isah.db"),
    }
    with StandIns(tmp_path / "sftp", CONNECTIONS, demo_files=False), erp.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 4
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


def test_the_erp_can_be_a_postgres_database(tmp_path: Path, postgres_erp_url: URL) -> None:
    url = postgres_erp_url.render_as_string(hide_password=False)
    with StandIns(tmp_path / "sftp", CONNECTIONS, demo_files=False, erp_url=url) as stand_ins:
        value = stand_ins.airflow_connections()["isah_techparts"]
    assert value.startswith("postgresql://")
    assert make_url(value).database == postgres_erp_url.database
    erp = create_engine(postgres_erp_url)
    try:
        with erp.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 4
    finally:
        erp.dispose()
