"""The compiled catalogue reader and batch writer agree with the mapping engine they replace."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from koppel.errors import ConfigError
from koppel.formats import default_registry
from koppel.formats.catalogue_stream import BatchWriter, CatalogueReader
from koppel.sandbox import samples_catalogue


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _reader() -> CatalogueReader:
    return CatalogueReader(default_registry().get("itsperfect.product"))


def test_records_read_as_the_mapping_engine_reads_them() -> None:
    data = samples_catalogue.product_export(count=15)
    engine = default_registry().get("itsperfect.product").read(data, source="a.xml")
    streamed = list(_reader().records(_chunks(data), source="a.xml"))
    expected = [
        {k: v for k, v in d.model_dump(mode="json").items() if v is not None and k != "unit"}
        for d in engine.documents
    ]
    assert [r.values for r in streamed] == expected


def test_batch_files_read_back_as_the_products_written() -> None:
    registry = default_registry()
    data = samples_catalogue.product_export(count=15)
    records = [r.values for r in _reader().records([data], source="a.xml")]
    payload, problems = BatchWriter(registry.get("monta.products")).write(
        (r for r in records if r is not None), {}
    )
    assert problems == []
    monta = registry.get("monta.products")
    assert monta.validate(payload, source="out.xml") == []
    back = monta.read(payload, source="out.xml").documents
    source = registry.get("itsperfect.product").read(data, source="a.xml").documents
    fields = ("sku", "gtin", "name", "brand", "colour", "size", "composition", "weight_kg")
    assert [[getattr(d, f) for f in fields] for d in back] == [
        [getattr(d, f) for f in fields] for d in source
    ]


def test_a_bad_record_far_down_a_large_file_is_named_with_its_line() -> None:
    out = io.BytesIO()
    samples_catalogue.write_catalogue(out, 6_000)
    data = out.getvalue()
    last_ean = data.rindex(b"<EAN>")
    data = data[:last_ean] + b"<EAN>" + data[last_ean + 6 :]  # 12 digits
    records = list(_reader().records(_chunks(data, 65_536), source="big.xml"))
    bad = [r for r in records if r.values is None]
    assert len(records) == 6_000
    assert len(bad) == 1
    (problem,) = bad[0].problems
    assert problem.line == data.count(b"\n", 0, last_ean) + 1
    assert problem.line > 65_535
    assert problem.field is not None
    assert problem.field.startswith("Article[6000] (sku ")


def test_resuming_skips_the_records_already_staged() -> None:
    data = samples_catalogue.product_export(count=6)
    records = list(_reader().records(_chunks(data), source="a.xml", skip=4))
    assert [r.index for r in records] == [4, 5]


def test_a_mapping_that_cannot_be_streamed_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="cannot"):
        CatalogueReader(default_registry().get("itsperfect.order"))
