"""The plan ``koppel new`` prints: Airflow connections and partner folders, never a secret."""

from __future__ import annotations

import re

import pytest

from koppel.config import load_connection
from koppel.onboarding.plan import Plan, plan_for
from koppel.settings import INCLUDE_DIR

CONNECTIONS = INCLUDE_DIR / "connections"


def _plan(connection_id: str) -> Plan:
    return plan_for(load_connection(CONNECTIONS / f"{connection_id}.yaml"))


def test_acme_needs_one_sftp_connection_with_a_pinned_host_key() -> None:
    plan = _plan("itsperfect_acme")
    assert [(c.conn_id, c.conn_type) for c in plan.connections] == [("sftp_acme", "sftp")]
    assert plan.connections[0].flows == [
        "products",
        "orders",
        "status_updates",
        "stock",
        "returns",
        "inbound_forecasts",
        "inbound_updates",
    ]
    assert plan.connections[0].command() == (
        "airflow connections add 'sftp_acme' --conn-type sftp --conn-host '<HOST>' "
        "--conn-port 22 --conn-login '<LOGIN>' --conn-password '<PASSWORD>' "
        """--conn-extra '{"host_key": "<HOST_KEY>"}'"""
    )


def test_acme_folders_are_the_templates_with_archive_and_error_under_inbound_ones() -> None:
    folders = {f.path: f for f in _plan("itsperfect_acme").folders}
    assert len(folders) == 14  # seven flows, each a folder on either side
    orders = folders["/acme/itsperfect/orders"]
    assert orders.inbound
    assert orders.side_folders == [
        "/acme/itsperfect/orders/archive",
        "/acme/itsperfect/orders/error",
    ]
    assert orders.uses == ["orders: Koppel picks up *.xml here"]
    updates = folders["/acme/itsperfect/order_updates"]
    assert not updates.inbound
    assert updates.side_folders == []
    assert updates.uses == [
        "orders: Koppel writes its replies here",
        "status_updates: Koppel writes its output here",
    ]
    assert folders["/acme/monta/stock"].uses == ["stock: Koppel picks up *.xml here"]


def test_a_folder_written_by_one_flow_and_read_by_another_is_listed_once() -> None:
    folders = {f.path: f for f in _plan("ubl_nordkauppa").folders}
    internal = folders["/nordkauppa/internal/orders"]
    assert internal.inbound
    assert internal.uses == [
        "purchase_orders: Koppel writes its output here",
        "orders: Koppel picks up *.xml here",
    ]


@pytest.mark.parametrize(
    ("connection_id", "expected"),
    [
        ("ipsoft_noordzee", [("ipsoft_noordzee", "http"), ("lenewblack_noordzee", "http")]),
        ("webshop_koffiebar", [("webshop_koffiebar", "http"), ("ipsoft_koffiebar", "http")]),
        ("peppol_arctic", [("peppol_sftp_arctic", "sftp"), ("erp_arctic", "postgres")]),
        ("scsn_techparts", [("scsn_sftp_techparts", "sftp"), ("isah_techparts", "postgres")]),
    ],
)
def test_connection_types_follow_the_endpoints(
    connection_id: str, expected: list[tuple[str, str]]
) -> None:
    assert [(c.conn_id, c.conn_type) for c in _plan(connection_id).connections] == expected


def test_soap_json_api_and_database_commands_hold_placeholders() -> None:
    commands = {c.conn_id: c.command() for c in _plan("ipsoft_noordzee").connections}
    assert commands["ipsoft_noordzee"].endswith(
        "--conn-type http --conn-host '<SOAP_ENDPOINT_URL>' --conn-login '<LOGIN>' "
        "--conn-password '<PASSWORD>'"
    )
    assert commands["lenewblack_noordzee"].endswith(
        "--conn-type http --conn-host '<BASE_URL>' --conn-password '<API_TOKEN>'"
    )
    database = _plan("scsn_techparts").connections[1].command()
    assert "--conn-type postgres" in database
    assert "--conn-schema '<DATABASE>'" in database


def test_api_only_connections_have_no_folders() -> None:
    plan = _plan("crm_adviesgroep")
    assert plan.folders == []
    assert "2. Partner folders: none" in "\n".join(plan.lines())


@pytest.mark.parametrize(
    "connection_id",
    [p.stem for p in sorted(CONNECTIONS.glob("[!_]*.yaml"))],
)
def test_the_printed_plan_never_holds_a_value_for_a_secret(connection_id: str) -> None:
    text = "\n".join(_plan(connection_id).lines())
    values = re.findall(r"--conn-(?:host|login|password|schema) '([^']*)'", text)
    assert values
    assert all(re.fullmatch(r"<[A-Z_]+>", value) for value in values), values
    assert "--conn-password" in text
    assert f"   {connection_id}__" in text  # the DAG ids, which appear paused
