"""Monta's order updates and stock, and what IT's Perfect gets of them (seed 000: OU, FSU)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel import INCLUDE_DIR
from koppel.documents import (
    OrderStatus,
    Shipment,
    StatusLine,
    StatusUpdate,
    StockLevel,
    StockMode,
)
from koppel.formats import DocumentWriteError, Format, default_registry
from koppel.sandbox import samples_warehouse as samples

DATA = Path(__file__).parents[2] / "data" / "warehouse"
SCHEMAS = INCLUDE_DIR / "schemas"
CONTEXT = {"connection_id": "itsperfect_acme"}


def _format(name: str) -> Format:
    return default_registry().get(name)


def _xsd_errors(data: bytes, schema: str) -> list[str]:
    """Validation straight with lxml against the schema file, independent of the registry."""
    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / schema)))
    xsd.validate(etree.fromstring(data))
    return [entry.message for entry in xsd.error_log]


def _read(name: str, data: bytes) -> list[object]:
    result = _format(name).read(data, source="sample.xml", max_bytes=50 * 2**20)
    assert result.problems == []
    return list(result.documents)


def _update(data: bytes) -> StatusUpdate:
    (update,) = _read("monta.status_update", data)
    assert isinstance(update, StatusUpdate)
    return update


def _line_of(data: bytes, needle: bytes, occurrence: int = 1) -> int:
    index = -1
    for _ in range(occurrence):
        index = data.index(needle, index + 1)
    return data[:index].count(b"\n") + 1


@pytest.mark.parametrize(
    ("name", "document", "batches"),
    [
        ("monta.status_update", StatusUpdate, False),
        ("itsperfect.status_update", StatusUpdate, False),
        ("monta.stock", StockLevel, True),
        ("itsperfect.stock", StockLevel, True),
    ],
)
def test_the_warehouse_formats_are_registered(name: str, document: type, batches: bool) -> None:
    fmt = _format(name)
    assert name in default_registry().names()
    assert fmt.document_class is document
    assert (fmt.can_read, fmt.can_write, fmt.writes_batches) == (True, True, batches)


def test_a_shipped_update_reads_into_an_exact_status_update() -> None:
    update = _update((DATA / "monta_update_shipped.xml").read_bytes())
    assert update.order_id == "IP-2025-0001"
    assert update.status is OrderStatus.SHIPPED
    assert update.reported_at == datetime(2025, 3, 31, 14, 12)
    assert [
        (ln.line_id, ln.sku, ln.gtin, ln.quantity_ordered, ln.quantity_shipped)
        for ln in update.lines
    ] == [
        ("1", "JL-DRESS-001-BLK-M", "8710750450773", Decimal(1), Decimal(1)),
        ("2", "JL-TEE-203-WHT-S", "8710840450836", Decimal(2), Decimal(2)),
        ("3", "JL-SCARF-310-CAM-OS", "8710450790834", Decimal(1), Decimal(1)),
    ]
    assert update.shipments == [
        Shipment(
            carrier="PostNL",
            tracking_code="3SABCD1234567",
            tracking_url="https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-2741PZ",
            shipped_at=datetime(2025, 3, 31, 13, 31),
        )
    ]


def test_a_backorder_split_keeps_its_suffix() -> None:
    update = _update((DATA / "monta_update_split.xml").read_bytes())
    assert update.order_id == "IP-2025-0004-1"


STATUSES = [
    ("shipped", [("JL-DRESS-001-BLK-M", 1, 1)], "SHIPPED", ["1"]),
    ("partially_shipped", [("JL-DRESS-001-BLK-M", 2, 1)], "PARTLY_SHIPPED", ["1"]),
    ("backordered", [("JL-DRESS-001-BLK-M", 2, 0)], "BACKORDER", ["0"]),
    ("cancelled", [], "CANCELLED", []),
    (
        "deleted",
        [("JL-DRESS-001-BLK-M", 1, 0), ("JL-TEE-203-WHT-S", 2, 0)],
        "NOT_SHIPPED",
        ["0", "0"],
    ),
]


@pytest.mark.parametrize(
    ("status", "lines", "wire_status", "shipped"), STATUSES, ids=[s[0] for s in STATUSES]
)
def test_every_monta_status_reaches_itsperfect_valid_and_readable(
    status: str, lines: list[tuple[str, int, int]], wire_status: str, shipped: list[str]
) -> None:
    update = _update(samples.order_update("IP-2025-0100", status=status, lines=lines))
    assert update.status is OrderStatus(status)
    data = _format("itsperfect.status_update").write(update, context=CONTEXT)
    assert _xsd_errors(data, "itsperfect/status_update.xsd") == []
    root = etree.fromstring(data)
    ns = {"ip": "urn:koppel:itsperfect:status_update:1"}
    assert root.findtext("ip:Status", namespaces=ns) == wire_status
    assert root.xpath("ip:Lines/ip:Line/ip:QuantityShipped/text()", namespaces=ns) == shipped
    (back,) = _read("itsperfect.status_update", data)
    assert isinstance(back, StatusUpdate)
    assert (back.order_id, back.status, back.reported_at) == (
        update.order_id,
        update.status,
        update.reported_at,
    )
    assert [(ln.line_id, ln.sku, ln.quantity_shipped) for ln in back.lines] == [
        (ln.line_id, ln.sku, ln.quantity_shipped) for ln in update.lines
    ]
    assert back.shipments == update.shipments


def test_a_deleted_order_comes_back_with_quantity_zero_on_every_line() -> None:
    update = _update((DATA / "monta_update_deleted.xml").read_bytes())
    assert update.status is OrderStatus.DELETED
    assert update.reason == "Verwijderd in Montaportal op verzoek van de klant"
    assert [ln.quantity_shipped for ln in update.lines] == [Decimal(0), Decimal(0)]
    assert update.shipments == []
    data = _format("itsperfect.status_update").write(update, context=CONTEXT)
    assert data.count(b"<QuantityShipped>0</QuantityShipped>") == 2
    assert b"<Reason>Verwijderd in Montaportal" in data


IMPORT_REPLIES = [
    (
        "cancelled: nothing in stock",
        StatusUpdate(
            order_id="IP-2025-0200", status=OrderStatus.CANCELLED, reason="Niet op voorraad"
        ),
        [b"<Status>CANCELLED</Status>", b"<Reason>Niet op voorraad</Reason>"],
        [b"<Lines>", b"<TrackAndTrace>"],
    ),
    (
        "backordered lines removed at import",
        StatusUpdate(
            order_id="IP-2025-0201",
            status=OrderStatus.BACKORDERED,
            lines=[
                StatusLine(
                    line_id="2",
                    sku="JL-BLAZER-014-NAV-38",
                    quantity_shipped=Decimal(0),
                    quantity_backordered=Decimal(2),
                ),
            ],
        ),
        [
            b"<LineNumber>2</LineNumber>",
            b"<QuantityShipped>0</QuantityShipped>",
            b"<QuantityBackorder>2</QuantityBackorder>",
        ],
        [b"<Reason>"],
    ),
]


@pytest.mark.parametrize(
    ("update", "present", "absent"),
    [case[1:] for case in IMPORT_REPLIES],
    ids=[case[0] for case in IMPORT_REPLIES],
)
def test_koppel_replies_to_itsperfect_at_import(
    update: StatusUpdate, present: list[bytes], absent: list[bytes]
) -> None:
    data = _format("itsperfect.status_update").write(update, context=CONTEXT)
    assert _xsd_errors(data, "itsperfect/status_update.xsd") == []
    for needle in present:
        assert needle in data
    for needle in absent:
        assert needle not in data
    (back,) = _read("itsperfect.status_update", data)
    assert back == update


def test_a_line_without_its_number_cannot_be_reported() -> None:
    update = StatusUpdate(
        order_id="IP-2025-0202",
        status=OrderStatus.SHIPPED,
        lines=[StatusLine(sku="JL-DRESS-001-BLK-M", quantity_shipped=Decimal(1))],
    )
    with pytest.raises(DocumentWriteError) as caught:
        _format("itsperfect.status_update").write(update, context=CONTEXT)
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("mapping.required", "lines[0].line_id")
    ]


def test_monta_writes_the_update_it_reads() -> None:
    data = (DATA / "monta_update_partially_shipped.xml").read_bytes()
    update = _update(data)
    written = _format("monta.status_update").write(update, context={})
    assert _xsd_errors(written, "monta/status_update.xsd") == []
    assert _update(written) == update


def _skus(count: int) -> dict[str, int]:
    articles = ("JL-DRESS-001-BLK", "JL-TEE-203-WHT", "JL-JEANS-077-IND", "JL-SCARF-310-CAM")
    return {f"{articles[n % 4]}-{n:04d}": (n * 7) % 23 for n in range(count)}


def test_a_full_stock_of_a_thousand_items_reaches_itsperfect() -> None:
    levels = _skus(1000)
    documents = _read("monta.stock", samples.full_stock(levels))
    assert len(documents) == 1000
    assert all(isinstance(d, StockLevel) for d in documents)
    stock = [d for d in documents if isinstance(d, StockLevel)]
    assert {d.sku: d.quantity for d in stock} == {sku: Decimal(q) for sku, q in levels.items()}
    assert {(d.warehouse, d.as_of, d.mode) for d in stock} == {
        ("MONTA-WADDINXVEEN", datetime(2025, 3, 31, 5), StockMode.FULL)
    }
    data = _format("itsperfect.stock").write_many(stock, context=CONTEXT)
    assert _xsd_errors(data, "itsperfect/stock.xsd") == []
    root = etree.fromstring(data)
    assert root.attrib == {
        "type": "full",
        "countedAt": "2025-03-31T05:00:00",
        "sender": "itsperfect_acme",
    }
    assert len(root) == 1001  # Location and one Article per level
    assert _read("itsperfect.stock", data) == stock
    monta = _format("monta.stock").write_many(stock, context={})
    assert _xsd_errors(monta, "monta/stock.xsd") == []
    assert _read("monta.stock", monta) == stock


def test_a_stock_file_reads_exactly() -> None:
    documents = _read("monta.stock", (DATA / "monta_stock.xml").read_bytes())
    assert [(d.sku, d.gtin, d.quantity) for d in documents if isinstance(d, StockLevel)] == [
        ("JL-DRESS-001-BLK-M", "8710750450773", Decimal(14)),
        ("JL-TEE-203-WHT-S", "8710840450836", Decimal(0)),
        ("JL-SCARF-310-CAM-OS", "8710450790834", Decimal(6)),
    ]


def _stock(
    sku: str, warehouse: str = "MONTA-WADDINXVEEN", mode: StockMode = StockMode.FULL
) -> StockLevel:
    return StockLevel(
        sku=sku, quantity=Decimal(3), warehouse=warehouse, mode=mode, as_of=datetime(2025, 3, 31, 5)
    )


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([_stock("A", mode=StockMode.DELTA)], [("mapping.lookup", "mode")]),
        ([_stock("A"), _stock("B", mode=StockMode.DELTA)], [("mapping.batch", "mode")]),
        ([_stock("A"), _stock("B", warehouse="MONTA-TILBURG")], [("mapping.batch", "warehouse")]),
    ],
    ids=["a delta update", "a delta level in a full update", "two warehouses in one file"],
)
def test_itsperfect_stock_refuses_a_batch_it_cannot_express(
    levels: list[StockLevel], expected: list[tuple[str, str]]
) -> None:
    with pytest.raises(DocumentWriteError) as caught:
        _format("itsperfect.stock").write_many(levels, context=CONTEXT)
    assert [(p.code, p.field) for p in caught.value.problems] == expected


def test_an_empty_full_stock_is_not_written() -> None:
    # It would zero every article in IT's Perfect; it also has no count moment or location.
    with pytest.raises(DocumentWriteError) as caught:
        _format("itsperfect.stock").write_many([], context=CONTEXT)
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("mapping.required", "mode"),
        ("mapping.required", "as_of"),
        ("mapping.required", "warehouse"),
    ]


@pytest.mark.parametrize(
    ("name", "file", "needle", "occurrence", "field"),
    [
        (
            "monta.status_update",
            "monta_update_xsd_violation.xml",
            b"<QuantityShipped>twee",
            1,
            "/OrderUpdate/ShippedLines/Line[2]/QuantityShipped",
        ),
        (
            "monta.stock",
            "monta_stock_xsd_violation.xml",
            b"<AvailableQuantity>-3",
            1,
            "/StockUpdate/Products/Product[2]/AvailableQuantity",
        ),
    ],
)
def test_bad_samples_are_xsd_problems_with_line_and_field(
    name: str, file: str, needle: bytes, occurrence: int, field: str
) -> None:
    data = (DATA / file).read_bytes()
    result = _format(name).read(data, source=file)
    assert result.documents == []
    assert [(p.code, p.file, p.line, p.field) for p in result.problems] == [
        ("xsd.invalid", file, _line_of(data, needle, occurrence), field)
    ]


def test_the_data_files_are_what_the_samples_build() -> None:
    assert (DATA / "monta_update_shipped.xml").read_bytes() == samples.order_update("IP-2025-0001")
    assert (DATA / "monta_update_xsd_violation.xml").read_bytes() == samples.bad_order_update()
    assert (DATA / "monta_stock_xsd_violation.xml").read_bytes() == samples.bad_full_stock()
    assert (DATA / "monta_stock.xml").read_bytes() == samples.full_stock(
        {"JL-DRESS-001-BLK-M": 14, "JL-TEE-203-WHT-S": 0, "JL-SCARF-310-CAM-OS": 6}
    )
    assert (DATA / "monta_update_deleted.xml").read_bytes() == samples.order_update(
        "IP-2025-0003",
        status="deleted",
        lines=[("JL-JEANS-077-IND-28", 1, 0), ("JL-TEE-203-WHT-M", 2, 0)],
    )
