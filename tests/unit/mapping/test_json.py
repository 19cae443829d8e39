"""JSON in the mapping engine: paths, reading, writing, load-time checks, parsing and schemas."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from koppel.documents import Order, OrderLine, Party, StockLevel
from koppel.errors import MappingError
from koppel.formats import (
    FormatRegistry,
    JsonDocumentError,
    load_json_schema,
    parse_json,
    validate_json,
)
from koppel.mapping import (
    DocumentWriteError,
    MappingDefinition,
    load_mapping,
    read_json_documents,
    write_document,
)
from koppel.mapping.jsonpath import JsonPath, JsonPathError

ORDER_MAPPING: dict[str, Any] = {
    "format": "test.orders",
    "document": "Order",
    "syntax": "json",
    "schema": "test/orders.schema.json",
    "read": {
        "record": "$.data.orders",
        "fields": {
            "order_id": {"path": "ref", "required": True},
            "channel": {"path": "channel", "lookup": "channels"},
            "issue_date": {"path": "created", "type": "date"},
            "issue_time": {"path": "created", "type": "datetime"},
            "currency": {"path": "money.currency", "default": "EUR"},
            "note": {"value": "from the portal"},
            "buyer.erp_reference": {"path": "customer.refs[1]"},
            "lines": {
                "each": "lines",
                "fields": {
                    "line_id": {"path": "n", "required": True},
                    "quantity": {"path": "qty", "type": "decimal", "required": True},
                    "unit_price": {"path": "price", "type": "decimal"},
                    "unit": {"path": "unit", "default": "PCE"},
                    "discounts": {
                        "each": "discounts",
                        "fields": {"percentage": {"path": "$", "type": "decimal"}},
                    },
                },
            },
        },
    },
    "write": {
        "json": {
            "ref": {"from": "order_id", "required": True},
            "channel": {"from": "channel", "lookup": "channels"},
            "created": {"from": "issue_date", "type": "date"},
            "origin": {"context": "origin"},
            "remarks": {"from": "note", "null": True},
            "customer": {
                "fields": {
                    "name": {"from": "buyer.name"},
                    "erp": {"from": "buyer.erp_reference"},
                }
            },
            "lines": {
                "each": "lines",
                "required": True,
                "fields": {
                    "n": {"from": "line_id", "type": "int"},
                    "qty": {"from": "quantity", "type": "decimal"},
                    "price": {"from": "unit_price", "type": "decimal", "places": 2},
                },
            },
            "skus": {"each": "lines", "from": "sku"},
            "version": {"value": 2, "type": "int"},
        }
    },
    "lookups": {"channels": {"web": "B2C", "trade": "B2B"}},
}


def _mapping(tmp_path: Path, spec: dict[str, Any], name: str = "test.orders") -> MappingDefinition:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return load_mapping(path)


@pytest.fixture
def orders(tmp_path: Path) -> MappingDefinition:
    return _mapping(tmp_path, ORDER_MAPPING)


def _body(*records: dict[str, Any]) -> object:
    text = json.dumps({"data": {"orders": list(records)}})
    return parse_json(text.encode(), source="body.json")


GOOD = {
    "ref": "P-1",
    "channel": "trade",
    "created": "2025-03-14T23:30:00+01:00",
    "money": {"currency": "USD"},
    "customer": {"refs": ["x", " C10023 "]},
    "lines": [
        {"n": 1, "qty": 0.1, "price": "19.999", "discounts": [10, 2.5]},
        {"n": "2", "qty": "3", "unit": ""},
    ],
}


# --- paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("$", ()),
        ("orders", ("orders",)),
        ("$.orders", ("orders",)),
        ("customer.refs[1]", ("customer", "refs", 1)),
        ("a[0][2].b", ("a", 0, 2, "b")),
    ],
)
def test_paths_compile_to_keys_and_indexes(text: str, steps: tuple[str | int, ...]) -> None:
    assert JsonPath.parse(text).steps == steps


@pytest.mark.parametrize("text", ["", "a..b", "a[*]", "a[x]", "$.", "[0]", "a b"])
def test_paths_outside_the_grammar_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a key"):
        JsonPath.parse(text)


def test_resolving_tells_absent_from_wrong_shape() -> None:
    body = {"a": {"b": [1, {"c": None}]}}
    assert JsonPath.parse("a.b[1].c").resolve(body, "") == (None, "a.b[1].c")
    assert JsonPath.parse("a.x.y").resolve(body, "r") == (None, "r.a.x.y")
    assert JsonPath.parse("a.b[5]").resolve(body, "") == (None, "a.b[5]")
    with pytest.raises(JsonPathError, match="expected an object, got array") as caught:
        JsonPath.parse("a.b.c").resolve(body, "")
    assert caught.value.where == "a.b"


# --- reading -----------------------------------------------------------------------------


def test_reading_converts_types_exactly(orders: MappingDefinition) -> None:
    documents, problems = read_json_documents(orders, _body(GOOD), source="body.json")
    assert problems == []
    assert documents == [
        Order(
            order_id="P-1",
            channel="B2B",
            issue_date=date(2025, 3, 14),
            issue_time=datetime.fromisoformat("2025-03-14T23:30:00+01:00"),
            currency="USD",
            note="from the portal",
            buyer=Party(erp_reference="C10023"),
            lines=[
                OrderLine(
                    line_id="1",
                    quantity=Decimal("0.1"),
                    unit_price=Decimal("19.999"),
                    discounts=[{"percentage": Decimal(10)}, {"percentage": Decimal("2.5")}],
                ),
                OrderLine(line_id="2", quantity=Decimal(3)),
            ],
        )
    ]
    # A JSON number is never a float on its way in: 0.1 stays exactly 0.1.
    assert str(documents[0].lines[0].quantity) == "0.1"  # type: ignore[attr-defined]


def test_a_missing_optional_value_takes_its_default(orders: MappingDefinition) -> None:
    record = {"ref": "P-2", "lines": [{"n": 1, "qty": 1}]}
    (order,), problems = read_json_documents(orders, _body(record), source="b")
    assert problems == []
    assert isinstance(order, Order)
    assert (order.currency, order.channel, order.buyer, order.lines[0].unit) == (
        "EUR",
        None,
        None,
        "PCE",
    )


def test_every_bad_value_is_reported_at_its_json_path(orders: MappingDefinition) -> None:
    bad = {
        "ref": "P-3",
        "channel": "shop",
        "created": "14-03-2025",
        "money": {"currency": "euro"},
        "customer": {"refs": "C1"},
        "lines": [{"n": 1, "qty": "two"}, {"qty": 1}, {"n": 3, "qty": {"v": 1}}],
    }
    documents, problems = read_json_documents(orders, _body(GOOD, bad), source="body.json")
    assert [document.order_id for document in documents] == ["P-1"]  # type: ignore[attr-defined]
    assert {(p.code, p.field) for p in problems} == {
        ("mapping.lookup", "data.orders[1].channel"),
        ("mapping.value", "data.orders[1].created"),
        ("mapping.value", "data.orders[1].customer.refs"),
        ("mapping.value", "data.orders[1].lines[0].qty"),
        ("mapping.required", "data.orders[1].lines[1].n"),
        ("mapping.value", "data.orders[1].lines[2].qty"),
        ("mapping.invalid", "data.orders[1].money.currency"),
    }
    assert {(p.file, p.line) for p in problems} == {("body.json", None)}


def test_a_pydantic_error_without_a_json_value_names_the_canonical_field(
    tmp_path: Path,
) -> None:
    spec = {
        "format": "test.stock",
        "document": "StockLevel",
        "syntax": "json",
        "schema": "s.json",
        "read": {
            "record": "items",
            "fields": {"sku": {"path": "sku"}, "quantity": {"path": "q", "type": "decimal"}},
        },
    }
    definition = _mapping(tmp_path, spec, "test.stock")
    body = parse_json(b'{"items": [{"sku": "A", "q": 1}, {"q": 2}]}', source="s")
    documents, problems = read_json_documents(definition, body, source="s")
    assert documents == [StockLevel(sku="A", quantity=Decimal(1))]
    assert [(p.code, p.field, p.message) for p in problems] == [
        ("mapping.invalid", "items[1]", "sku: Field required")
    ]


@pytest.mark.parametrize(
    ("body", "expected_orders", "expected_problems"),
    [
        ({"data": {"orders": {"ref": "ONE", "lines": []}}}, ["ONE"], []),
        ({"data": {}}, [], []),
        ({"data": {"orders": "none"}}, [], [("mapping.record", "data.orders")]),
        ({"data": ["x"]}, [], [("mapping.record", "data")]),
        ({"data": {"orders": [7]}}, [], [("mapping.record", "data.orders[0]")]),
    ],
)
def test_the_record_path_names_an_array_an_object_or_nothing(
    orders: MappingDefinition,
    body: dict[str, Any],
    expected_orders: list[str],
    expected_problems: list[tuple[str, str]],
) -> None:
    documents, problems = read_json_documents(orders, body, source="b")
    assert [d.order_id for d in documents] == expected_orders  # type: ignore[attr-defined]
    assert [(p.code, p.field) for p in problems] == expected_problems
    assert {p.file for p in problems} <= {"b"}


# --- writing -----------------------------------------------------------------------------


def _order(**changes: Any) -> Order:
    base = Order(
        order_id="P-9",
        channel="B2C",
        issue_date=date(2025, 3, 14),
        buyer=Party(name="Zoë", erp_reference=None),
        lines=[
            OrderLine(line_id="1", sku="A", quantity=Decimal("2.50"), unit_price=Decimal("0.005")),
            OrderLine(line_id="2", quantity=Decimal(1)),
        ],
    )
    return base.model_copy(update=changes)


def test_writing_follows_the_template(orders: MappingDefinition) -> None:
    payload = write_document(orders, _order(), context={"origin": "portal"})
    assert payload.endswith(b"}\n")
    assert "Zoë".encode() in payload  # UTF-8, not \u escapes
    body = json.loads(payload)
    assert list(body) == [
        "ref",
        "channel",
        "created",
        "origin",
        "remarks",
        "customer",
        "lines",
        "skus",
        "version",
    ]
    assert body == {
        "ref": "P-9",
        "channel": "web",
        "created": "2025-03-14",
        "origin": "portal",
        "remarks": None,
        "customer": {"name": "Zoë"},
        "lines": [
            {"n": 1, "qty": "2.50", "price": "0.01"},
            {"n": 2, "qty": "1"},
        ],
        "skus": ["A"],
        "version": 2,
    }


def test_empty_objects_and_arrays_are_left_out_unless_required(
    orders: MappingDefinition,
) -> None:
    payload = write_document(orders, _order(buyer=None, lines=[]), context={})
    body = json.loads(payload)
    assert "customer" not in body
    assert "skus" not in body
    assert "origin" not in body
    assert body["lines"] == []


def test_the_same_document_gives_the_same_bytes(orders: MappingDefinition) -> None:
    first = write_document(orders, _order(), context={"origin": "x"})
    assert write_document(orders, _order(), context={"origin": "x"}) == first


def test_what_cannot_be_written_is_reported_together(orders: MappingDefinition) -> None:
    lines = [OrderLine(line_id="1.5", quantity=Decimal(1))]
    with pytest.raises(DocumentWriteError) as caught:
        write_document(orders, _order(order_id="", channel="B2B", lines=lines), context={})
    codes = {(p.code, p.field) for p in caught.value.problems}
    assert codes == {("mapping.value", "lines[0].line_id")}
    with pytest.raises(DocumentWriteError) as caught:
        write_document(orders, Order.model_construct(order_id=None, lines=[]), context={})
    assert [(p.code, p.field) for p in caught.value.problems] == [("mapping.required", "order_id")]


# --- load-time checks --------------------------------------------------------------------


def _with(path: str, value: object) -> dict[str, Any]:
    spec = json.loads(json.dumps(ORDER_MAPPING))
    *parents, last = path.split("/")
    node = spec
    for part in parents:
        node = node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return spec


LOAD_CASES: list[tuple[dict[str, Any], str]] = [
    (_with("syntax", "yaml"), "syntax: expected 'xml' or 'json'"),
    (_with("namespaces", {"a": "urn:a"}), "namespaces: only an XML mapping"),
    (_with("validate", "/a"), "validate: only an XML mapping"),
    (_with("read/record", "orders[*]"), "read.record: invalid JSON path 'orders[*]'"),
    (_with("read/fields/order_id", {"path": "a..b"}), "read.fields.order_id.path: invalid"),
    (_with("read/fields/order_id", {"path": "a", "xpath": "b"}), "order_id: unknown option"),
    (_with("read/fields/lines/each", None), "read.fields.lines: unknown option(s) ['fields']"),
    (_with("read/fields/order_id", None), "read.fields: required field(s) of Order not mapped"),
    (_with("read/fields/ordr", {"path": "x"}), "read.fields.ordr: unknown canonical field"),
    (_with("write/json/ref", {"from": "ref"}), "write.json.ref.from: unknown canonical field"),
    (
        _with("write/json/ref", {"from": "order_id", "fields": {}}),
        "write.json.ref: give exactly one of",
    ),
    (_with("write/json/ref", {"from": "order_id", "null": "yes"}), "ref.null: expected true"),
    (_with("write/json/ref", {"each": "buyer", "from": "x"}), "ref.each: 'each' needs a canonical"),
    (_with("write/json/skus/where", {"colour": "x"}), "skus.where.colour: unknown canonical"),
    (_with("write/json/version", {"value": "two", "type": "int"}), "version.value: 'two' is not"),
    (_with("write/json/customer", {"fields": {}}), "customer.fields: an object needs"),
    (_with("write", {"element": "Order"}), "write: a JSON mapping writes 'json:"),
    (_with("write/json/ref", {"from": "order_id", "lookup": "nope"}), "ref.lookup: no lookup"),
]


@pytest.mark.parametrize(("spec", "message"), LOAD_CASES, ids=[m for _, m in LOAD_CASES])
def test_a_broken_json_mapping_fails_at_load_time(
    tmp_path: Path, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(MappingError, match=r"test\.orders\.yaml: ") as caught:
        _mapping(tmp_path, spec)
    assert message in str(caught.value)


# --- parsing -----------------------------------------------------------------------------


def test_parsing_keeps_numbers_exact() -> None:
    body = parse_json(b'{"a": 0.1, "b": 10, "c": 1e2, "d": [true, null]}', source="x")
    assert body == {"a": Decimal("0.1"), "b": 10, "c": Decimal(100), "d": [True, None]}
    assert isinstance(body, dict)
    assert type(body["a"]) is Decimal


@pytest.mark.parametrize(
    ("data", "code", "line"),
    [
        (b'{\n  "a": 1,\n  "b": }', "json.syntax", 3),
        (b"", "json.syntax", 1),
        (b'{"a": 1, "a": 2}', "json.duplicate_key", None),
        (b'{"a": NaN}', "json.syntax", None),
        (b'{"a": Infinity}', "json.syntax", None),
        (b'{\n"a": "\xff"}', "json.encoding", 2),
        (b"[" * 100_000 + b"]" * 100_000, "json.syntax", None),
        (b'{"pad": "' + b"x" * 200 + b'"}', "json.too_large", None),
    ],
)
def test_parsing_refuses_bad_bodies_with_one_problem(
    data: bytes, code: str, line: int | None
) -> None:
    limit = 150 if code == "json.too_large" else 1_000_000
    with pytest.raises(JsonDocumentError) as caught:
        parse_json(data, source="in.json", max_bytes=limit)
    problem = caught.value.problem
    assert (problem.code, problem.line, problem.file) == (code, line, "in.json")


def test_a_utf8_bom_is_tolerated() -> None:
    assert parse_json(b'\xef\xbb\xbf{"a": "\xc3\xab"}', source="x") == {"a": "ë"}


# --- schema validation -------------------------------------------------------------------


def _schemas(folder: Path) -> Path:
    folder.mkdir(parents=True)
    item = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.test/schemas/item.schema.json",
        "type": "object",
        "required": ["sku", "qty"],
        "properties": {
            "sku": {"type": "string", "minLength": 1},
            "qty": {"type": "string", "pattern": r"^\d+(\.\d+)?$"},
            "due": {"type": "string", "format": "date"},
        },
    }
    page = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.test/schemas/page.schema.json",
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "item.schema.json"}}},
    }
    (folder / "item.schema.json").write_text(json.dumps(item), encoding="utf-8")
    (folder / "page.schema.json").write_text(json.dumps(page), encoding="utf-8")
    return folder / "page.schema.json"


def test_schema_problems_carry_the_json_path(tmp_path: Path) -> None:
    validator = load_json_schema(_schemas(tmp_path / "s"))
    body = parse_json(
        b'{"items": [{"sku": "A", "qty": "1"}, {"sku": "", "qty": 2.5, "due": "2025-13-01"}]}',
        source="p",
    )
    problems = validate_json(body, validator, source="p.json")
    assert sorted((p.code, p.field) for p in problems) == [
        ("schema.invalid", "items[1].due"),
        ("schema.invalid", "items[1].qty"),
        ("schema.invalid", "items[1].sku"),
    ]
    assert {p.file for p in problems} == {"p.json"}
    assert validate_json({"items": [{"sku": "A", "qty": "1.5"}]}, validator, source="p") == []


def test_a_json_format_reads_and_validates_through_the_registry(tmp_path: Path) -> None:
    _schemas(tmp_path / "schemas" / "test")
    (tmp_path / "mappings").mkdir()
    spec = {
        "format": "test.items",
        "document": "StockLevel",
        "syntax": "json",
        "schema": "test/page.schema.json",
        "read": {
            "record": "items",
            "fields": {
                "sku": {"path": "sku", "required": True},
                "quantity": {"path": "qty", "type": "decimal", "required": True},
            },
        },
    }
    (tmp_path / "mappings" / "test.items.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    fmt = FormatRegistry(tmp_path / "mappings", tmp_path / "schemas").get("test.items")
    assert (fmt.syntax, fmt.can_read, fmt.can_write) == ("json", True, False)
    result = fmt.read(b'{"items": [{"sku": "A", "qty": "1.50"}]}', source="i")
    assert result.problems == []
    assert result.documents == [StockLevel(sku="A", quantity=Decimal("1.50"))]
    invalid = fmt.read(b'{"items": [{"sku": "A"}]}', source="i")
    assert [(p.code, p.field) for p in invalid.problems] == [("schema.invalid", "items[0]")]
    assert fmt.read(b'{"items": [', source="i").problems[0].code == "json.syntax"
    assert fmt.validate(b'{"items": []}', source="i") == []
