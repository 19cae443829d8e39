"""The catalogue side of the store on PostgreSQL and on SQLite (the demo's store).

Receiving in chunks, staging, the one-transaction decision and change
detection by content hash, through :class:`koppel.store.catalogue.CatalogueStore`.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from koppel.formats.catalogue_stream import content_hash, record_json
from koppel.store import MessageStore
from koppel.store.catalogue import DECIDED, STAGING, CatalogueStore, Progress, StagedRow

pytestmark = pytest.mark.integration


def _receive(store: MessageStore, name: str, data: bytes) -> tuple[int, bool]:
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    receipt = CatalogueStore(store.engine).receive_stream(
        connection_id="acme", flow="products", source_name=name, chunks=chunks, run_id="r"
    )
    return receipt.message_id, receipt.created


def _rows(names: dict[str, str]) -> list[StagedRow]:
    rows = []
    for seq, (sku, name) in enumerate(names.items()):
        body = record_json({"sku": sku, "name": name})
        rows.append(StagedRow(seq, sku, content_hash(body), body))
    return rows


def _decide(store: MessageStore, message_id: int, names: dict[str, str], *, resend: bool = False):
    catalogue = CatalogueStore(store.engine)
    rows = _rows(names)
    catalogue.stage(message_id, rows[:2], Progress(STAGING, 2, 2, 0, []))
    catalogue.stage(message_id, rows[2:], Progress(STAGING, len(rows), len(rows), 0, []))
    with catalogue.deciding(message_id) as decision:
        changed = decision.merge("acme", "products", resend=resend)
        pages = [[sku for sku, _ in page] for page in decision.changed(2)]
        for number, _ in enumerate(pages):
            decision.add_outbound(
                connection_id="acme",
                flow="products",
                delivery_key=f"target:/out/{message_id}-{number}.xml",
                target_name=f"/out/{message_id}-{number}.xml",
                payload=b"<x/>",
                document_key="k",
                run_id="r",
            )
    return changed, pages


def test_a_file_is_stored_in_chunks_once(any_store: MessageStore) -> None:
    data = b"<Articles>" + b"x" * 100 + b"</Articles>"
    first, created = _receive(any_store, "/in/a.xml", data)
    assert created
    assert _receive(any_store, "/in/a.xml", data) == (first, False)
    other, created = _receive(any_store, "/in/b.xml", data)
    assert created
    assert other != first
    assert b"".join(CatalogueStore(any_store.engine).payload(first)) == data
    message = any_store.get(first)
    assert message.payload == b""
    assert message.size_bytes == len(data)


def test_only_changed_products_are_decided_and_the_stage_goes(any_store: MessageStore) -> None:
    catalogue = CatalogueStore(any_store.engine)
    names = {"A": "a", "B": "b", "C": "c"}
    first, _ = _receive(any_store, "/in/1.xml", b"1")
    assert _decide(any_store, first, names) == (3, [["A", "B"], ["C"]])
    progress = catalogue.progress(first)
    assert progress is not None
    assert progress.phase == DECIDED
    assert len(catalogue.outbound_ids(first)) == 2
    with any_store.engine.connect() as conn:
        tables = conn.execute(text("SELECT * FROM catalogue_products")).all()
    assert len(tables) == 3

    second, _ = _receive(any_store, "/in/2.xml", b"2")
    assert _decide(any_store, second, names) == (0, [])

    third, _ = _receive(any_store, "/in/3.xml", b"3")
    assert _decide(any_store, third, {**names, "B": "b2"}) == (1, [["B"]])

    fourth, _ = _receive(any_store, "/in/4.xml", b"4")
    assert _decide(any_store, fourth, names, resend=True) == (3, [["A", "B"], ["C"]])
    assert catalogue.product_count("acme", "products") == 3
