"""What a platform template asks of a new merchant, and the file ``koppel new`` writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from koppel.config import load_connection
from koppel.config.yaml_files import read_mapping
from koppel.documents import Channel
from koppel.onboarding.new import (
    MerchantSettings,
    OnboardingError,
    Platform,
    default_name,
    merchant_vars,
    parse_channels,
    parse_vars,
    platform_names,
    read_platform,
    render_merchant,
    settings_problems,
)
from koppel.settings import INCLUDE_DIR

CONNECTIONS = INCLUDE_DIR / "connections"


@pytest.fixture(scope="module")
def monta() -> Platform:
    return read_platform(CONNECTIONS, "itsperfect_monta")


def _settings(**overrides: object) -> MerchantSettings:
    values: dict[str, object] = {
        "connection_id": "itsperfect_jacky",
        "name": "Jacky Luxury",
        "prefix": "jacky",
        "relation_id": "27794",
        "channels": {Channel.B2C: "jacky-webshop"},
    }
    values.update(overrides)
    return MerchantSettings(**values)  # type: ignore[arg-type]


def test_every_platform_template_is_found() -> None:
    assert platform_names(CONNECTIONS) == [
        "crm_ipsoft",
        "ipsoft_lenewblack",
        "itsperfect_monta",
        "peppol_supplier",
        "scsn_isah",
        "ubl_stores",
        "webshop_ipsoft",
    ]


def test_monta_needs_prefix_relation_id_and_channels_and_says_why(monta: Platform) -> None:
    reasons = {r.setting: r.reason for r in monta.requirements}
    assert list(reasons) == ["prefix", "relation_id", "channels"]
    assert "{prefix}" in reasons["prefix"]
    assert "{relation_id}" in reasons["relation_id"]
    # Derived from the monta.order mapping, which writes Origin from the context.
    assert reasons["channels"] == (
        "flow orders writes monta.order (target), which takes origin from the connection"
    )
    assert [r.option for r in monta.requirements] == ["--prefix", "--relation-id", "--channels"]


@pytest.mark.parametrize(
    "name",
    [
        "crm_ipsoft",
        "ipsoft_lenewblack",
        "peppol_supplier",
        "scsn_isah",
        "ubl_stores",
        "webshop_ipsoft",
    ],
)
def test_the_other_platforms_need_only_a_prefix(name: str) -> None:
    platform = read_platform(CONNECTIONS, name)
    assert [r.setting for r in platform.requirements] == ["prefix"]


def test_every_example_merchant_follows_its_platforms_naming_rule() -> None:
    for path in sorted(CONNECTIONS.glob("[!_]*.yaml")):
        template = read_mapping(path)["extends"]
        platform = read_platform(CONNECTIONS, template)
        assert path.stem.startswith(platform.id_prefix), path


def test_a_var_without_a_default_and_a_relation_id_in_a_value_are_required(
    tmp_path: Path,
) -> None:
    shutil.copy(CONNECTIONS / "_crm_ipsoft.yaml", tmp_path / "_crm_ipsoft.yaml")
    text = (tmp_path / "_crm_ipsoft.yaml").read_text(encoding="utf-8")
    text = text.replace('crm_conn_id: "crm_{prefix}"', 'region: "eu"').replace(
        "params: {status: won}", 'params: {status: won, owner: "{relation_id}-{team}"}'
    )
    (tmp_path / "_crm_ipsoft.yaml").write_text(text, encoding="utf-8")
    platform = read_platform(tmp_path, "crm_ipsoft")
    settings = {r.setting: r.reason for r in platform.requirements}
    assert list(settings) == ["prefix", "relation_id", "vars.crm_conn_id", "vars.team"]
    assert settings["vars.team"] == (
        "the template uses {team} in flows.sales_invoices.source.params.owner"
    )
    problems = settings_problems(
        platform, MerchantSettings("crm_delta", "Delta", prefix="delta"), tmp_path
    )
    assert "--var team=... is required (the template uses {team} in " in problems[-1]


def test_an_unknown_platform_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        OnboardingError, match=r"no platform template _monta\.yaml .*itsperfect_monta"
    ):
        read_platform(CONNECTIONS, "monta")


def test_vars_come_with_the_templates_comments(monta: Platform) -> None:
    assert monta.var_defaults == {"sftp_conn_id": "sftp_{prefix}"}
    assert monta.var_comments["sftp_conn_id"][0] == (
        "The Airflow connection (host, user, password) of the merchant's SFTP user."
    )


def test_good_options_have_no_problems(monta: Platform) -> None:
    assert settings_problems(monta, _settings(), CONNECTIONS) == []


def test_each_missing_setting_is_named_with_its_option(monta: Platform) -> None:
    problems = settings_problems(
        monta, _settings(prefix=None, relation_id=None, channels={}), CONNECTIONS
    )
    assert [p.split(" is required")[0] for p in problems] == [
        "--prefix",
        "--relation-id",
        "--channels",
    ]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"connection_id": "monta_jacky"}, "is called itsperfect_<name>"),
        ({"connection_id": "itsperfect_"}, "is called itsperfect_<name>"),
        ({"connection_id": "itsperfect__jacky"}, "single underscores"),
        ({"connection_id": "Itsperfect_Jacky"}, "lower-case letters"),
        ({"connection_id": "itsperfect_acme"}, "itsperfect_acme.yaml exists already"),
        ({"prefix": "acme"}, "--prefix 'acme' is already used by"),
        ({"prefix": "ACME"}, "--prefix 'ACME' is already used by"),
        ({"prefix": "jacky/x"}, "may hold only letters"),
        ({"relation_id": "27794a"}, "must be a number"),
        ({"name": "Jacky\nLuxury"}, "--name must be one line"),
        ({"vars": {"ftp_conn_id": "x"}}, "has no such var; known: sftp_conn_id"),
    ],
)
def test_unusable_options_are_refused(
    monta: Platform, overrides: dict[str, object], expected: str
) -> None:
    problems = settings_problems(monta, _settings(**overrides), CONNECTIONS)
    assert any(expected in p for p in problems), problems


def test_settings_a_platform_does_not_use_are_refused() -> None:
    crm = read_platform(CONNECTIONS, "crm_ipsoft")
    settings = MerchantSettings(
        "crm_delta", "Delta", prefix="delta", relation_id="1", channels={Channel.B2C: "x"}
    )
    assert settings_problems(crm, settings, CONNECTIONS) == [
        "--relation-id: platform crm_ipsoft does not use a relation_id",
        "--channels: platform crm_ipsoft does not use a channels",
    ]


def test_channels_get_the_example_merchants_origins_unless_given() -> None:
    assert parse_channels("B2C, b2b", "jacky") == {
        Channel.B2C: "jacky-webshop",
        Channel.B2B: "jacky-wholesale",
    }
    assert parse_channels("B2B=jacky-trade", "jacky") == {Channel.B2B: "jacky-trade"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B2X", "unknown channel 'B2X'; known: B2C, B2B"),
        ("B2C,B2C", "B2C is named twice"),
        ("B2C=", "needs an origin"),
        (",", "names no channel"),
    ],
)
def test_bad_channels_are_usage_errors(text: str, expected: str) -> None:
    with pytest.raises(OnboardingError, match=expected):
        parse_channels(text, "jacky")


def test_vars_are_key_value_pairs() -> None:
    assert parse_vars(["sftp_conn_id=sftp_x", "language = fi"]) == {
        "sftp_conn_id": "sftp_x",
        "language": "fi",
    }
    with pytest.raises(OnboardingError, match="must be key=value"):
        parse_vars(["sftp_conn_id"])
    with pytest.raises(OnboardingError, match="given twice"):
        parse_vars(["a=1", "a=2"])


def test_defaults_fill_the_prefix_into_the_templates_vars() -> None:
    stores = read_platform(CONNECTIONS, "ubl_stores")
    settings = MerchantSettings("ubl_kauppa", "Kauppa", prefix="kauppa", vars={"language": "sv"})
    assert merchant_vars(stores, settings) == {
        "sftp_conn_id": "stores_sftp_kauppa",
        "store_a_conn_id": "store_a_kauppa",
        "store_b_conn_id": "store_b_kauppa",
        "language": "sv",
    }


def test_the_name_defaults_to_the_ids_words(monta: Platform) -> None:
    assert default_name("itsperfect_jacky_luxury", monta) == "Jacky Luxury"


def test_the_rendered_file_reads_like_an_example_merchant(monta: Platform) -> None:
    text = render_merchant(monta, _settings(channels={Channel.B2C: "jacky-webshop"}))
    assert text == (
        "# Jacky Luxury: IT's Perfect -> Monta. Everything not set here comes from the platform\n"
        "# template _itsperfect_monta.yaml. Flows start paused (enabled: false by default) until\n"
        "# switched on here or per flow. Written by `koppel new`.\n"
        "extends: _itsperfect_monta\n"
        "name: Jacky Luxury\n"
        "prefix: jacky\n"
        'relation_id: "27794"\n'
        "channels:\n"
        "  B2C: {origin: jacky-webshop}\n"
        "vars:\n"
        "  # The Airflow connection (host, user, password) of the merchant's SFTP user.\n"
        "  # Secrets never go in these files. A merchant file normally names its own.\n"
        "  sftp_conn_id: sftp_jacky\n"
    )


def test_acmes_settings_give_acmes_connection(monta: Platform, tmp_path: Path) -> None:
    """The file from Acme's options loads to Acme's flows, folders and settings."""
    settings = MerchantSettings(
        "itsperfect_acme",
        "Acme Fashion",
        prefix="acme",
        relation_id="27794",
        channels={Channel.B2C: "acme-webshop", Channel.B2B: "acme-wholesale"},
        alert_emails=("integrations@acme.example",),
    )
    path = tmp_path / "itsperfect_acme.yaml"
    path.write_text(render_merchant(monta, settings), encoding="utf-8")
    ours = load_connection(path, templates_dir=CONNECTIONS)
    acme = load_connection(CONNECTIONS / "itsperfect_acme.yaml")
    leave_out = {"path": True, "flows": {"orders": {"options": True}}}
    assert ours.model_dump(exclude=leave_out) == acme.model_dump(exclude=leave_out)
    assert ours.enabled is False


@pytest.mark.parametrize(
    "name", ["Café: Noord", "# not a comment", "yes", "0123", "O'Neill & Zn", "Trailing "]
)
def test_any_name_reads_back_as_written(monta: Platform, name: str) -> None:
    document = yaml.safe_load(render_merchant(monta, _settings(name=name)))
    assert document["name"] == name
