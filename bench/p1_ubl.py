"""P1's UBL and Peppol order paths (issue 11): one order read per file, against bare libraries.

UBL (``ubl.order``), per order: Koppel's read, that is the hardened parse,
the UBL 2.1 Order XSD and the mapping into the canonical
:class:`~koppel.documents.Order` (about 35 mapped fields a line, each a path
through UBL's nesting). The floor does the irreducible part of the same job
with bare lxml: parse with one reused ``XMLParser(resolve_entities=False,
no_network=True)``, validate with the same XSD, and walk the tree with
ElementPath pulling the fields a caller needs (order id, currency, issue
date, both parties' endpoint, identifier and name, each line's id, quantity,
unit, price, amount, name and item ids) into plain dicts.

Peppol (``peppol.order``, BIS 3 transaction T01), per order: the same read
plus the official Peppol T01 Schematron rules, an XSLT 2.0 stylesheet run by
SaxonC-HE on the tree our parser made (see :mod:`koppel.formats.schematron`).
The floor is the UBL floor plus the compiled T01 stylesheet (compiled once,
before timing) run on each document with a bare ``PySaxonProcessor`` and its
SVRL parsed for failed asserts (errors). The Schematron step's share of Koppel's time
is measured apart, in the same repeats: ``peppol_rules("T01").validate_tree``
on trees our parser made, timed alone over the same orders (and, beside it,
the floor's bare Saxon step alone).

The orders are generated: canonical orders of ``lines`` lines each, Peppol
shaped (0088 endpoint ids, 0160 item ids, C62 units, consistent amounts),
written with each format's own ``write``; so the bench also proves that what
Koppel writes, Koppel reads. Each repeat times one Koppel pass and one floor
pass back to back, in process CPU time as :mod:`bench.p1_engine` does; the
medians are reported, in milliseconds per order (in quick mode the Peppol
path measures at most :data:`PEPPOL_QUICK_ORDERS` orders). Without the Peppol rules
folder (``KOPPEL_PEPPOL_RULES_DIR``) or the ``peppol.order`` format, the
Peppol path is reported as skipped with the reason.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree
from saxonche import PySaxonProcessor

from bench.common import REPEATS, full_size
from koppel.documents import Order, has_errors
from koppel.documents.orders import OrderLine
from koppel.documents.parties import Address, Party, PartyIdentifier
from koppel.errors import ConfigError
from koppel.formats import Format, default_registry, load_schema
from koppel.formats.schematron import load_rules, peppol_rules
from koppel.formats.xml import parse_xml

#: Peppol orders measured in quick mode: the rules cost milliseconds a document on both sides.
PEPPOL_QUICK_ORDERS = 100

_NS = {
    "ord": "urn:oasis:names:specification:ubl:schema:xsd:Order-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_SVRL = "{http://purl.oclc.org/dsdl/svrl}"


def canonical_order(number: int, lines: int) -> Order:
    """One Peppol-shaped canonical order of ``lines`` lines, its amounts adding up."""
    order_lines = [
        OrderLine(
            line_id=str(n + 1),
            quantity=Decimal(n % 7 + 1),
            unit="C62",
            unit_price=Decimal("12.40"),
            line_amount=Decimal("12.40") * (n % 7 + 1),
            description=f"Part {n:04d}",
            supplier_article_code=f"BENCH-{n:04d}",
            gtin=f"73000{n:08d}",
            gtin_scheme="0160",
        )
        for n in range(lines)
    ]
    return Order(
        order_id=f"BENCH-PO-{number:06d}",
        issue_date=date(2026, 11, 29),
        currency="EUR",
        buyer=_party("7300010000001", "Kauppa Itä Oy", "Helsinki"),
        seller=_party("7302347231110", "Tukku Länsi Oy", "Turku"),
        lines=order_lines,
        total_amount=sum((line.line_amount or Decimal(0) for line in order_lines), Decimal(0)),
    )


def _party(gln: str, name: str, city: str) -> Party:
    identifier = PartyIdentifier(value=gln, scheme="0088")
    return Party(
        id=gln,
        name=name,
        identifiers=[identifier],
        endpoint_id=identifier,
        address=Address(street="Satamakatu 1", city=city, postal_code="00100", country="FI"),
    )


class BareRead:
    """The floor's read: reused lxml parser, the same XSD, an ElementPath walk into dicts."""

    def __init__(self, fmt: Format) -> None:
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True)
        self.schema = load_schema(fmt.schema_path)

    def run(self, number: int, data: bytes) -> tuple[etree._Element, dict[str, Any]]:
        """The parsed root and the fields of order ``number`` as plain dicts."""
        root = etree.fromstring(data, self.parser)
        assert self.schema.validate(root)
        return root, _fields(root)


