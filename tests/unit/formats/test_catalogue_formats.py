"""IT's Perfect <-> Monta products, inbound forecasts, inbound updates and returns.

Each pair goes sample -> canonical -> the other side's wire format (valid
against its XSD, checked by the format and by lxml on the XSD file itself)
-> canonical again, and every bad sample is caught with its line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from koppel.documents import (
    CanonicalModel,
    InboundDelivery,
    Product,
    ReturnLine,
    ReturnRegistration,
)
from koppel.formats import DocumentWriteError, Format, default_registry
from koppel.sandbox import samples, samples_catalogue

DATA = Path(__file__).parents[2] / "data" / "catalogue"
CEST = timezone(timedelta(hours=2))

#: Sample file, the format it is in, and the format the flow delivers it as.
PAIRS = {
    "product": ("itsperfect_products.xml", "itsperfect.product", "monta.product"),
    "inbound_forecast": (
        "itsperfect_inbound_forecast.xml",
        "itsperfect.inbound_forecast",
        "monta.inbound_forecast",
    ),
    "inbound_update": (
        "monta_inbound_update.xml",
        "monta.inbound_update",
        "itsperfect.inbound_update",
    ),
    "return": ("monta_return.xml", "monta.return", "itsperfect.return"),
}


def _format(name: str) -> Format:
    return default_registry().get(name)


def _read(format_name: str, data: bytes) -> list[CanonicalModel]:
    result = _format(format_name).read(data, source="sample.xml")
    assert result.problems == []
    assert result.documents
    return result.documents


def _sample(kind: str) -> list[CanonicalModel]:
    file_name, source, _ = PAIRS[kind]
    return _read(source, (DATA / file_name).read_bytes())


def _deliver(format_name: str, document: CanonicalModel) -> bytes:
    """Write like the pipeline does, then check the XSD twice: via the format and raw lxml."""
    fmt = _format(format_name)
    payload = fmt.write(document, context={})
    assert fmt.validate(payload, source="out.xml") == []
    schema = etree.XMLSchema(etree.parse(str(fmt.schema_path)))
    schema.assertValid(etree.fromstring(payload))
    return payload


def _quantities(delivery: CanonicalModel) -> list[tuple[object, ...]]:
    assert isinstance(delivery, InboundDelivery)
    return [(ln.sku, ln.gtin, ln.quantity_expected, ln.quantity_received) for ln in delivery.lines]


def _line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


def test_the_registry_lists_every_catalogue_format() -> None:
    names = set(default_registry().names())
    for _, source, target in PAIRS.values():
        assert {source, target} <= names
        for name in (source, target):
            fmt = _format(name)
            assert fmt.can_read
            assert fmt.can_write
            assert fmt.schema_path.is_file()


def test_itsperfect_products_read_exactly() -> None:
    products = _sample("product")
    assert all(isinstance(product, Product) for product in products)
    assert products[0] == Product(
        sku="JL-DRESS-001-BLK-S",
        gtin="8710750450834",
        name="Jurk Lotte midi",
        description="Midi-jurk met V-hals en strikceintuur, soepel vallend.",
        category="Jurken",
        brand="Jacky Luxury",
        colour="Black",
        size="S",
        season="SS25",
        composition="95% viscose, 5% elastaan",
        weight_kg=Decimal("0.320"),
        active=True,
    )
    summary = [(p.sku, p.size, p.weight_kg, p.active) for p in products if isinstance(p, Product)]
    assert summary == [
        ("JL-DRESS-001-BLK-S", "S", Decimal("0.320"), True),
        ("JL-BLAZER-014-NAV-36", "36", Decimal("0.850"), True),
        ("JL-TEE-203-WHT-XS", "XS", Decimal("0.180"), True),
        ("JL-JEANS-077-IND-26", "26", Decimal("0.650"), True),
        ("JL-SCARF-310-CAM-OS", "OS", Decimal("0.210"), False),
    ]


def test_products_go_to_monta_one_file_each_and_read_back() -> None:
    for product in _sample("product"):
        payload = _deliver("monta.product", product)
        assert b'<Weight unit="kg">' in payload
        (back,) = _read("monta.product", payload)
        essential = {"sku", "gtin", "name", "brand", "colour", "size", "composition"}
        assert back.model_dump(include=essential) == product.model_dump(include=essential)
        assert isinstance(back, Product)
        assert isinstance(product, Product)
        assert (back.weight_kg, back.active) == (product.weight_kg, product.active)
        # Monta keeps no webshop text, product group or season.
        assert (back.description, back.category, back.season) == (None, None, None)


def test_itsperfect_inbound_forecast_reads_exactly() -> None:
    (delivery,) = _sample("inbound_forecast")
    assert isinstance(delivery, InboundDelivery)
    assert delivery.inbound_id == "IP-IN-2025-0042"
    assert delivery.supplier is not None
    assert (delivery.supplier.id, delivery.supplier.name) == ("S1077", "Confecções do Porto Lda.")
    assert delivery.supplier.address is not None
    assert delivery.supplier.address.country == "PT"
    assert delivery.expected_date == date(2025, 4, 12)
    assert delivery.received_at is None
    assert [
        (ln.sku, ln.gtin, ln.quantity_expected, ln.quantity_received) for ln in delivery.lines
    ] == [
        ("JL-TEE-203-WHT-XS", "8710450880832", Decimal(60), None),
        ("JL-JEANS-077-IND-30", "8710450510487", Decimal(24), None),
        ("JL-JEANS-077-IND-28", "8710450500563", Decimal(60), None),
    ]


def test_inbound_forecast_goes_to_monta_and_reads_back() -> None:
    (delivery,) = _sample("inbound_forecast")
    assert isinstance(delivery, InboundDelivery)
    (back,) = _read("monta.inbound_forecast", _deliver("monta.inbound_forecast", delivery))
    assert isinstance(back, InboundDelivery)
    assert (back.inbound_id, back.expected_date) == (delivery.inbound_id, delivery.expected_date)
    assert back.supplier is not None
    assert delivery.supplier is not None
    assert (back.supplier.id, back.supplier.name) == (delivery.supplier.id, delivery.supplier.name)
    assert back.lines == delivery.lines


def test_a_forecast_without_supplier_is_announced_without_one() -> None:
    (delivery,) = _sample("inbound_forecast")
    payload = _deliver("monta.inbound_forecast", delivery.model_copy(update={"supplier": None}))
    assert b"Supplier" not in payload


def test_monta_inbound_update_reads_exactly() -> None:
    (receipt,) = _sample("inbound_update")
    assert isinstance(receipt, InboundDelivery)
    assert receipt.inbound_id == "IP-IN-2025-0042"
    assert receipt.received_at == datetime(2025, 4, 12, 13, 42, tzinfo=CEST)
    assert [
        (ln.sku, ln.gtin, ln.quantity_expected, ln.quantity_received) for ln in receipt.lines
    ] == [
        ("JL-TEE-203-WHT-XS", "8710450880832", Decimal(60), Decimal(54)),
        ("JL-JEANS-077-IND-30", "8710450510487", Decimal(24), Decimal(24)),
        ("JL-JEANS-077-IND-28", "8710450500563", Decimal(60), Decimal(60)),
    ]


def test_inbound_update_goes_to_itsperfect_and_reads_back() -> None:
    (receipt,) = _sample("inbound_update")
    payload = _deliver("itsperfect.inbound_update", receipt)
    assert b"<ReceiptDateTime>2025-04-12T13:42:00+02:00</ReceiptDateTime>" in payload
    (back,) = _read("itsperfect.inbound_update", payload)
    assert back == receipt


def test_the_inbound_update_answers_the_forecast_of_the_same_number() -> None:
    (forecast,) = _read(
        "itsperfect.inbound_forecast", samples_catalogue.inbound_forecast("IN-7", 4)
    )
    (receipt,) = _read("monta.inbound_update", samples_catalogue.inbound_update("IN-7", 4))
    assert isinstance(forecast, InboundDelivery)
    assert isinstance(receipt, InboundDelivery)
    announced = [(ln.sku, ln.gtin, ln.quantity_expected) for ln in forecast.lines]
    assert [(ln.sku, ln.gtin, ln.quantity_expected) for ln in receipt.lines] == announced
    short = [ln for ln in receipt.lines if ln.quantity_received != ln.quantity_expected]
    assert len(short) == 1
    assert short[0].quantity_expected is not None
    assert short[0].quantity_received is not None
    assert 0 < short[0].quantity_expected - short[0].quantity_received <= 6


def test_monta_return_reads_exactly() -> None:
    (registration,) = _sample("return")
    assert registration == ReturnRegistration(
        return_id="RET-2025-0007",
        order_id="IP-2025-0001",
        registered_at=datetime(2025, 4, 2, 15, 11, tzinfo=CEST),
        lines=[
            ReturnLine(
                sku="JL-SCARF-310-CAM-OS",
                gtin="8710450790834",
                quantity=Decimal(1),
                reason="not_as_expected",
                condition="resellable",
            ),
            ReturnLine(
                sku="JL-BLAZER-014-NAV-38",
                gtin="8710450510562",
                quantity=Decimal(1),
                reason="too_large",
                condition="unsellable",
            ),
        ],
    )


def test_return_goes_to_itsperfect_with_its_codes_and_reads_back() -> None:
    (registration,) = _sample("return")
    payload = _deliver("itsperfect.return", registration)
    assert b"<ReasonCode>03</ReasonCode>" in payload
    assert b"<Restock>write_off</Restock>" in payload
    (back,) = _read("itsperfect.return", payload)
    assert back == registration


def _through(kind: str, format_name: str) -> CanonicalModel:
    """The pair's first sample document as ``format_name`` sees it (the target drops fields)."""
    document = _sample(kind)[0]
    if format_name == PAIRS[kind][1]:
        return document
    (seen,) = _read(format_name, _deliver(format_name, document))
    return seen


