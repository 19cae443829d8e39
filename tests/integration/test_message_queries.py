"""The integration centre's queries on a real PostgreSQL and on SQLite: filters, pages, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect, select, text, update

from koppel.documents import Problem
from koppel.errors import StoreError
from koppel.store import Direction, MessageStatus, MessageStore
from koppel.store.message_queries import (
    MessageFilter,
    MessagePage,
    message_runs,
    page_messages,
    status_counts,
)
from koppel.store.records import OutboundCopy
from koppel.store.schema import messages

pytestmark = pytest.mark.integration

ACME = "acme"
GLOBEX = "globex"


def _receive(
    store: MessageStore, name: str, *, connection: str = ACME, flow: str = "orders"
) -> int:
    receipt = store.receive(
        connection_id=connection, flow=flow, source_name=name, payload=name.encode()
    )
    return receipt.message_id


def _reject(store: MessageStore, message_id: int, code: str) -> None:
    store.update(
        message_id,
        status=MessageStatus.REJECTED,
        problems=[Problem(code=code, message=f"{code} found")],
    )


def _ids(page: MessagePage) -> list[int]:
    return [m.id for m in page.items]


def _stamp(engine: Engine, message_id: int, created_at: datetime) -> None:
    """Back-date a message: the store stamps ``created_at`` itself, with the time of storing."""
    with engine.begin() as conn:
        conn.execute(
            update(messages).where(messages.c.id == message_id).values(created_at=created_at)
        )


@pytest.fixture
def mixed(any_store: MessageStore) -> dict[str, int]:
    """Messages of two connections, flows, directions and statuses, by a name for each."""
    ids = {
        "order": _receive(any_store, "ORDER-1001.xml"),
        "price": _receive(any_store, "order-1002.xml"),
        "stock": _receive(any_store, "stock_50%.csv", flow="stock"),
        "other": _receive(any_store, "ORDER-1003.xml", connection=GLOBEX),
    }
    _reject(any_store, ids["price"], "scsn.price.deviation")
    _reject(any_store, ids["other"], "scsn.price.deviation")
    any_store.update(ids["stock"], status=MessageStatus.HELD)
    ids["out"] = any_store.create_outbound(
        parent_id=ids["order"],
        connection_id=ACME,
        flow="orders",
        delivery_key="monta:PO-77",
        target_name="/out/PO-77.xml",
        payload=b"<Out/>",
        document={"number": "PO-77"},
        document_key="PO-77_A",
    ).message_id
    return ids


# -- filters ---------------------------------------------------------------------------------


def test_no_filter_lists_everything_newest_first(
    any_store: MessageStore, mixed: dict[str, int]
) -> None:
    page = page_messages(any_store, MessageFilter())

    assert _ids(page) == sorted(mixed.values(), reverse=True)
    assert page.total == 5
    assert page.next_before_id is None
    assert not hasattr(page.items[0], "payload")


def test_each_filter_on_its_own(any_store: MessageStore, mixed: dict[str, int]) -> None:
    def ids(**fields: object) -> set[int]:
        return set(_ids(page_messages(any_store, MessageFilter(**fields))))

    assert ids(connection_id=GLOBEX) == {mixed["other"]}
    assert ids(flow="stock") == {mixed["stock"]}
    assert ids(direction=Direction.OUT) == {mixed["out"]}
    assert ids(direction="in") == {mixed["order"], mixed["price"], mixed["stock"], mixed["other"]}
    assert ids(statuses=(MessageStatus.HELD,)) == {mixed["stock"]}
    assert ids(statuses=("rejected", MessageStatus.PENDING)) == {
        mixed["price"],
        mixed["other"],
        mixed["out"],
    }
    assert ids(problem_code="scsn.price") == {mixed["price"], mixed["other"]}
    assert ids(problem_code="scsn.qty") == set()


def test_problem_text_finds_the_messages_held_for_one_customer(any_store: MessageStore) -> None:
    held = [_receive(any_store, f"/api/v1/orders/LNB-{n}") for n in range(4)]
    for message_id, customer in zip(
        held, ("LNB-4711", "LNB-4711", "LNB-0815", "LNB_4711"), strict=True
    ):
        any_store.update(
            message_id,
            status=MessageStatus.HELD,
            problems=[
                Problem(code="scsn.price", message="price accepted as deviating"),
                Problem(
                    code="customer.no_reference",
                    message=f"customer {customer} has no ERP customer reference",
                    field="customer.erp_reference",
                ),
            ],
        )
    any_store.update(held[1], status=MessageStatus.DELIVERED, problems=[])

    def found(**fields: object) -> list[int]:
        return _ids(page_messages(any_store, MessageFilter(**fields)))

    assert found(statuses=("held",), problem_text="lnb-4711") == [held[0]]
    assert found(problem_text="LNB_4711") == [held[3]]  # "_" is no wildcard
    assert found(problem_text="ERP%REFERENCE") == []  # nor "%"
    assert found(problem_text="customer.erp_ref") == [held[3], held[2], held[0]]  # the field
    assert found(problem_text="%") == []
    assert found(problem_text="  ") == found()  # blank: no filter


def test_the_flows_a_user_may_see_bound_the_listing_and_its_total(
    any_store: MessageStore, mixed: dict[str, int]
) -> None:
    def listed(flows: frozenset[tuple[str, str]] | None) -> tuple[set[int], int]:
        page = page_messages(any_store, MessageFilter(flows=flows))
        return set(_ids(page)), page.total

    acme_orders = {mixed["order"], mixed["price"], mixed["out"]}
    assert listed(frozenset({(ACME, "orders")})) == (acme_orders, 3)
    assert listed(frozenset({(ACME, "stock"), (GLOBEX, "orders")})) == (
        {mixed["stock"], mixed["other"]},
        2,
    )
    assert listed(frozenset({(GLOBEX, "stock")})) == (set(), 0)  # no such flow's messages
    assert listed(frozenset()) == (set(), 0)  # may see no flow: sees nothing
    assert listed(None)[1] == 5  # no bound


def test_combined_filters_must_all_hold(any_store: MessageStore, mixed: dict[str, int]) -> None:
    wanted = MessageFilter(
        connection_id=ACME,
        flow="orders",
        direction=Direction.IN,
        statuses=(MessageStatus.REJECTED,),
        problem_code="scsn",
        text="order",
    )

    page = page_messages(any_store, wanted)

    assert _ids(page) == [mixed["price"]]
    assert page.total == 1


def test_stored_time_range_includes_since_and_excludes_until(
    any_store: MessageStore, any_engine: Engine, mixed: dict[str, int]
) -> None:
    day = datetime(2026, 11, 1, tzinfo=UTC)
    _stamp(any_engine, mixed["order"], day - timedelta(days=2))
    _stamp(any_engine, mixed["price"], day)
    _stamp(any_engine, mixed["stock"], day + timedelta(hours=23))
    _stamp(any_engine, mixed["other"], day + timedelta(days=1))
    _stamp(any_engine, mixed["out"], day + timedelta(days=3))

    page = page_messages(any_store, MessageFilter(since=day, until=day + timedelta(days=1)))

    assert _ids(page) == [mixed["stock"], mixed["price"]]
    assert page.total == 2


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MessageFilter(since=datetime(2026, 11, 1))


# -- free text -------------------------------------------------------------------------------


def test_text_is_a_case_insensitive_substring_of_source_name_or_document_key(
    any_store: MessageStore, mixed: dict[str, int]
) -> None:
    def found(text: str) -> set[int]:
        return set(_ids(page_messages(any_store, MessageFilter(text=text))))

    assert found("order-100") == {mixed["order"], mixed["price"], mixed["other"]}
    assert found("ORDER-1002") == {mixed["price"]}
    assert found("po-77_a") == {mixed["out"]}  # the document key
    assert found("monta:") == {mixed["out"]}  # the delivery key is the outbound source name
    assert found("   ") == set(mixed.values())  # blank searches nothing


def test_like_wildcards_in_the_text_match_themselves(
    any_store: MessageStore, mixed: dict[str, int]
) -> None:
    backslashed = _receive(any_store, "dir\\file.xml")

    def found(text: str) -> set[int]:
        return set(_ids(page_messages(any_store, MessageFilter(text=text))))

    assert found("50%") == {mixed["stock"]}
    assert found("%") == {mixed["stock"]}
    assert found("k_5") == {mixed["stock"]}
    assert found("_") == {mixed["stock"], mixed["out"]}
    assert found("PO_77") == set()  # "_" is not "any character": the key has "PO-77"
    assert found("r-100%") == set()
    assert found("\\") == {backslashed}
    assert found("dir\\f") == {backslashed}


# -- paging ----------------------------------------------------------------------------------


def test_keyset_pages_have_no_gaps_or_repeats_while_messages_arrive(
    any_store: MessageStore,
) -> None:
    first_ids = [_receive(any_store, f"ORDER-{n}.xml") for n in range(23)]
    wanted = MessageFilter(connection_id=ACME, text="order")
    seen: list[int] = []
    totals: list[int] = []
    before: int | None = None
    arrived: list[int] = []
    for round_no in range(10):
        page = page_messages(any_store, wanted, limit=5, before_id=before)
        seen.extend(_ids(page))
        totals.append(page.total)
        # New messages arrive between pages; they are newer than every page already shown.
        arrived.append(_receive(any_store, f"ORDER-late-{round_no}.xml"))
        if page.next_before_id is None:
            break
        assert page.next_before_id == page.items[-1].id
        before = page.next_before_id

    assert seen == sorted(first_ids, reverse=True)
    assert len(set(seen)) == len(seen)
    assert totals == [23 + n for n in range(5)]  # the total counts what arrived meanwhile
    fresh = page_messages(any_store, wanted, limit=5)
    assert _ids(fresh) == sorted(arrived, reverse=True)[:5]


def test_a_full_last_page_says_there_is_no_next(any_store: MessageStore) -> None:
    ids = [_receive(any_store, f"f{n}.xml") for n in range(4)]

    first = page_messages(any_store, MessageFilter(), limit=2)
    second = page_messages(any_store, MessageFilter(), limit=2, before_id=first.next_before_id)

    assert _ids(first) == [ids[3], ids[2]]
    assert first.next_before_id == ids[2]
    assert _ids(second) == [ids[1], ids[0]]
    assert second.next_before_id is None
    assert first.total == second.total == 4


def test_the_page_size_is_bounded(any_store: MessageStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        page_messages(any_store, MessageFilter(), limit=0)
    with pytest.raises(ValueError, match="limit"):
        page_messages(any_store, MessageFilter(), limit=501)


def test_a_bare_engine_will_do(any_engine: Engine, mixed: dict[str, int]) -> None:
    page = page_messages(any_engine, MessageFilter(flow="stock"))

    assert _ids(page) == [mixed["stock"]]
    assert page.items[0].status is MessageStatus.HELD


# -- the overview ----------------------------------------------------------------------------


def test_status_counts_group_by_flow_and_status_since_a_time(
    any_store: MessageStore, any_engine: Engine, mixed: dict[str, int]
) -> None:
    now = datetime.now(UTC)
    _stamp(any_engine, mixed["order"], now - timedelta(days=3))

    counts = status_counts(any_store, since=now - timedelta(days=1))

    assert counts == {
        (ACME, "orders"): {MessageStatus.REJECTED: 1, MessageStatus.PENDING: 1},
        (ACME, "stock"): {MessageStatus.HELD: 1},
        (GLOBEX, "orders"): {MessageStatus.REJECTED: 1},
    }
    week = status_counts(any_engine, since=now - timedelta(days=7))
    assert week[(ACME, "orders")] == {
        MessageStatus.RECEIVED: 1,
        MessageStatus.REJECTED: 1,
        MessageStatus.PENDING: 1,
    }
    assert status_counts(any_store, since=now + timedelta(minutes=1)) == {}


# -- runs ------------------------------------------------------------------------------------


def test_runs_of_a_message_are_its_own_and_its_outputs(any_store: MessageStore) -> None:
    message_id = any_store.receive(
        connection_id=ACME,
        flow="orders",
        source_name="o.xml",
        payload=b"<Order/>",
        run_id="scheduled__1",
    ).message_id
    assert message_runs(any_store, message_id) == ["scheduled__1"]

    outputs = any_store.record_decision(
        message_id,
        connection_id=ACME,
        flow="orders",
        problems=[],
        document={"number": "1"},
        document_key="1",
        run_id="manual__replay",
        outbound=[
            OutboundCopy(
                delivery_key=f"monta:{n}",
                target_name=None,
                payload=b"<Out/>",
                document={},
                document_key="1",
            )
            for n in range(2)
        ],
    )
    any_store.update(outputs[1].id, run_id="scheduled__2")

    assert message_runs(any_store, message_id) == ["manual__replay", "scheduled__2"]
    assert message_runs(any_store, outputs[1].id) == ["scheduled__2"]


def test_runs_of_a_missing_message_raise(any_store: MessageStore) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        message_runs(any_store, 424242)


# -- the migration ---------------------------------------------------------------------------


def test_the_migration_creates_the_listing_indexes_schema_declares(any_engine: Engine) -> None:
    declared = {
        index.name: [column.name for column in index.columns]
        for index in messages.indexes
        if index.name is not None and index.name != "ix_messages_misfiled"
    }

    found = {
        index["name"]: list(index["column_names"])
        for index in inspect(any_engine).get_indexes("messages")
    }

    for name in (
        "ix_messages_direction_id",
        "ix_messages_status_id",
        "ix_messages_connection_flow_direction_id",
        "ix_messages_connection_status_id",
        "ix_messages_created_at",
    ):
        assert found[name] == declared[name]
    trigram = {"ix_messages_source_name_trgm", "ix_messages_document_key_trgm"}
    if any_engine.dialect.name == "postgresql":  # the test server ships pg_trgm
        assert trigram <= set(found)
    else:
        assert not trigram & set(found)


def test_text_search_uses_the_trigram_index_on_postgresql(
    store_engine: Engine, store: MessageStore
) -> None:
    for n in range(3):
        _receive(store, f"ORDER-{n}.xml")
    query = select(messages.c.id).where(messages.c.document_key.ilike("%PO-123%", escape="\\"))
    statement = str(query.compile(store_engine, compile_kwargs={"literal_binds": True}))
    with store_engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # three rows: make size not matter
        plan = "\n".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {statement}"))

    assert "ix_messages_document_key_trgm" in plan