def _fields(root: etree._Element) -> dict[str, Any]:
    find = root.findtext
    return {
        "order_id": find("cbc:ID", namespaces=_NS),
        "issue_date": find("cbc:IssueDate", namespaces=_NS),
        "currency": find("cbc:DocumentCurrencyCode", namespaces=_NS),
        "buyer": _party_fields(root.find("cac:BuyerCustomerParty/cac:Party", _NS)),
        "seller": _party_fields(root.find("cac:SellerSupplierParty/cac:Party", _NS)),
        "total": find("cac:AnticipatedMonetaryTotal/cbc:PayableAmount", namespaces=_NS),
        "lines": [_line_fields(item) for item in root.iterfind("cac:OrderLine/cac:LineItem", _NS)],
    }


def _party_fields(party: etree._Element | None) -> dict[str, Any]:
    assert party is not None
    endpoint = party.find("cbc:EndpointID", _NS)
    return {
        "endpoint": (endpoint.text, endpoint.get("schemeID")) if endpoint is not None else None,
        "id": party.findtext("cac:PartyIdentification/cbc:ID", namespaces=_NS),
        "name": party.findtext("cac:PartyName/cbc:Name", namespaces=_NS)
        or party.findtext("cac:PartyLegalEntity/cbc:RegistrationName", namespaces=_NS),
        "city": party.findtext("cac:PostalAddress/cbc:CityName", namespaces=_NS),
        "country": party.findtext(
            "cac:PostalAddress/cac:Country/cbc:IdentificationCode", namespaces=_NS
        ),
    }


def _line_fields(item: etree._Element) -> dict[str, Any]:
    quantity = item.find("cbc:Quantity", _NS)
    assert quantity is not None
    gtin = item.find("cac:Item/cac:StandardItemIdentification/cbc:ID", _NS)
    return {
        "line_id": item.findtext("cbc:ID", namespaces=_NS),
        "quantity": Decimal(quantity.text or "0"),
        "unit": quantity.get("unitCode"),
        "price": Decimal(item.findtext("cac:Price/cbc:PriceAmount", "0", namespaces=_NS)),
        "amount": item.findtext("cbc:LineExtensionAmount", namespaces=_NS),
        "name": item.findtext("cac:Item/cbc:Name", namespaces=_NS),
        "seller_item": item.findtext(
            "cac:Item/cac:SellersItemIdentification/cbc:ID", namespaces=_NS
        ),
        "gtin": (gtin.text, gtin.get("schemeID")) if gtin is not None else None,
    }


class BareSchematron:
    """The floor's Schematron step: the T01 stylesheet compiled once, run with bare saxonche."""

    def __init__(self, stylesheet: Path) -> None:
        self.processor = PySaxonProcessor(license=False)
        compiler = self.processor.new_xslt30_processor()
        self.executable = compiler.compile_stylesheet(stylesheet_file=str(stylesheet))
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def errors(self, data: bytes) -> int:
        """How many asserts of the rules fail on ``data`` as errors (the SVRL parsed with lxml);
        warnings (``flag="warning"``) do not count, as Koppel reads a document with warnings."""
        node = self.processor.parse_xml(xml_text=data.decode("utf-8"))
        svrl = self.executable.transform_to_string(xdm_node=node)
        report = etree.fromstring(svrl.encode("utf-8"), self.parser)
        failed = report.iter(f"{_SVRL}failed-assert")
        return sum(1 for finding in failed if finding.get("flag") != "warning")


def _koppel_read(fmt: Format) -> Callable[[int, bytes], None]:
    def read(number: int, data: bytes) -> None:
        result = fmt.read(data, source=f"{number}.xml")
        assert not has_errors(result.problems), result.problems
        (order,) = result.documents
        assert isinstance(order, Order)

    return read


