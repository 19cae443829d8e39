"""The stand-ins of ``python -m koppel.sandbox``: every connection served, no secret shown.

Every ``sql`` connection gets a database of its own with its platform's demo
data: the Isah ERP for the SCSN supplier, Helsinki and Tampere for
Nordkauppa's two stores, Lakeuden Tukku for Arctic Tools' Peppol supplier ERP.
Koffiebar Noord's webshop and Adviesgroep Delta's CRM are the seeded emulators,
reached through their Airflow connections as a flow reaches them; their IPSoft
connections are the one emulated IPSoft.
"""

from __future__ import annotations

import json
import socket
import stat
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import paramiko
import pytest
from sqlalchemy import URL, Engine, create_engine, make_url, select, text

from koppel import INCLUDE_DIR
from koppel.hooks.store_erp_schema import customers, purchase_orders, store
from koppel.sandbox.crm import DEMO_DEALS, DEMO_QUOTES
from koppel.sandbox.stand_ins import SandboxError, StandIns, redacted, write_env_file
from koppel.sandbox.store_erp import (
    COFFEE,
    PEPPOL_SUPPLIER_ID,
    STORE_A_ID,
    STORE_B_ID,
    OrderedLine,
    post_purchase_order,
)
from koppel.sandbox.webshop import DEMO_REFERENCES

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
    "stores_sftp_nordkauppa",
    "store_a_nordkauppa",
    "store_b_nordkauppa",
    "stores_sftp_lumikki",
    "store_a_lumikki",
    "store_b_lumikki",
    "peppol_sftp_arctic",
    "erp_arctic",
    "webshop_koffiebar",
    "ipsoft_koffiebar",
    "crm_adviesgroep",
    "ipsoft_adviesgroep",
}
#: Each store-ERP connection of the examples: the store row its database must hold.
STORE_DATABASES = {
    "store_a_nordkauppa": (STORE_A_ID, "Helsinki"),
    "store_b_nordkauppa": (STORE_B_ID, "Tampere"),
    "store_a_lumikki": (STORE_A_ID, "Helsinki"),
    "store_b_lumikki": (STORE_B_ID, "Tampere"),
    "erp_arctic": (PEPPOL_SUPPLIER_ID, "Seinäjoki"),
}


def test_every_example_connection_is_served_and_stops_cleanly(tmp_path: Path) -> None:
    stand_ins = StandIns(tmp_path / "sftp", CONNECTIONS)
    with stand_ins:
        values = stand_ins.airflow_connections()
        ports = [
            stand_ins.sftp.port,
            stand_ins.ipsoft.port,
            stand_ins.lenewblack.port,
            stand_ins.webshop.port,
            stand_ins.crm.port,
        ]
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
        secrets = [
            stand_ins.sftp.password,
            stand_ins.ipsoft.password,
            stand_ins.lenewblack.token,
            stand_ins.webshop.token,
            stand_ins.crm.token,
        ]
    shown = "\n".join(redacted(value) for value in values.values())
    env_file = tmp_path / "connections.env"
    write_env_file(env_file, values)
    assert not any(secret in shown for secret in secrets)
    assert all(secret in env_file.read_text() for secret in secrets)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "export AIRFLOW_CONN_SFTP_BELLAMODA=" in env_file.read_text()


