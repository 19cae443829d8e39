"""The SQL target writing customer orders into the ERP database, on PostgreSQL and on SQLite.

Every test reaches the database through the Airflow connection ``isah_erp``
and :func:`koppel.hooks.destinations.open_destinations`, as a flow's
delivery does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select, update

from koppel.config import SqlEndpoint
from koppel.documents import SalesOrder, SalesOrderLine
from koppel.errors import ConfigError, FatalSyncError, TransportError
from koppel.formats import default_registry
from koppel.hooks.destinations import open_destinations
from koppel.hooks.isah_schema import sales_order_lines, sales_orders
from koppel.hooks.sql import payload_fingerprint
from koppel.pipeline.destinations import Destination
from koppel.sandbox.isah import BAKKER, BAKKER_SCSN_ID, CONFIRMED_ORDER, UNCONFIRMED_ORDER

pytestmark = pytest.mark.integration


def _endpoint(conn_id: str, **changes: Any) -> SqlEndpoint:
    settings: dict[str, Any] = {
        "transport": "sql",
        "conn_id": conn_id,
        "format": "isah.sales_order",
        "table": "sales_orders",
        "identified_by": ["order_reference", "buyer_scsn_id"],
        "children": {"lines": "sales_order_lines"},
        "parent_column": "order_number",
        "returning": "order_number",
        "update_if": {"confirmed": False},
        "import_column": "import_message",
        "position_column": "line_number",
        "watermark_column": "updated_at",
    }
    return SqlEndpoint.model_validate(settings | changes)


def _payload(reference: str, *lines: tuple[str, str, str], note: str | None = None) -> bytes:
    """An ``isah.sales_order`` body for Bakker: lines of (article, quantity, unit price)."""
    amounts = [Decimal(quantity) * Decimal(price) for _, quantity, price in lines]
    rows = [
        {
            "line_id": str(number),
            "article_code": article,
            "quantity": quantity,
            "unit": "PCE",
            "unit_price": price,
            "discount_percentage": "0",
            "manually_priced": number == 1,
            "amount": str(amount),
        }
        for number, ((article, quantity, price), amount) in enumerate(
            zip(lines, amounts, strict=True), start=1
        )
    ]
    body: dict[str, Any] = {
        "order_reference": reference,
        "buyer_scsn_id": BAKKER_SCSN_ID,
        "customer_id": BAKKER,
        "sales_type": "SCI-NL",
        "currency": "EUR",
        "amount": str(sum(amounts, Decimal(0))),
        "requested_delivery_date": "2026-12-01",
        "lines": rows,
    }
    if note is not None:
        body["note"] = note
    return json.dumps(body).encode()


@pytest.fixture
def destination(erp_conn_id: str) -> Iterator[Destination]:
    """The destination of the ERP's order tables, opened as a delivery task opens it."""
    with open_destinations() as destinations:
        yield destinations.get(_endpoint(erp_conn_id))


def _order(engine: Engine, reference: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(sales_orders).where(sales_orders.c.order_reference == reference)
        ).mappings()
        found = [dict(r) for r in row]
    assert len(found) == 1, f"{len(found)} orders {reference}"
    return found[0]


def _lines(engine: Engine, order_number: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(sales_order_lines)
            .where(sales_order_lines.c.order_number == order_number)
            .order_by(sales_order_lines.c.line_number)
        ).mappings()
        return [dict(r) for r in rows]


def _confirm(engine: Engine, reference: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(sales_orders)
            .where(sales_orders.c.order_reference == reference)
            .values(confirmed=True)
        )