def _over(files: list[bytes], work: Callable[[int, bytes], object]) -> Callable[[], None]:
    """One pass of ``work`` over every file, numbered."""

    def run() -> None:
        for number, data in enumerate(files):
            work(number, data)

    return run


def _medians(passes: list[Callable[[], object]]) -> list[float]:
    """Median CPU seconds of each pass; every repeat runs all the passes back to back,
    so a busy minute on the shared machine slows all of them alike."""
    times: list[list[float]] = [[] for _ in passes]
    for _ in range(REPEATS):
        for work, spent in zip(passes, times, strict=True):
            start = time.process_time()
            work()
            spent.append(time.process_time() - start)
    return [statistics.median(spent) for spent in times]


def _row(orders: int, lines: int, koppel: float, bare: float) -> dict[str, Any]:
    per_order = 1000 / orders
    return {
        "size": f"{orders} orders x {lines} lines",
        "koppel_ms_per_order": round(koppel * per_order, 4),
        "floor_ms_per_order": round(bare * per_order, 4),
        "ratio": round(koppel / bare, 2),
    }


def measure_ubl(orders: int, lines: int) -> dict[str, Any]:
    """The ``ubl.order`` path: Koppel's read against the bare read, in CPU ms per order."""
    fmt = default_registry().get("ubl.order")
    files = [fmt.write(canonical_order(n, lines), context={}) for n in range(orders)]
    bare = BareRead(fmt)
    koppel_read = _koppel_read(fmt)
    koppel_read(0, files[0])
    koppel, floor = _medians([_over(files, koppel_read), _over(files, bare.run)])
    return _row(orders, lines, koppel, floor)


def measure_peppol(orders: int, lines: int) -> dict[str, Any]:
    """The ``peppol.order`` path, with the T01 rules' share of Koppel's time.

    Skipped (with the reason) when the rules folder or the format is missing.
    """
    registry = default_registry()
    if "peppol.order" not in registry.names():
        return {"skipped": "no peppol.order format (include/mappings/peppol.order.yaml)"}
    try:
        rules = peppol_rules("T01")
    except ConfigError as exc:
        return {"skipped": str(exc)}
    return peppol_path(registry.get("peppol.order"), rules.path, orders, lines)


def peppol_path(fmt: Format, stylesheet: Path, orders: int, lines: int) -> dict[str, Any]:
    """Koppel's read of ``fmt`` (which runs the rules) against bare lxml plus bare saxonche."""
    files = [fmt.write(canonical_order(n, lines), context={}) for n in range(orders)]
    bare = BareRead(fmt)
    schematron = BareSchematron(stylesheet)

    def floor(number: int, data: bytes) -> None:
        bare.run(number, data)
        assert schematron.errors(data) == 0

    koppel_read = _koppel_read(fmt)
    koppel_read(0, files[0])  # compiles the stylesheet in Koppel's processor, outside timing
    floor(0, files[0])
    rules = load_rules(stylesheet)
    trees = [parse_xml(data, source=f"{n}.xml") for n, data in enumerate(files)]

    def koppel_rules() -> None:
        for n, tree in enumerate(trees):
            assert not has_errors(rules.validate_tree(tree, source=f"{n}.xml"))

    def floor_rules() -> None:
        for data in files:
            assert schematron.errors(data) == 0

    koppel, bare_seconds, rules_seconds, saxon_seconds = _medians(
        [_over(files, koppel_read), _over(files, floor), koppel_rules, floor_rules]
    )
    per_order = 1000 / orders
    return {
        **_row(orders, lines, koppel, bare_seconds),
        "schematron_ms_per_order": round(rules_seconds * per_order, 4),
        "schematron_share": round(rules_seconds / koppel, 3),
        "floor_schematron_ms_per_order": round(saxon_seconds * per_order, 4),
    }


def measure(orders: int, lines: int) -> dict[str, Any]:
    """Both paths, keyed as P1's ``extra`` reports them.

    Quick mode measures at most :data:`PEPPOL_QUICK_ORDERS` Peppol orders, as
    the rules cost about ten milliseconds a document on either side.
    """
    peppol_orders = orders if full_size() else min(orders, PEPPOL_QUICK_ORDERS)
    return {
        "ubl_order_path": measure_ubl(orders, lines),
        "peppol_order_path": measure_peppol(peppol_orders, lines),
    }
