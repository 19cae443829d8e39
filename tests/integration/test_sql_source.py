"""A database table as a flow's source: changed rows read as messages, on PostgreSQL and SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from koppel.config import ConnectionConfig, FlowConfig, SqlEndpoint
from koppel.errors import ConfigError, TransportError
from koppel.hooks.isah_schema import sales_orders
from koppel.hooks.sql import SqlHook
from koppel.hooks.sql_source import SqlSource
from koppel.pipeline.api_receive import Received, receive_answers
from koppel.sandbox.isah import BAKKER_SCSN_ID, CONFIRMED_ORDER, UNCONFIRMED_ORDER
from koppel.store import MessageStore

pytestmark = pytest.mark.integration

SEEDED_ORDERS = 4


def _endpoint(conn_id: str, **changes: object) -> SqlEndpoint:
    settings: dict[str, object] = {
        "transport": "sql",
        "conn_id": conn_id,
        "format": "isah.sales_order",
        "table": "sales_orders",
        "identified_by": ["order_reference", "buyer_scsn_id"],
        "children": {"lines": "sales_order_lines"},
        "parent_column": "order_number",
        "returning": "order_number",
        "watermark_column": "updated_at",
    }
    return SqlEndpoint.model_validate(settings | changes)


@pytest.fixture
def source(erp_conn_id: str) -> SqlSource:
    return SqlSource(SqlHook(erp_conn_id).get_engine(), _endpoint(erp_conn_id))


def _window() -> tuple[datetime, datetime]:
    return datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(minutes=1)


def _touch(engine: Engine, reference: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(sales_orders)
            .where(sales_orders.c.order_reference == reference)
            .values(updated_at=at, note="changed")
        )


def test_every_changed_row_is_one_message_with_its_child_rows(source: SqlSource) -> None:
    messages = list(source.changed(*_window()))

    assert len(messages) == SEEDED_ORDERS
    by_reference = {json.loads(m.payload)["order_reference"]: m for m in messages}
    confirmed = by_reference[CONFIRMED_ORDER]
    assert confirmed.name.startswith(f"sales_orders/{CONFIRMED_ORDER},{BAKKER_SCSN_ID}@")
    body = json.loads(confirmed.payload)
    assert body["confirmed"] is True
    assert body["amount"] in {"850.0000", "850.00"}
    assert [line["article_code"] for line in body["lines"]] == ["SHAFT-100"]
    assert json.loads(by_reference["ND-PO-77"].payload)["lines"] == []


def test_pages_follow_each_other_without_a_row_twice_or_missed(erp_conn_id: str) -> None:
    engine = SqlHook(erp_conn_id).get_engine()
    paged = SqlSource(engine, _endpoint(erp_conn_id, page_size=1)).changed(*_window())
    whole = SqlSource(engine, _endpoint(erp_conn_id)).changed(*_window())
    assert [m.name for m in paged] == [m.name for m in whole]


def test_only_rows_changed_in_the_window_are_read(source: SqlSource, erp_engine: Engine) -> None:
    after_seed = datetime.now(UTC) + timedelta(seconds=5)
    _touch(erp_engine, UNCONFIRMED_ORDER, after_seed + timedelta(seconds=5))

    changed = list(source.changed(after_seed, after_seed + timedelta(minutes=1)))

    assert [json.loads(m.payload)["order_reference"] for m in changed] == [UNCONFIRMED_ORDER]
    assert json.loads(changed[0].payload)["note"] == "changed"


def test_a_row_is_stored_once_per_version(
    source: SqlSource, erp_engine: Engine, store: MessageStore
) -> None:
    connection = ConnectionConfig.model_construct(id="isah_export")
    flow = FlowConfig.model_construct(name="orders")
    first = receive_answers(source.changed(*_window()), store, connection, flow, run_id="r1")
    again = receive_answers(source.changed(*_window()), store, connection, flow, run_id="r2")
    _touch(erp_engine, CONFIRMED_ORDER, datetime.now(UTC) + timedelta(seconds=1))
    later = receive_answers(source.changed(*_window()), store, connection, flow, run_id="r3")

    assert (first.received, again.received, again.duplicates) == (SEEDED_ORDERS, 0, SEEDED_ORDERS)
    assert (later.received, later.duplicates) == (1, SEEDED_ORDERS - 1)


def test_a_source_needs_a_watermark_column(erp_conn_id: str) -> None:
    with pytest.raises(ConfigError, match="watermark_column"):
        SqlSource(SqlHook(erp_conn_id).get_engine(), _endpoint(erp_conn_id, watermark_column=None))


def test_an_unreachable_source_is_a_transport_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ISAH_DOWN", "postgres://koppel:secret@127.0.0.1:1/isah")
    source = SqlSource(SqlHook("isah_down").get_engine(), _endpoint("isah_down"))
    with pytest.raises(TransportError) as failed:
        list[Received](source.changed(*_window()))
    assert "secret" not in str(failed.value)
