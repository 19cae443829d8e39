"""The centre's CSRF tokens, origin check and list filters, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from starlette.requests import Request

from koppel.centre.auth import CSRF_TTL, csrf_token, csrf_valid, same_origin
from koppel.centre.queries import MessageQuery, query_from
from koppel.store import Direction, MessageStatus

ALICE = SimpleAuthManagerUser(username="alice", role="OP")
BOB = SimpleAuthManagerUser(username="bob", role="OP")


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__SECRET_KEY", "unit-test-secret")


def test_a_csrf_token_is_valid_for_its_user_only_and_for_a_working_day() -> None:
    now = 1_800_000_000.0
    token = csrf_token(ALICE, now=now)
    assert csrf_valid(ALICE, token, now=now + 60)
    assert csrf_valid(ALICE, token, now=now + CSRF_TTL)
    assert not csrf_valid(ALICE, token, now=now + CSRF_TTL + 1)  # expired
    assert not csrf_valid(ALICE, token, now=now - 1)  # from the future
    assert not csrf_valid(BOB, token, now=now)  # another user's
    issued, _, signature = token.partition(".")
    assert not csrf_valid(ALICE, f"{int(issued) + 1}.{signature}", now=now)  # re-dated
    for junk in ("", ".", "abc", "1.", f"x.{signature}"):
        assert not csrf_valid(ALICE, junk, now=now)


def test_a_csrf_token_depends_on_the_api_server_s_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    token = csrf_token(ALICE)
    monkeypatch.setenv("AIRFLOW__API__SECRET_KEY", "another-secret")
    assert not csrf_valid(ALICE, token)


def _request(**headers: str) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


def test_same_origin_compares_origin_or_referer_with_the_host() -> None:
    assert same_origin(_request(host="airflow:8080", origin="http://airflow:8080"))
    assert same_origin(_request(host="airflow:8080", origin="https://AIRFLOW:8080"))
    assert same_origin(_request(host="airflow:8080", referer="http://airflow:8080/koppel/x"))
    assert not same_origin(_request(host="airflow:8080", origin="http://evil:8080"))
    assert not same_origin(_request(host="airflow:8080", origin="http://airflow:9090"))
    assert not same_origin(_request(host="airflow:8080", origin="null"))
    assert not same_origin(_request(host="airflow:8080"))  # neither header
    # The Origin decides when both are sent.
    assert not same_origin(_request(host="a", origin="http://evil", referer="http://a/koppel/"))


def test_filters_come_from_the_query_string_and_go_back_into_links() -> None:
    query = query_from(
        {
            "connection": "scsn_acme",
            "flow": " orders ",
            "direction": "in",
            "status": "rejected",
            "problem": "scsn.price",
            "since": "2026-11-01",
            "until": "2026-11-30",
            "text": "PO-4711",
            "before": "99",
        }
    )
    assert query == MessageQuery(
        connection="scsn_acme",
        flow="orders",
        direction=Direction.IN,
        status=MessageStatus.REJECTED,
        problem="scsn.price",
        since=datetime(2026, 11, 1, tzinfo=UTC),
        until=datetime(2026, 12, 1, tzinfo=UTC),  # the whole of the 30th
        text="PO-4711",
    )
    assert query_from(query.params()) == query  # a link keeps the same list
    assert query_from({"status": "", "connection": ""}) == MessageQuery()
    bad = {"status": "lost", "direction": "sideways", "since": "yesterday"}
    for name, value in bad.items():
        with pytest.raises(ValueError, match=value):
            query_from({name: value})


def test_a_dag_id_names_its_connection_and_flow_at_the_last_separator() -> None:
    from koppel.centre.views import dag_id_of, flow_of_dag_id

    assert flow_of_dag_id("ipsoft_noordzee__orders") == ("ipsoft_noordzee", "orders")
    assert flow_of_dag_id("a__b__stock") == ("a__b", "stock")
    assert flow_of_dag_id(dag_id_of("webshop_koffiebar", "direct_invoices")) == (
        "webshop_koffiebar",
        "direct_invoices",
    )
    for not_a_flow in ("example_bash_operator", "__orders", "acme__"):
        assert flow_of_dag_id(not_a_flow) is None
