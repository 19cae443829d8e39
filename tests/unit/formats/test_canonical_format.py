"""``canonical.order``: what ``koppel parse`` prints reads back; hostile JSON is refused."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from koppel.cli import EXIT_OK, main
from koppel.documents import Order
from koppel.errors import ConfigError
from koppel.formats import CanonicalFormat, FormatRegistry, default_registry

ORDERS = Path(__file__).parents[2] / "data" / "orders"


@pytest.fixture(scope="module")
def canonical() -> CanonicalFormat:
    fmt = default_registry().get("canonical.order")
    assert isinstance(fmt, CanonicalFormat)
    return fmt


def _parsed(sample: str, capsys: pytest.CaptureFixture[str]) -> bytes:
    """What ``koppel parse`` prints for an IT's Perfect sample."""
    assert main(["parse", "--format", "itsperfect.order", str(ORDERS / sample)]) == EXIT_OK
    return capsys.readouterr().out.encode()


def test_the_registry_lists_and_describes_it(canonical: CanonicalFormat) -> None:
    assert "canonical.order" in default_registry().names()
    assert canonical.name == "canonical.order"
    assert canonical.document_class is Order
    assert canonical.can_read
    assert canonical.can_write
    assert not canonical.writes_batches
    assert canonical.syntax == "json"
    assert "koppel parse" in canonical.description


def test_a_registry_of_other_mappings_offers_it_only_when_asked(tmp_path: Path) -> None:
    schemas = default_registry().schemas_dir
    assert FormatRegistry(tmp_path, schemas).names() == []
    assert FormatRegistry(tmp_path, schemas, canonical={"order": Order}).names() == [
        "canonical.order"
    ]


@pytest.mark.parametrize("sample", ["itsperfect_good.xml", "itsperfect_wholesale.xml"])
def test_what_koppel_parse_prints_reads_back_equal(
    sample: str, canonical: CanonicalFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    original = (
        default_registry()
        .get("itsperfect.order")
        .read((ORDERS / sample).read_bytes(), source=sample)
    )
    result = canonical.read(_parsed(sample, capsys), source="parsed.json")
    assert result.problems == []
    assert result.documents == original.documents
    assert result.documents
    for order in result.documents:
        assert isinstance(order, Order)
        assert all(isinstance(line.quantity, Decimal) for line in order.lines)


def test_koppel_parse_reads_its_own_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = _parsed("itsperfect_good.xml", capsys)
    parsed = tmp_path / "order.json"
    parsed.write_bytes(printed)
    assert main(["parse", "--format", "canonical.order", str(parsed)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == json.loads(printed)


def test_one_object_and_what_it_writes_read_back(
    canonical: CanonicalFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    (document,) = json.loads(_parsed("itsperfect_good.xml", capsys))
    (order,) = canonical.read(json.dumps(document).encode(), source="one.json").documents
    assert canonical.validate(canonical.write(order, context={}), source="out.json") == []
    assert canonical.read(canonical.write(order, context={}), source="out.json").documents == [
        order
    ]
    both = canonical.read(canonical.write_many([order, order], context={}), source="two.json")
    assert both.documents == [order, order]
    written = json.loads(canonical.write(order, context={}))
    assert isinstance(written["lines"][0]["quantity"], str)  # decimals never become floats


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'[{"order_id": "A1",', "json.syntax"),
        (b'{"order_id": "A1", "order_id": "A2"}', "json.duplicate_key"),
        (b'{"order_id": "A1", "total_amount": NaN}', "json.syntax"),
        (b"\xff\xfe{}", "json.encoding"),
        (b'"an order"', "canonical.invalid"),
        (b"[42]", "canonical.invalid"),
    ],
)
def test_broken_json_is_refused_with_one_problem(
    body: bytes, code: str, canonical: CanonicalFormat
) -> None:
    result = canonical.read(body, source="bad.json")
    assert result.documents == []
    (problem,) = result.problems
    assert problem.code == code
    assert problem.file == "bad.json"


def test_a_wrong_field_is_named_by_its_json_path(
    canonical: CanonicalFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    (document,) = json.loads(_parsed("itsperfect_good.xml", capsys))
    document["lines"][0]["quantity"] = "a dozen"
    document["colour"] = "red"
    good = dict(document, order_id="B2", lines=[], colour=None)
    del good["colour"]
    result = canonical.read(json.dumps([document, good]).encode(), source="orders.json")
    assert [d.order_id for d in result.documents if isinstance(d, Order)] == ["B2"]
    fields = {p.field: p.code for p in result.problems}
    assert fields == {
        "$[0].lines[0].quantity": "canonical.invalid",
        "$[0].colour": "canonical.invalid",
    }
    assert all(p.file == "orders.json" for p in result.problems)


def test_a_huge_file_is_refused_unread(canonical: CanonicalFormat) -> None:
    body = b'{"order_id": "' + b"x" * 2048 + b'"}'
    result = canonical.read(body, source="huge.json", max_bytes=1024)
    assert result.documents == []
    (problem,) = result.problems
    assert problem.code == "json.too_large"


def test_thousands_of_bad_objects_give_a_capped_list(canonical: CanonicalFormat) -> None:
    body = json.dumps([{"order_id": 1}] * 5000).encode()
    result = canonical.read(body, source="many.json")
    assert result.documents == []
    assert len(result.problems) == 101
    assert result.problems[-1].code == "problems.truncated"


def test_an_unknown_canonical_table_is_an_unknown_format() -> None:
    with pytest.raises(ConfigError, match=r"canonical\.order"):
        default_registry().get("canonical.invoice")