def test_a_new_order_is_inserted_with_its_lines_and_the_order_number_is_the_receipt(
    destination: Destination, erp_engine: Engine
) -> None:
    payload = _payload("PO-1", ("SHAFT-100", "3", "42.50"), ("BRKT-300", "10", "7.41"))

    receipt = destination.deliver("sales_orders/PO-1", payload)

    order = _order(erp_engine, "PO-1")
    assert receipt == str(order["order_number"])
    assert order["amount"] == Decimal("201.60")
    assert order["requested_delivery_date"] == date(2026, 12, 1)
    assert order["confirmed"] is False
    assert order["status"] == "open"
    assert order["import_message"] == payload_fingerprint("sales_orders/PO-1", payload)
    lines = _lines(erp_engine, order["order_number"])
    assert [(line["line_number"], line["article_code"]) for line in lines] == [
        (1, "SHAFT-100"),
        (2, "BRKT-300"),
    ]
    assert lines[0]["unit_price"] == Decimal("42.50")
    assert [line["manually_priced"] for line in lines] == [True, False]


def test_a_retry_of_the_same_delivery_writes_nothing_twice_even_once_confirmed(
    destination: Destination, erp_engine: Engine
) -> None:
    payload = _payload("PO-2", ("SHAFT-100", "3", "42.50"))
    first = destination.deliver("sales_orders/PO-2", payload)
    before = _order(erp_engine, "PO-2")
    _confirm(erp_engine, "PO-2")  # the ERP's user was quick: the retry must still succeed

    again = destination.deliver("sales_orders/PO-2", payload)

    after = _order(erp_engine, "PO-2")
    assert again == first
    assert after["updated_at"] == before["updated_at"]
    assert len(_lines(erp_engine, after["order_number"])) == 1


def test_an_unconfirmed_order_is_updated_and_its_lines_replaced(
    destination: Destination, erp_engine: Engine
) -> None:
    first = destination.deliver("sales_orders/PO-3", _payload("PO-3", ("SHAFT-100", "3", "42.50")))
    changed = _payload("PO-3", ("FLANGE-200", "2", "18.40"), ("BRKT-300", "1", "7.80"), note="v2")

    second = destination.deliver("sales_orders/PO-3", changed)

    order = _order(erp_engine, "PO-3")
    assert second == first == str(order["order_number"])
    assert order["note"] == "v2"
    assert order["amount"] == Decimal("44.60")
    assert order["import_message"] == payload_fingerprint("sales_orders/PO-3", changed)
    lines = _lines(erp_engine, order["order_number"])
    assert [(line["line_number"], line["article_code"]) for line in lines] == [
        (1, "FLANGE-200"),
        (2, "BRKT-300"),
    ]


def test_a_confirmed_order_is_refused_naming_its_key_and_left_as_it_is(
    destination: Destination, erp_engine: Engine
) -> None:
    before = _order(erp_engine, CONFIRMED_ORDER)

    with pytest.raises(FatalSyncError) as refused:
        destination.deliver(
            f"sales_orders/{CONFIRMED_ORDER}", _payload(CONFIRMED_ORDER, ("BRKT-300", "1", "7.80"))
        )

    message = str(refused.value)
    assert CONFIRMED_ORDER in message
    assert BAKKER_SCSN_ID in message
    assert "confirmed is True" in message
    assert _order(erp_engine, CONFIRMED_ORDER) == before
    assert [line["article_code"] for line in _lines(erp_engine, before["order_number"])] == [
        "SHAFT-100"
    ]


def test_without_update_if_an_existing_row_is_never_replaced(
    erp_conn_id: str, erp_engine: Engine
) -> None:
    with open_destinations() as destinations:
        destination = destinations.get(_endpoint(erp_conn_id, update_if={}))
        destination.deliver("sales_orders/PO-4", _payload("PO-4", ("SHAFT-100", "1", "42.50")))
        with pytest.raises(FatalSyncError, match="never replaces"):
            destination.deliver("sales_orders/PO-4", _payload("PO-4", ("BRKT-300", "1", "7.80")))


