"""IT's Perfect and Monta order formats: the round trip and every kind of bad file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.documents import Channel, CostKind, Order
from koppel.errors import ConfigError, MappingError
from koppel.formats import DocumentWriteError, Format, FormatRegistry, default_registry
from koppel.sandbox import samples

DATA = Path(__file__).parents[2] / "data" / "orders"


@pytest.fixture(scope="module")
def itsperfect() -> Format:
    return default_registry().get("itsperfect.order")


@pytest.fixture(scope="module")
def monta() -> Format:
    return default_registry().get("monta.order")


def _read_one(fmt: Format, data: bytes) -> Order:
    result = fmt.read(data, source="sample.xml")
    assert result.problems == []
    (order,) = result.documents
    assert isinstance(order, Order)
    return order


def _line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


def test_registry_lists_and_describes_the_order_formats(itsperfect: Format) -> None:
    names = default_registry().names()
    assert {"itsperfect.order", "monta.order"} <= set(names)
    assert itsperfect.document_class is Order
    assert itsperfect.can_read
    assert itsperfect.can_write
    assert itsperfect.schema_path.name == "order.xsd"
    assert "IT's Perfect" in itsperfect.description


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown format 'nope'.*itsperfect\.order"):
        default_registry().get("nope")


def test_itsperfect_sample_reads_into_an_exact_canonical_order(itsperfect: Format) -> None:
    data = (DATA / "itsperfect_good.xml").read_bytes()
    order = _read_one(itsperfect, data)
    assert order.order_id == "IP-2025-0001"
    assert order.channel is Channel.B2C
    assert order.issue_date == date(2025, 3, 21)
    assert order.currency == "EUR"
    assert order.buyer is not None
    assert order.buyer.id == "C10231"
    assert order.buyer.contacts[0].email == "sanne.devries@example.nl"
    assert order.delivery is not None
    assert order.delivery.address is not None
    assert order.delivery.address.house_number_addition == "A"
    assert order.delivery.address.country == "NL"
    assert [(ln.line_id, ln.sku, ln.gtin, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("1", "JL-SCARF-310-CAM-OS", "8710450790834", Decimal(2), Decimal("28.92")),
        ("2", "JL-BLAZER-014-NAV-38", "8710450510562", Decimal(2), Decimal("123.14")),
    ]
    assert order.lines[0].tax_rate == Decimal("21.00")
    assert [(c.kind, c.amount, c.tax_rate) for c in order.costs] == [
        (CostKind.SHIPPING, Decimal("4.13"), Decimal("21.00"))
    ]
    assert order.note == "Graag bezorgen na 17:00 uur & niet bij de buren"


def test_a_file_with_several_wholesale_orders_gives_one_order_each(itsperfect: Format) -> None:
    result = itsperfect.read((DATA / "itsperfect_wholesale.xml").read_bytes(), source="w.xml")
    assert result.problems == []
    assert [o.order_id for o in result.documents] == ["IP-2025-0101", "IP-2025-0102"]
    order = result.documents[0]
    assert isinstance(order, Order)
    assert order.channel is Channel.B2B
    assert len(order.lines) == 3
    assert order.lines[0].discounts[0].percentage == Decimal("10.00")
    assert order.costs == []


def test_round_trip_itsperfect_to_monta_and_back(itsperfect: Format, monta: Format) -> None:
    order = _read_one(itsperfect, samples.good_order("IP-2025-0042", lines=3))
    payload = monta.write(order, context={"origin": "jackyluxury-b2c"})
    assert payload.startswith(b"<?xml")
    assert monta.validate(payload, source="out.xml") == []
    assert b"<Origin>jackyluxury-b2c</Origin>" in payload
    back = _read_one(monta, payload)
    assert back.order_id == order.order_id
    assert back.issue_date == order.issue_date
    assert back.shipping_method == order.shipping_method
    assert back.delivery == order.delivery.model_copy(update={"contacts": back.delivery.contacts})
    assert back.invoicee == order.invoicee
    assert back.note == order.note
    essential = [(ln.line_id, ln.sku, ln.gtin, ln.quantity, ln.unit_price) for ln in order.lines]
    assert [(ln.line_id, ln.sku, ln.gtin, ln.quantity, ln.unit_price) for ln in back.lines] == (
        essential
    )


def test_itsperfect_writes_what_it_reads(itsperfect: Format) -> None:
    data = samples.good_order("IP-2025-0077", channel="wholesale", lines=2)
    order = _read_one(itsperfect, data)
    payload = itsperfect.write(order, context={})
    assert itsperfect.validate(payload, source="again.xml") == []
    assert _read_one(itsperfect, payload) == order


def test_a_cost_line_that_is_not_shipping_is_not_written_as_shipping(itsperfect: Format) -> None:
    order = _read_one(itsperfect, samples.good_order("IP-2025-0078"))
    fee = order.costs[0].model_copy(update={"kind": CostKind.FEE, "amount": Decimal("1.50")})
    payload = itsperfect.write(order.model_copy(update={"costs": [fee]}), context={})
    assert b"ShippingCosts" not in payload
    assert itsperfect.validate(payload, source="fee.xml") == []


def test_monta_cannot_write_without_the_origin_from_the_context(
    itsperfect: Format, monta: Format
) -> None:
    order = _read_one(itsperfect, samples.good_order("IP-2025-0043"))
    with pytest.raises(DocumentWriteError) as caught:
        monta.write(order, context={})
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("mapping.context", "context.origin")
    ]


def test_monta_refuses_an_unknown_shipping_method(itsperfect: Format, monta: Format) -> None:
    order = _read_one(itsperfect, samples.good_order("IP-2025-0044"))
    odd = order.model_copy(update={"shipping_method": "Koerier per fiets"})
    with pytest.raises(DocumentWriteError) as caught:
        monta.write(odd, context={"origin": "x"})
    (problem,) = caught.value.problems
    assert (problem.code, problem.field) == ("mapping.lookup", "shipping_method")
    assert "Koerier per fiets" in problem.message


def test_broken_xml_sample_is_a_syntax_problem_with_line(itsperfect: Format) -> None:
    data = (DATA / "itsperfect_broken_xml.xml").read_bytes()
    result = itsperfect.read(data, source="broken.xml")
    assert result.documents == []
    (problem,) = result.problems
    assert problem.code == "xml.syntax"
    assert problem.file == "broken.xml"
    assert problem.line == data.count(b"\n") + 1


def test_xsd_violation_sample_names_the_quantity_and_its_line(itsperfect: Format) -> None:
    data = (DATA / "itsperfect_xsd_violation.xml").read_bytes()
    result = itsperfect.read(data, source="invalid.xml")
    assert result.documents == []
    (problem,) = result.problems
    assert problem.code == "xsd.invalid"
    assert problem.line == _line_of(data, b"<Quantity>two")
    assert problem.field == "/Orders/Order/Lines/Line[1]/Quantity"


def test_unknown_channel_sample_is_a_lookup_problem_on_the_channel(itsperfect: Format) -> None:
    data = (DATA / "itsperfect_unknown_channel.xml").read_bytes()
    result = itsperfect.read(data, source="unknown.xml")
    assert result.documents == []
    (problem,) = result.problems
    assert (problem.code, problem.field) == ("mapping.lookup", "channel")
    assert problem.line == _line_of(data, b"<Channel>marketplace")
    assert "marketplace" in problem.message


def test_one_bad_order_does_not_take_its_neighbours_down(itsperfect: Format) -> None:
    good = samples.good_orders(["IP-1", "IP-2"])
    data = good.replace(b"<Channel>webshop", b"<Channel>retail", 1)
    result = itsperfect.read(data, source="mixed.xml")
    assert [o.order_id for o in result.documents] == ["IP-2"]
    assert [p.code for p in result.problems] == ["mapping.lookup"]


def test_the_data_files_are_what_the_samples_build() -> None:
    assert (DATA / "itsperfect_good.xml").read_bytes() == samples.good_order("IP-2025-0001")
    assert (DATA / "itsperfect_broken_xml.xml").read_bytes() == samples.broken_xml()
    assert (DATA / "itsperfect_xsd_violation.xml").read_bytes() == samples.xsd_violation()
    assert (DATA / "itsperfect_unknown_channel.xml").read_bytes() == samples.unknown_value()


def test_sample_barcodes_have_a_valid_check_digit() -> None:
    assert samples.ean13("871045079083") == "8710450790834"
    assert samples.ean13("400638133393") == "4006381333931"  # a well-known published EAN
    with pytest.raises(ValueError, match="twelve digits"):
        samples.ean13("123")


def test_a_mapping_file_must_carry_its_own_name(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    source = default_registry().mappings_dir / "monta.order.yaml"
    (mappings / "monta.copy.yaml").write_text(source.read_text(encoding="utf-8"))
    registry = FormatRegistry(mappings, default_registry().schemas_dir)
    assert registry.names() == ["monta.copy"]
    with pytest.raises(MappingError, match=r"monta\.copy\.yaml: format"):
        registry.get("monta.copy")
