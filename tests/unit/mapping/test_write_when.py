"""``when:`` and ``sum:`` on write nodes: a node only where a canonical value is present (or is a
given value), and a total over a canonical list."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from koppel.documents import Order, OrderLine, Party, PartyIdentifier
from koppel.errors import MappingError
from koppel.mapping import MappingDefinition, load_mapping, write_document

NS = "urn:test:when"


def _party() -> dict[str, Any]:
    """A buyer block whose tax scheme is a constant: only worth writing with a VAT number."""
    return {
        "element": "Buyer",
        "children": [
            {"element": "Name", "from": "buyer.name"},
            {
                "element": "TaxScheme",
                "when": "buyer.vat_number",
                "children": [
                    {"element": "CompanyID", "from": "buyer.vat_number"},
                    {"element": "Scheme", "value": "VAT"},
                ],
            },
            {
                "element": "Endpoint",
                "when": "buyer.endpoint_id",
                "children": [
                    {"attribute": "scheme", "from": "buyer.endpoint_id.scheme"},
                    {"attribute": "kind", "value": "electronic"},
                ],
            },
        ],
    }


def _lines() -> dict[str, Any]:
    return {
        "element": "Line",
        "each": "lines",
        "children": [
            {"element": "ID", "from": "line_id"},
            {
                "element": "Tax",
                "when": "tax_rate",
                "children": [
                    {"element": "Scheme", "value": "VAT"},
                    {"element": "Percent", "from": "tax_rate", "type": "decimal"},
                ],
            },
            # A document-level condition inside the list: a leading / starts at the order.
            {"element": "Currency", "when": "/total_amount", "value": "yes"},
            {"attribute": "gtin", "when": "gtin", "value": "present"},
        ],
    }


def _xml_mapping(tmp_path: Path, children: list[dict[str, Any]]) -> Path:
    spec = {
        "format": "test.when",
        "document": "Order",
        "schema": "none.xsd",
        "namespaces": {"w": NS},
        "write": {
            "element": "w:Order",
            "children": [{"element": "ID", "from": "order_id"}, *children],
        },
    }
    path = tmp_path / "test.when.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def xml_mapping(tmp_path: Path) -> MappingDefinition:
    lines_block = {"element": "Lines", "when": "lines", "children": [_lines()]}
    return load_mapping(_xml_mapping(tmp_path, [_party(), lines_block]))


def _order(**changes: Any) -> Order:
    base = Order(
        order_id="PO-1",
        buyer=Party(name="Kauppa Oy"),
        lines=[
            OrderLine(line_id="1", quantity=Decimal(2), tax_rate=Decimal("25.5"), gtin="123"),
            OrderLine(line_id="2", quantity=Decimal(1)),
        ],
    )
    return base.model_copy(update=changes)


def _written(definition: MappingDefinition, order: Order) -> etree._Element:
    return etree.fromstring(write_document(definition, order, context={}))


def _texts(root: etree._Element, path: str) -> list[str]:
    return [str(node.text) for node in root.iterfind(path, {"w": NS})]


def test_a_block_is_left_out_without_its_value(xml_mapping: MappingDefinition) -> None:
    root = _written(xml_mapping, _order())

    assert _texts(root, "w:Buyer/w:Name") == ["Kauppa Oy"]
    assert root.find("w:Buyer/w:TaxScheme", {"w": NS}) is None
    assert root.find("w:Buyer/w:Endpoint", {"w": NS}) is None


def test_a_block_is_written_with_its_value(xml_mapping: MappingDefinition) -> None:
    buyer = Party(
        name="Kauppa Oy",
        vat_number="FI12345678",
        endpoint_id=PartyIdentifier(value="7300010000001", scheme="0088"),
    )

    root = _written(xml_mapping, _order(buyer=buyer))

    assert _texts(root, "w:Buyer/w:TaxScheme/w:CompanyID") == ["FI12345678"]
    assert _texts(root, "w:Buyer/w:TaxScheme/w:Scheme") == ["VAT"]
    endpoint = root.find("w:Buyer/w:Endpoint", {"w": NS})
    assert endpoint is not None
    assert dict(endpoint.attrib) == {"scheme": "0088", "kind": "electronic"}


def test_a_condition_inside_a_list_is_judged_per_item(xml_mapping: MappingDefinition) -> None:
    root = _written(xml_mapping, _order())

    lines = root.findall("w:Lines/w:Line", {"w": NS})
    assert [_texts(line, "w:ID") for line in lines] == [["1"], ["2"]]
    assert [_texts(line, "w:Tax/w:Scheme") for line in lines] == [["VAT"], []]
    assert [_texts(line, "w:Tax/w:Percent") for line in lines] == [["25.5"], []]
    assert [line.get("gtin") for line in lines] == ["present", None]


def test_a_slash_path_looks_at_the_document(xml_mapping: MappingDefinition) -> None:
    without = _written(xml_mapping, _order())
    with_total = _written(xml_mapping, _order(total_amount=Decimal("10.00")))

    assert _texts(without, "w:Lines/w:Line/w:Currency") == []
    assert _texts(with_total, "w:Lines/w:Line/w:Currency") == ["yes", "yes"]


def test_an_empty_list_counts_as_missing(xml_mapping: MappingDefinition) -> None:
    root = _written(xml_mapping, _order(lines=[]))

    assert root.find("w:Lines", {"w": NS}) is None
    assert _texts(root, "w:ID") == ["PO-1"]


def test_a_condition_on_a_repeated_node_filters_its_items(tmp_path: Path) -> None:
    line = {"element": "Line", "each": "lines", "when": "tax_rate", "from": "line_id"}
    definition = load_mapping(_xml_mapping(tmp_path, [line]))

    root = _written(definition, _order())

    assert _texts(root, "w:Line") == ["1"]


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        (
            {"element": "Tax", "when": "vat", "value": "VAT"},
            "write/w:Order/Tax.when: unknown canonical field: Order has no field 'vat'",
        ),
        (
            {"element": "Tax", "when": "buyer.vat", "value": "VAT"},
            "write/w:Order/Tax.when: unknown canonical field: Party has no field 'vat'",
        ),
        (
            {"element": "L", "each": "lines", "children": [{"element": "T", "when": "order_id"}]},
            "write/w:Order/L/T.when: unknown canonical field: OrderLine has no field 'order_id'",
        ),
        (
            {"element": "Tax", "when": 3, "value": "VAT"},
            "write/w:Order/Tax.when: expected a canonical path",
        ),
        (
            {"element": "Tax", "when": "/", "value": "VAT"},
            "write/w:Order/Tax.when: expected a canonical path",
        ),
    ],
)
def test_the_loader_checks_the_path(tmp_path: Path, node: dict[str, Any], reason: str) -> None:
    path = _xml_mapping(tmp_path, [node])

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).startswith(f"{path}: {reason}")


def test_the_root_has_no_condition(tmp_path: Path) -> None:
    path = _xml_mapping(tmp_path, [])
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["write"]["when"] = "order_id"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")

    with pytest.raises(MappingError, match=r"write\.when: the root is always written"):
        load_mapping(path)


def test_a_batch_mapping_has_no_condition(tmp_path: Path) -> None:
    spec = {
        "format": "test.stock",
        "document": "StockLevel",
        "schema": "none.xsd",
        "write": {
            "element": "Stock",
            "children": [
                {
                    "element": "Item",
                    "record": True,
                    "children": [{"element": "Qty", "when": "quantity", "from": "quantity"}],
                }
            ],
        },
    }
    path = tmp_path / "test.stock.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")

    with pytest.raises(MappingError, match=r"Item/Qty\.when: a batch mapping .* has no 'when'"):
        load_mapping(path)


def _json_mapping(tmp_path: Path, body: dict[str, Any]) -> Path:
    spec = {
        "format": "test.when_json",
        "document": "Order",
        "schema": "none.json",
        "syntax": "json",
        "write": {"json": body},
    }
    path = tmp_path / "test.when_json.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_json_leaves_a_key_out_without_its_value(tmp_path: Path) -> None:
    body = {
        "id": {"from": "order_id"},
        "vat": {
            "when": "buyer.vat_number",
            "null": True,
            "fields": {"number": {"from": "buyer.vat_number"}, "scheme": {"value": "VAT"}},
        },
        "lines": {
            "each": "lines",
            "fields": {
                "id": {"from": "line_id"},
                "tax": {"when": "tax_rate", "fields": {"scheme": {"value": "VAT"}}},
            },
        },
    }
    definition = load_mapping(_json_mapping(tmp_path, body))

    plain = json.loads(write_document(definition, _order(), context={}))
    with_vat = json.loads(
        write_document(definition, _order(buyer=Party(vat_number="FI1")), context={})
    )

    assert plain == {
        "id": "PO-1",
        "lines": [{"id": "1", "tax": {"scheme": "VAT"}}, {"id": "2"}],
    }
    assert with_vat["vat"] == {"number": "FI1", "scheme": "VAT"}


def test_json_checks_the_path(tmp_path: Path) -> None:
    path = _json_mapping(tmp_path, {"id": {"from": "order_id", "when": "buyer.vat"}})

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).startswith(
        f"{path}: write.json.id.when: unknown canonical field: Party has no field 'vat'"
    )


def test_a_condition_can_ask_for_one_value_or_any_other(tmp_path: Path) -> None:
    # A Peppol tax category: Z (zero rated) for a 0 rate, S (standard) for any other rate.
    line = {
        "element": "Line",
        "each": "lines",
        "children": [
            {"element": "ID", "from": "line_id"},
            {"element": "Category", "when": {"path": "tax_rate", "is": "0"}, "value": "Z"},
            {"element": "Category", "when": {"path": "tax_rate", "is_not": "0"}, "value": "S"},
        ],
    }
    definition = load_mapping(_xml_mapping(tmp_path, [line]))
    order = _order(
        lines=[
            OrderLine(line_id="1", quantity=Decimal(1), tax_rate=Decimal("25.5")),
            OrderLine(line_id="2", quantity=Decimal(1), tax_rate=Decimal("0.00")),
            OrderLine(line_id="3", quantity=Decimal(1)),
        ]
    )

    root = _written(definition, order)

    lines = root.findall("w:Line", {"w": NS})
    assert [_texts(line, "w:Category") for line in lines] == [["S"], ["Z"], []]


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ({"path": "tax_rate"}, "expected {path: <field>, is: <value>} or is_not"),
        ({"path": "tax_rate", "is": "0", "is_not": "1"}, "expected {path: <field>, is: <value>}"),
        ({"path": "tax_rate", "equals": "0"}, "expected {path: <field>, is: <value>}"),
        ({"path": "tax_rate", "is": None}, "compare with a value"),
        ({"path": "tax", "is": "0"}, "unknown canonical field: OrderLine has no field 'tax'"),
    ],
)
def test_the_loader_checks_a_value_condition(
    tmp_path: Path, when: dict[str, Any], reason: str
) -> None:
    line = {"element": "L", "each": "lines", "children": [{"element": "T", "when": when}]}
    path = _xml_mapping(tmp_path, [line])

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).startswith(f"{path}: write/w:Order/L/T.when: {reason}")


# --- sum: a total over a canonical list ----------------------------------------------------


def _totals() -> list[dict[str, Any]]:
    return [
        {
            "element": "Lines",
            "sum": {"each": "lines", "value": "line_amount"},
            "type": "decimal",
            "places": 2,
            "children": [{"attribute": "currency", "from": "/currency"}],
        },
        {
            "element": "Allowances",
            "when": "costs",
            "sum": {"each": "costs", "value": "amount", "where": {"kind": "discount"}},
            "type": "decimal",
            "places": 2,
        },
        {
            "element": "Charges",
            "when": "costs",
            "sum": {"each": "/costs", "value": "amount", "where": {"kind": ["shipping", "fee"]}},
            "type": "decimal",
            "places": 2,
        },
    ]


def test_a_sum_adds_each_value_as_it_is_written(tmp_path: Path) -> None:
    from koppel.documents import CostKind, CostLine

    definition = load_mapping(_xml_mapping(tmp_path, _totals()))
    order = _order(
        lines=[
            OrderLine(line_id="1", quantity=Decimal(1), line_amount=Decimal("10.005")),
            OrderLine(line_id="2", quantity=Decimal(1), line_amount=Decimal("2.50")),
            OrderLine(line_id="3", quantity=Decimal(1)),  # no amount: adds nothing
        ],
        costs=[
            CostLine(kind=CostKind.DISCOUNT, amount=Decimal("1.25")),
            CostLine(kind=CostKind.SHIPPING, amount=Decimal("5")),
            CostLine(kind=CostKind.FEE, amount=Decimal("0.75")),
            CostLine(kind=CostKind.OTHER, amount=Decimal("100")),
        ],
    )

    root = _written(definition, order)

    # 10.005 is written as 10.01 (half up), so the total is 10.01 + 2.50.
    assert _texts(root, "w:Lines") == ["12.51"]
    lines = root.find("w:Lines", {"w": NS})
    assert lines is not None
    assert lines.get("currency") == "EUR"
    assert _texts(root, "w:Allowances") == ["1.25"]
    assert _texts(root, "w:Charges") == ["5.75"]


def test_a_sum_over_an_empty_list_is_zero(tmp_path: Path) -> None:
    definition = load_mapping(_xml_mapping(tmp_path, _totals()))

    root = _written(definition, _order(lines=[]))

    assert _texts(root, "w:Lines") == ["0.00"]
    assert root.find("w:Allowances", {"w": NS}) is None  # when: costs


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        (
            {"element": "T", "sum": {"each": "lines", "value": "line_amount"}},
            "write/w:Order/T.sum: a sum needs 'type: decimal' or 'type: int'",
        ),
        (
            {
                "element": "T",
                "type": "decimal",
                "from": "total_amount",
                "sum": {"each": "lines", "value": "line_amount"},
            },
            "write/w:Order/T.sum: a sum is an element's whole value",
        ),
        (
            {"element": "T", "type": "decimal", "sum": {"each": "lines"}},
            "write/w:Order/T.sum: expected {each: <list>, value: <field>, where: {...}}",
        ),
        (
            {"element": "T", "type": "decimal", "sum": {"each": "lines", "value": "price"}},
            "write/w:Order/T.sum.value: unknown canonical field: OrderLine has no field 'price'",
        ),
        (
            {"element": "T", "type": "decimal", "sum": {"each": "buyer", "value": "name"}},
            "write/w:Order/T.sum.each: 'each' needs a canonical list of objects",
        ),
        (
            {
                "element": "T",
                "type": "decimal",
                "sum": {"each": "costs", "value": "amount", "where": {"sort": "x"}},
            },
            "write/w:Order/T.sum.where.sort: unknown canonical field",
        ),
    ],
)
def test_the_loader_checks_a_sum(tmp_path: Path, node: dict[str, Any], reason: str) -> None:
    path = _xml_mapping(tmp_path, [node])

    with pytest.raises(MappingError) as caught:
        load_mapping(path)

    assert str(caught.value).startswith(f"{path}: {reason}")


def test_json_has_no_sum(tmp_path: Path) -> None:
    body = {"total": {"sum": {"each": "lines", "value": "line_amount"}, "type": "decimal"}}

    with pytest.raises(MappingError, match=r"write\.json\.total: unknown option\(s\) \['sum'\]"):
        load_mapping(_json_mapping(tmp_path, body))