@pytest.mark.parametrize(
    ("kind", "format_name"),
    [(kind, name) for kind, (_, source, target) in PAIRS.items() for name in (source, target)],
)
def test_every_format_writes_what_it_reads(kind: str, format_name: str) -> None:
    document = _through(kind, format_name)
    (again,) = _read(format_name, _deliver(format_name, document))
    assert again == document


@pytest.mark.parametrize(
    ("file_name", "format_name", "needle", "field"),
    [
        (
            "itsperfect_products_bad_ean.xml",
            "itsperfect.product",
            b"<EAN>871045051054<",
            "/Articles/Article[2]/EAN",
        ),
        (
            "itsperfect_inbound_forecast_bad_date.xml",
            "itsperfect.inbound_forecast",
            b"<ExpectedDeliveryDate>14-04-2025",
            "/PurchaseDeliveries/PurchaseDelivery/ExpectedDeliveryDate",
        ),
        (
            "monta_inbound_update_bad_quantity.xml",
            "monta.inbound_update",
            b"<ReceivedQuantity>-3",
            "/MontaInboundUpdate/Lines/Line[1]/ReceivedQuantity",
        ),
        (
            "monta_return_unknown_reason.xml",
            "monta.return",
            b"<ReturnReason>CHANGED_MIND",
            "/MontaReturn/Lines/Line/ReturnReason",
        ),
    ],
)
def test_bad_samples_are_schema_problems_with_their_line(
    file_name: str, format_name: str, needle: bytes, field: str
) -> None:
    data = (DATA / file_name).read_bytes()
    result = _format(format_name).read(data, source=file_name)
    assert result.documents == []
    assert [(p.code, p.file, p.line, p.field) for p in result.problems] == [
        ("xsd.invalid", file_name, _line_of(data, needle), field)
    ]