def test_two_deliveries_of_one_key_at_the_same_time_make_one_order(
    erp_conn_id: str, erp_engine: Engine
) -> None:
    """Both succeed with the same order number: one inserts, the other updates it."""
    references = [f"PO-RACE-{n}" for n in range(5)]
    receipts: dict[str, list[str | None]] = {reference: [] for reference in references}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def deliver(article: str) -> None:
        try:
            with open_destinations() as destinations:
                destination = destinations.get(_endpoint(erp_conn_id))
                for reference in references:
                    barrier.wait(timeout=30)
                    payload = _payload(reference, (article, "1", "1.00"))
                    receipts[reference].append(destination.deliver(f"x/{reference}", payload))
        except BaseException as exc:  # the assertion below shows it
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=deliver, args=(a,)) for a in ("SHAFT-100", "BRKT-300")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    for reference in references:
        order = _order(erp_engine, reference)
        assert receipts[reference] == [str(order["order_number"])] * 2
        assert len(_lines(erp_engine, order["order_number"])) == 1


def test_an_insert_that_loses_the_race_looks_again_and_updates_the_winner(
    destination: Destination, erp_engine: Engine
) -> None:
    """Deterministic race: another session inserts the key just before this INSERT runs."""
    if erp_engine.dialect.name == "sqlite":
        pytest.skip("on SQLite BEGIN IMMEDIATE queues writers: the race cannot happen")
    winner = _payload("PO-5", ("SHAFT-100", "1", "42.50"))
    inserted: list[int] = []

    def insert_first(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO sales_orders") and not inserted:
            with erp_engine.begin() as other:
                row = json.loads(winner) | {"requested_delivery_date": date(2026, 12, 1)}
                del row["lines"]
                inserted.append(
                    other.execute(
                        insert(sales_orders).values(row).returning(sales_orders.c.order_number)
                    ).scalar_one()
                )

    loser = _payload("PO-5", ("BRKT-300", "2", "7.80"))
    sql_engine = _engine_of(destination)
    event.listen(sql_engine, "before_cursor_execute", insert_first)
    try:
        receipt = destination.deliver("sales_orders/PO-5", loser)
    finally:
        event.remove(sql_engine, "before_cursor_execute", insert_first)

    assert receipt == str(inserted[0])
    assert [line["article_code"] for line in _lines(erp_engine, inserted[0])] == ["BRKT-300"]


def _engine_of(destination: Destination) -> Engine:
    engine: Engine = destination._engine  # type: ignore[attr-defined]  # the destination's own
    return engine


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (json.dumps({"order_reference": "X", "colour": "red"}).encode(), "'colour'"),
        (json.dumps({"order_reference": "X", "amount": "lots"}).encode(), "sales_orders.amount"),
        (json.dumps({"order_reference": "X", "lines": {}}).encode(), "list of rows"),
        (json.dumps({"order_reference": "X"}).encode(), "buyer_scsn_id"),
    ],
)
def test_a_payload_that_does_not_fit_the_tables_is_refused(
    destination: Destination, erp_engine: Engine, payload: bytes, complaint: str
) -> None:
    with pytest.raises(FatalSyncError, match=complaint):
        destination.deliver("sales_orders/X", payload)
    with erp_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sales_orders)).scalar_one() == 4


def test_a_row_the_database_refuses_is_a_fatal_sync_error(destination: Destination) -> None:
    with pytest.raises(FatalSyncError, match="sales_orders refused"):
        destination.deliver("sales_orders/PO-6", _payload("PO-6", ("NO-SUCH-ARTICLE", "1", "1")))


def test_an_unreachable_postgres_database_is_a_transport_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ISAH_DOWN", "postgres://koppel:secret@127.0.0.1:1/isah")
    with open_destinations() as destinations:
        destination = destinations.get(_endpoint("isah_down"))
        with pytest.raises(TransportError) as failed:
            destination.deliver("sales_orders/PO-7", _payload("PO-7", ("SHAFT-100", "1", "1")))
    assert "secret" not in str(failed.value)