def _get(value: str, path: str, *, token: str | None = None) -> tuple[int, Any]:
    """GET ``path`` from the HTTP API an ``AIRFLOW_CONN_*`` value names, as the hooks do.

    The bearer token is the connection's password unless ``token`` overrides it.
    """
    fields = json.loads(value)
    request = urllib.request.Request(
        f"{fields['schema']}://{fields['host']}:{fields['port']}{path}",
        headers={"Authorization": f"Bearer {token or fields['password']}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


def test_the_webshop_and_the_crm_answer_through_their_connections(tmp_path: Path) -> None:
    with StandIns(tmp_path / "sftp", CONNECTIONS, demo_files=False) as stand_ins:
        values = stand_ins.airflow_connections()
        orders = _get(values["webshop_koffiebar"], "/api/v1/orders?page_size=100")
        quotes = _get(values["crm_adviesgroep"], "/api/v1/quotes")
        deals = _get(values["crm_adviesgroep"], "/api/v1/deals")
        refused = _get(values["webshop_koffiebar"], "/api/v1/orders", token="not-the-token")
        # Each API knows only its own token: the CRM's does not open the webshop.
        crm_token = json.loads(values["crm_adviesgroep"])["password"]
        crossed = _get(values["webshop_koffiebar"], "/api/v1/orders", token=crm_token)
        summary = stand_ins.summary()
        ipsoft = stand_ins.ipsoft.airflow_connection()
    status, body = orders
    assert status == 200
    assert sorted(order["reference"] for order in body["orders"]) == sorted(DEMO_REFERENCES)
    assert quotes[0] == deals[0] == 200
    assert sorted(quote["reference"] for quote in quotes[1]["quotes"]) == sorted(DEMO_QUOTES)
    assert sorted(deal["reference"] for deal in deals[1]["deals"]) == sorted(DEMO_DEALS)
    assert refused[0] == crossed[0] == 401
    # Both merchants' IPSoft connections are the one emulated IPSoft.
    assert values["ipsoft_koffiebar"] == values["ipsoft_adviesgroep"] == ipsoft
    assert values["ipsoft_noordzee"] == ipsoft
    assert values["webshop_koffiebar"] != values["lenewblack_noordzee"]
    assert any(line.startswith("Webshop ") for line in summary)
    assert any(line.startswith("CRM ") for line in summary)


def test_an_http_endpoint_of_an_api_with_no_emulator_is_refused(tmp_path: Path) -> None:
    folder = _connections_with(
        tmp_path, "_webshop_ipsoft.yaml", {"format: webshop.order": "format: shopify.order"}
    )
    with (
        StandIns(tmp_path / "sftp", folder, demo_files=False) as stand_ins,
        pytest.raises(SandboxError, match=r"no http stand-in for webshop_koffiebar.*shopify"),
    ):
        stand_ins.airflow_connections()


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


def _engine(value: str) -> Engine:
    """The database an ``AIRFLOW_CONN_*`` value of the sandbox points at, as a flow reaches it."""
    if value.startswith("{"):
        return create_engine(f"sqlite:///{json.loads(value)['host']}")
    return create_engine(make_url(value).set(drivername="postgresql+psycopg"))


def _store_row(engine: Engine) -> tuple[str, str]:
    try:
        with engine.connect() as conn:
            row = conn.execute(select(store.c.store_id, store.c.city)).one()
    finally:
        engine.dispose()
    return row.store_id, row.city


def test_every_sql_connection_has_its_own_seeded_database(tmp_path: Path) -> None:
    with StandIns(tmp_path / "sftp", CONNECTIONS, demo_files=False) as stand_ins:
        values = stand_ins.airflow_connections()
        summary = stand_ins.summary()
    for conn_id, (store_id, city) in STORE_DATABASES.items():
        assert json.loads(values[conn_id]) == {
            "conn_type": "sqlite",
            "host": str(tmp_path / f"{conn_id}.db"),
        }
        assert _store_row(_engine(values[conn_id])) == (store_id, city)
    # The Isah ERP is where it was, with its own tables and data.
    assert json.loads(values["isah_techparts"])["host"] == str(tmp_path / "isah.db")
    isah = _engine(values["isah_techparts"])
    with isah.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 4
    isah.dispose()
    # Helsinki's seed holds the purchase order to Tampere the purchase_orders flow sends.
    store_a = _engine(values["store_a_nordkauppa"])
    with store_a.connect() as conn:
        supplier = conn.execute(select(purchase_orders.c.supplier_id)).scalar_one()
        tampere = conn.execute(
            select(customers.c.city).where(customers.c.customer_id == STORE_B_ID)
        )
        assert (supplier, tampere.scalar_one()) == (STORE_B_ID, "Tampere")
    store_a.dispose()
    databases = [line for line in summary if line.startswith(("Isah ERP", "Store ERP"))]
    assert len(databases) == len(STORE_DATABASES) + 1  # and the Isah ERP
    assert any("store_b_nordkauppa: Nordkauppa store B" in line for line in databases)


def test_a_store_database_is_kept_on_restart(tmp_path: Path) -> None:
    with StandIns(tmp_path / "sftp", CONNECTIONS, demo_files=False) as stand_ins:
        store_a = create_engine(stand_ins.database_url_for("store_a_nordkauppa"))
    number = post_purchase_order(store_a, STORE_B_ID, [OrderedLine(COFFEE, Decimal(3))])
    with StandIns(tmp_path / "sftp", CONNECTIONS, demo_files=False), store_a.connect() as conn:
        orders = conn.execute(select(purchase_orders.c.order_number)).scalars().all()
    store_a.dispose()
    # The seed's order and the one posted: not seeded a second time.
    assert len(orders) == 2
    assert number in orders


def test_a_store_database_can_be_a_postgres_database(tmp_path: Path, postgres_erp_url: URL) -> None:
    url = postgres_erp_url.render_as_string(hide_password=False)
    with StandIns(
        tmp_path / "sftp",
        CONNECTIONS,
        demo_files=False,
        database_urls={"store_b_nordkauppa": url},
    ) as stand_ins:
        values = stand_ins.airflow_connections()
    assert make_url(values["store_b_nordkauppa"]).database == postgres_erp_url.database
    assert _store_row(_engine(values["store_b_nordkauppa"])) == (STORE_B_ID, "Tampere")
    assert _store_row(_engine(values["store_a_nordkauppa"])) == (STORE_A_ID, "Helsinki")
    assert not (tmp_path / "store_b_nordkauppa.db").exists()


def _connections_with(tmp_path: Path, template: str, edit: dict[str, str]) -> Path:
    """A connection folder with ``template`` and its example, text replaced per ``edit``."""
    folder = tmp_path / "connections"
    folder.mkdir()
    example = {
        "_ubl_stores.yaml": "ubl_nordkauppa.yaml",
        "_webshop_ipsoft.yaml": "webshop_koffiebar.yaml",
    }[template]
    for name in (template, example):
        content = (CONNECTIONS / name).read_text(encoding="utf-8")
        for old, new in edit.items():
            content = content.replace(old, new)
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def test_an_sql_connection_of_an_unknown_platform_is_refused(tmp_path: Path) -> None:
    folder = _connections_with(
        tmp_path, "_ubl_stores.yaml", {"platform: ubl_stores": "platform: pos_chain"}
    )
    with pytest.raises(SandboxError, match="platform 'pos_chain'"):
        StandIns(tmp_path / "sftp", folder)


def test_two_stores_in_one_database_are_refused(tmp_path: Path) -> None:
    folder = _connections_with(
        tmp_path,
        "_ubl_stores.yaml",
        {"store_b_conn_id: store_b_nordkauppa": "store_b_conn_id: store_a_nordkauppa"},
    )
    with pytest.raises(SandboxError, match=r"store_a_nordkauppa.*named by both"):
        StandIns(tmp_path / "sftp", folder)


def test_a_database_url_for_no_sql_connection_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="store_c_nordkauppa"):
        StandIns(
            tmp_path / "sftp",
            CONNECTIONS,
            database_urls={"store_c_nordkauppa": f"sqlite:///{tmp_path / 'c.db'}"},
        )
