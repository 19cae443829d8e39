"""The real connection files in include/connections/ and how a merchant inherits its template."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from koppel.config import (
    ConnectionConfig,
    FlowName,
    lint_paths,
    load_all,
    load_connection,
)
from koppel.documents import Channel
from koppel.errors import ConfigError

CONNECTIONS = Path(__file__).parents[3] / "include" / "connections"


@pytest.fixture(scope="module")
def acme() -> ConnectionConfig:
    return load_connection(CONNECTIONS / "itsperfect_acme.yaml")


def test_real_connections_lint_clean() -> None:
    assert lint_paths([CONNECTIONS]) == []


def test_real_connections_all_load() -> None:
    result = load_all(CONNECTIONS)
    assert result.errors == []
    assert [c.id for c in result.connections] == [
        "crm_adviesgroep",
        "ipsoft_noordzee",
        "itsperfect_acme",
        "itsperfect_bellamoda",
        "peppol_arctic",
        "scsn_techparts",
        "ubl_lumikki",
        "ubl_nordkauppa",
        "webshop_koffiebar",
    ]


def test_merchant_inherits_template_orders_flow_with_resolved_folders(
    acme: ConnectionConfig,
) -> None:
    assert acme.platform == "itsperfect_monta"
    assert acme.systems.source.kind == "erp"
    assert acme.systems.target.name == "Monta"
    orders = acme.flows[FlowName.ORDERS]
    assert orders.name is FlowName.ORDERS
    assert orders.schedule == "*/10 * * * *"
    assert orders.source.conn_id == "sftp_acme"
    assert orders.source.folder == "/acme/itsperfect/orders"
    assert orders.source.archive_folder == "/acme/itsperfect/orders/archive"
    assert orders.source.error_folder == "/acme/itsperfect/orders/error"
    assert orders.source.format == "itsperfect.order"
    assert orders.target.folder == "/acme/monta/orders"
    assert orders.target.format == "monta.order"
    assert orders.target.filename == "acme_order_{document_key}.xml"


def test_merchant_options_merge_over_template(acme: ConnectionConfig) -> None:
    assert acme.flows["orders"].options == {"backorder_handling": True, "unknown_stock": "hold"}
    bella = load_connection(CONNECTIONS / "itsperfect_bellamoda.yaml")
    assert bella.flows["orders"].options == {"backorder_handling": False, "unknown_stock": "hold"}
    assert bella.flows["orders"].target.filename == "bellamoda_order_{document_key}.xml"


def test_every_connection_type_of_the_seed_is_a_flow(acme: ConnectionConfig) -> None:
    assert set(acme.flows) == {
        "products",
        "orders",
        "status_updates",
        "stock",
        "returns",
        "inbound_forecasts",
        "inbound_updates",
    }
    assert acme.flows["orders"].reply is not None
    assert acme.flows["orders"].reply.folder == "/acme/itsperfect/order_updates"
    reverse = {name for name, flow in acme.flows.items() if flow.reverse}
    assert reverse == {"status_updates", "stock", "returns", "inbound_updates"}
    for flow in acme.flows.values():
        for _, endpoint in flow.endpoints():
            assert endpoint.folder.startswith("/acme/")


def test_channels_are_typed(acme: ConnectionConfig) -> None:
    assert acme.channels[Channel.B2C].origin == "acme-webshop"
    assert acme.channels[Channel.B2B].origin == "acme-wholesale"
    bella = load_connection(CONNECTIONS / "itsperfect_bellamoda.yaml")
    assert list(bella.channels) == [Channel.B2C]


def test_flows_start_paused_by_default(acme: ConnectionConfig) -> None:
    orders = acme.flows["orders"]
    assert acme.enabled is False
    assert orders.enabled is None
    assert orders.is_enabled(acme) is False
    assert orders.start_date == date(2026, 1, 1)
    assert orders.catchup is False


def test_dag_id(acme: ConnectionConfig) -> None:
    assert acme.dag_id("orders") == "itsperfect_acme__orders"
    with pytest.raises(ConfigError, match="no flow 'prices'"):
        acme.dag_id("prices")


def test_enabled_flow_or_connection_switches_on(tmp_path: Path) -> None:
    template = (CONNECTIONS / "_itsperfect_monta.yaml").read_text()
    (tmp_path / "_itsperfect_monta.yaml").write_text(template)
    on = tmp_path / "itsperfect_on.yaml"
    on.write_text("extends: _itsperfect_monta\nname: Alpha\nprefix: alpha\nenabled: true\n")
    off = tmp_path / "itsperfect_off.yaml"
    off.write_text(
        "extends: _itsperfect_monta\nname: Beta\nprefix: beta\nenabled: true\n"
        "flows:\n  orders:\n    enabled: false\n"
    )
    on_config, off_config = load_connection(on), load_connection(off)
    assert on_config.flows["orders"].is_enabled(on_config) is True
    assert off_config.flows["orders"].is_enabled(off_config) is False


def test_templates_dir_can_be_elsewhere(tmp_path: Path) -> None:
    merchant = tmp_path / "itsperfect_elsewhere.yaml"
    merchant.write_text("extends: _itsperfect_monta\nname: Elsewhere\nprefix: elsewhere\n")
    config = load_connection(merchant, templates_dir=CONNECTIONS)
    assert config.flows["orders"].source.conn_id == "sftp_elsewhere"
    assert config.path == merchant


def test_load_all_returns_good_files_and_one_error(tmp_path: Path) -> None:
    for name in ("_itsperfect_monta.yaml", "itsperfect_acme.yaml", "itsperfect_bellamoda.yaml"):
        (tmp_path / name).write_text((CONNECTIONS / name).read_text())
    broken = tmp_path / "itsperfect_broken.yaml"
    broken.write_text("extends: _itsperfect_monta\nname: Broken\nprefix: broken\nowner: [a\n")
    (tmp_path / "notes.txt").write_text("not a connection")
    result = load_all(tmp_path)
    assert [c.id for c in result.connections] == ["itsperfect_acme", "itsperfect_bellamoda"]
    assert [e.path for e in result.errors] == [broken]
    assert "YAML syntax error" in str(result.errors[0])


def test_template_is_not_changed_by_the_connections_built_from_it(tmp_path: Path) -> None:
    (tmp_path / "_itsperfect_monta.yaml").write_text(
        (CONNECTIONS / "_itsperfect_monta.yaml").read_text()
    )
    for prefix in ("one", "two"):
        (tmp_path / f"itsperfect_{prefix}.yaml").write_text(
            f"extends: _itsperfect_monta\nname: {prefix}\nprefix: {prefix}\n"
        )
    one, two = load_all(tmp_path).connections
    assert one.flows["orders"].source.folder == "/one/itsperfect/orders"
    assert two.flows["orders"].source.folder == "/two/itsperfect/orders"


def test_yaml_boolean_where_a_string_belongs_is_explained(tmp_path: Path) -> None:
    (tmp_path / "_itsperfect_monta.yaml").write_text(
        (CONNECTIONS / "_itsperfect_monta.yaml").read_text()
    )
    norway = tmp_path / "itsperfect_norway.yaml"
    norway.write_text("extends: _itsperfect_monta\nname: Norway\nprefix: no\n")
    [problem] = lint_paths([norway])
    assert (problem.file, problem.field) == (str(norway), "prefix")
    assert "got false: YAML reads yes/no/on/off as booleans; quote it" in problem.message


def test_the_ipsoft_merchant_gets_api_endpoints() -> None:
    noordzee = load_connection(CONNECTIONS / "ipsoft_noordzee.yaml")
    assert set(noordzee.flows) == {"customers", "products", "prices", "stock", "orders"}
    products = noordzee.flows["products"]
    assert products.source.transport == "soap"
    assert products.source.conn_id == "ipsoft_noordzee"
    assert products.target.transport == "http"
    assert products.target.conn_id == "lenewblack_noordzee"
    assert noordzee.flows["orders"].reverse is True
    assert noordzee.flows["stock"].schedule == "*/30 7-19 * * 1-6"


def test_a_store_company_can_leave_waybilled_orders_unreceived() -> None:
    """Seed 003's "do not receive": Lumikki's waybills only update; the rest is the template's."""
    lumikki = load_connection(CONNECTIONS / "ubl_lumikki.yaml")
    nordkauppa = load_connection(CONNECTIONS / "ubl_nordkauppa.yaml")
    assert lumikki.platform == nordkauppa.platform == "ubl_stores"
    assert lumikki.flows["waybills"].options == {
        "update_price_and_quantity": True,
        "do_not_receive": True,
        "language": "fi",
    }
    assert nordkauppa.flows["waybills"].options["do_not_receive"] is False
    assert lumikki.flows["orders"].source.folder == "/lumikki/internal/orders"
    assert lumikki.flows["waybills"].target.conn_id == "store_a_lumikki"