def test_an_unreachable_sqlite_database_is_a_transport_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-folder" / "isah.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_ISAH_DOWN", json.dumps({"conn_type": "sqlite", "host": str(missing)})
    )
    with open_destinations() as destinations:
        destination = destinations.get(_endpoint("isah_down"))
        with pytest.raises(TransportError):
            destination.deliver("sales_orders/PO-8", _payload("PO-8", ("SHAFT-100", "1", "1")))


def test_a_missing_table_or_column_or_a_connection_of_another_type_is_a_config_error(
    erp_conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_destinations() as destinations, pytest.raises(ConfigError, match="no table"):
        destinations.get(_endpoint(erp_conn_id, table="orders")).deliver("orders/X", b"{}")
    misnamed = _endpoint(erp_conn_id, import_column="imported_by", position_column="line_no")
    with open_destinations() as destinations, pytest.raises(ConfigError) as wrong:
        destinations.get(misnamed).deliver("sales_orders/X", b"{}")
    assert "sales_orders.imported_by" in str(wrong.value)
    assert "sales_order_lines.line_no" in str(wrong.value)
    monkeypatch.setenv("AIRFLOW_CONN_ISAH_FTP", "ftp://user:secret@127.0.0.1:21")
    with (
        open_destinations() as destinations,
        pytest.raises(ConfigError, match="postgres or sqlite"),
    ):
        destinations.get(_endpoint("isah_ftp"))


def test_a_mapped_sales_order_goes_in_through_the_template_s_minimal_endpoint(
    erp_conn_id: str, erp_engine: Engine
) -> None:
    """The isah.sales_order mapping and the ERP schema fit; line numbers and timestamps optional.

    The endpoint is the ``_scsn_isah`` template's: no ``position_column``, no
    ``watermark_column``.
    """
    endpoint = _endpoint(erp_conn_id, position_column=None, watermark_column=None)
    order = SalesOrder(
        order_reference=UNCONFIRMED_ORDER,
        buyer_scsn_id=BAKKER_SCSN_ID,
        customer_id=BAKKER,
        sales_type="SCI-NL",
        currency="EUR",
        amount=Decimal("97.14"),
        lines=[
            SalesOrderLine(
                line_id="10",
                article_code="SHAFT-100",
                revision="B",
                customer_article_code="BK-4711",
                quantity=Decimal(2),
                unit_price=Decimal("42.50"),
                discount_percentage=Decimal("2.5"),
                amount=Decimal("82.88"),
            ),
            SalesOrderLine(
                line_id="20",
                article_code="BRKT-300",
                quantity=Decimal(2),
                unit_price=Decimal("7.80"),
                manually_priced=True,
                status="PRICE-CHECK",
                amount=Decimal("15.60"),
            ),
        ],
    )
    fmt = default_registry().get(endpoint.format)
    first = order.model_copy(update={"note": "deliver before noon", "lines": order.lines[:1]})
    target = f"sales_orders/{UNCONFIRMED_ORDER}"

    with open_destinations() as destinations:
        destinations.get(endpoint).deliver(target, fmt.write(first, context={}))
        receipt = destinations.get(endpoint).deliver(target, fmt.write(order, context={}))

    updated = _order(erp_engine, UNCONFIRMED_ORDER)
    assert receipt == str(updated["order_number"])
    assert updated["amount"] == Decimal("97.14")
    assert updated["note"] is None  # the second message has none: written as null, cleared
    lines = _lines_by_id(erp_engine, updated["order_number"])
    assert [(line["line_id"], line["revision"], line["manually_priced"]) for line in lines] == [
        ("10", "B", False),
        ("20", None, True),
    ]
    assert lines[0]["discount_percentage"] == Decimal("2.5")
    assert lines[1]["status"] == "PRICE-CHECK"
    assert {line["line_number"] for line in lines} == {None}


def _lines_by_id(engine: Engine, order_number: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(sales_order_lines)
            .where(sales_order_lines.c.order_number == order_number)
            .order_by(sales_order_lines.c.line_id)
        ).mappings()
        return [dict(r) for r in rows]