def _drop_order(doc: CanonicalModel) -> CanonicalModel:
    return doc.model_copy(update={"order_id": None})


def _odd_reason(doc: CanonicalModel) -> CanonicalModel:
    assert isinstance(doc, ReturnRegistration)
    line = doc.lines[1].model_copy(update={"reason": "changed_mind"})
    return doc.model_copy(update={"lines": [doc.lines[0], line]})


def _no_barcode(doc: CanonicalModel) -> CanonicalModel:
    return doc.model_copy(update={"gtin": None})


@pytest.mark.parametrize(
    ("kind", "format_name", "change", "expected"),
    [
        ("return", "itsperfect.return", _drop_order, [("mapping.required", "order_id")]),
        ("return", "monta.return", _odd_reason, [("mapping.lookup", "lines[1].reason")]),
        ("return", "itsperfect.return", _odd_reason, [("mapping.lookup", "lines[1].reason")]),
        ("product", "monta.product", _no_barcode, [("mapping.required", "gtin")]),
    ],
)
def test_what_a_format_cannot_express_is_refused_with_the_field(
    kind: str,
    format_name: str,
    change: Callable[[CanonicalModel], CanonicalModel],
    expected: list[tuple[str, str]],
) -> None:
    document = change(_sample(kind)[0])
    with pytest.raises(DocumentWriteError) as caught:
        _format(format_name).write(document, context={})
    assert [(p.code, p.field) for p in caught.value.problems] == expected


def test_product_export_for_given_skus_matches_the_order_samples() -> None:
    order_sku, order_ean = "JL-SCARF-310-CAM-OS", "8710450790834"
    assert f"<EAN>{order_ean}</EAN>".encode() in samples.good_order("IP-2025-0001")
    data = samples_catalogue.product_export([order_sku, "JL-COAT-500-OLV-M"])
    known, made_up = _read("itsperfect.product", data)
    assert isinstance(known, Product)
    assert isinstance(made_up, Product)
    assert (known.sku, known.gtin) == (order_sku, order_ean)
    assert (made_up.sku, made_up.size) == ("JL-COAT-500-OLV-M", "M")
    assert made_up.gtin is not None
    assert samples.ean13(made_up.gtin[:12]) == made_up.gtin


@pytest.mark.parametrize(
    ("file_name", "build"),
    [
        ("itsperfect_products.xml", samples_catalogue.product_export),
        ("itsperfect_products_bad_ean.xml", samples_catalogue.product_export_bad_ean),
        (
            "itsperfect_inbound_forecast.xml",
            lambda: samples_catalogue.inbound_forecast("IP-IN-2025-0042"),
        ),
        ("itsperfect_inbound_forecast_bad_date.xml", samples_catalogue.inbound_forecast_bad_date),
        ("monta_inbound_update.xml", lambda: samples_catalogue.inbound_update("IP-IN-2025-0042")),
        (
            "monta_inbound_update_bad_quantity.xml",
            samples_catalogue.inbound_update_bad_quantity,
        ),
        (
            "monta_return.xml",
            lambda: samples_catalogue.return_registration("RET-2025-0007", "IP-2025-0001", lines=2),
        ),
        ("monta_return_unknown_reason.xml", samples_catalogue.return_registration_unknown_reason),
    ],
)
def test_the_data_files_are_what_the_samples_build(
    file_name: str, build: Callable[[], bytes]
) -> None:
    assert (DATA / file_name).read_bytes() == build()
