"""Realistic article, inbound and return files of IT's Perfect and Monta for the demo and tests.

The articles are Jacky Luxury's (seed 000), the same ones the order samples
sell, with the same SKUs and EAN-13 barcodes, so a product import, a
purchase delivery and a return all talk about articles an order can hold.
Everything is derived from the numbers passed in: the same inbound or
return number always gives the same file, and Monta's inbound update for a
number reports exactly the lines IT's Perfect's forecast for that number
announced. Each good file has a cheap bad twin that breaks the XSD the way
partners really do.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import BinaryIO
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from koppel.sandbox import samples
from koppel.sandbox.samples import _barcode as sku_barcode

ITSPERFECT_PRODUCT = "urn:koppel:itsperfect:product:1"
ITSPERFECT_INBOUND_FORECAST = "urn:koppel:itsperfect:inbound_forecast:1"
MONTA_INBOUND_UPDATE = "urn:koppel:monta:inbound_update:1"
MONTA_RETURN = "urn:koppel:monta:return:1"

BRAND = "Jacky Luxury"
#: Central European Summer Time: the warehouse's clock in the sample months.
CEST = timezone(timedelta(hours=2))


@dataclass(frozen=True)
class _Model:
    code: str
    name: str
    description: str
    group: str
    colour_code: str
    colour: str
    sizes: tuple[str, ...]
    season: str
    composition: str
    weight_kg: Decimal
    status: str = "active"


@dataclass(frozen=True)
class _Variant:
    sku: str
    model: _Model
    size: str

    @property
    def ean(self) -> str:
        return sku_barcode(self.sku)


@dataclass(frozen=True)
class _Supplier:
    number: str
    name: str
    country: str


_MODELS = (
    _Model(
        "JL-DRESS-001",
        "Jurk Lotte midi",
        "Midi-jurk met V-hals en strikceintuur, soepel vallend.",
        "Jurken",
        "BLK",
        "Black",
        ("S", "M", "L"),
        "SS25",
        "95% viscose, 5% elastaan",
        Decimal("0.320"),
    ),
    _Model(
        "JL-BLAZER-014",
        "Blazer Noor wol",
        "Getailleerde blazer van wolmix met klepzakken.",
        "Blazers",
        "NAV",
        "Navy",
        ("36", "38", "40"),
        "FW25",
        "70% wol, 30% polyester",
        Decimal("0.850"),
    ),
    _Model(
        "JL-TEE-203",
        "T-shirt Basic organic",
        "Basic T-shirt van biologisch katoen met ronde hals.",
        "Shirts",
        "WHT",
        "White",
        ("XS", "S", "M", "L"),
        "SS25",
        "100% biologisch katoen",
        Decimal("0.180"),
    ),
    _Model(
        "JL-JEANS-077",
        "Jeans Mila high waist",
        "High waist jeans met rechte pijp.",
        "Broeken",
        "IND",
        "Indigo",
        ("26", "28", "30"),
        "FW25",
        "98% katoen, 2% elastaan",
        Decimal("0.650"),
    ),
    _Model(
        "JL-SCARF-310",
        "Sjaal Eva",
        "Zachte geweven sjaal met franjes.",
        "Accessoires",
        "CAM",
        "Camel",
        ("OS",),
        "FW25",
        "100% wol",
        Decimal("0.210"),
        status="discontinued",
    ),
)
_SUPPLIERS = (
    _Supplier("S1040", "Tessuti Milano S.r.l.", "IT"),
    _Supplier("S1077", "Confecções do Porto Lda.", "PT"),
    _Supplier("S1102", "Anadolu Tekstil A.Ş.", "TR"),
)
_PACK_SIZES = (24, 36, 48, 60, 120)
_RETURN_REASONS = ("TOO_SMALL", "TOO_LARGE", "NOT_AS_DESCRIBED", "DEFECT", "OTHER")
_CONDITIONS = ("A", "A", "A", "B", "C")


def _variants() -> list[_Variant]:
    """Every variant, taking each model's sizes in turn so a few variants span all models."""
    widest = max(len(model.sizes) for model in _MODELS)
    return [
        _Variant(
            f"{model.code}-{model.colour_code}-{model.sizes[index]}", model, model.sizes[index]
        )
        for index in range(widest)
        for model in _MODELS
        if index < len(model.sizes)
    ]


def _variant(sku: str) -> _Variant:
    """The variant for a SKU; a SKU outside the catalogue borrows a model's data, stably."""
    for variant in _variants():
        if variant.sku == sku:
            return variant
    model = random.Random(sku).choice(_MODELS)
    size = sku.rsplit("-", 1)[-1] if "-" in sku else model.sizes[0]
    return _Variant(sku, model, size)


def _element(name: str, value: object, indent: int) -> str:
    return f"{' ' * indent}<{name}>{escape(str(value))}</{name}>\n"


def _document(root: str, namespace: str, body: str, attributes: str = "") -> bytes:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{root} xmlns="{namespace}"{attributes}>\n{body}</{root}>\n'
    )
    return text.encode("utf-8")


def _replace_text(data: bytes, tag: bytes, new_text: bytes) -> bytes:
    """``data`` with the text of the first ``<tag>`` element replaced."""
    start = data.index(b"<" + tag + b">") + len(tag) + 2
    end = data.index(b"</" + tag + b">", start)
    return data[:start] + new_text + data[end:]


def _article(variant: _Variant) -> str:
    model = variant.model
    return "".join(
        [
            "  <Article>\n",
            _element("SKU", variant.sku, 4),
            _element("EAN", variant.ean, 4),
            _element("ArticleName", model.name, 4),
            _element("Description", model.description, 4),
            _element("ProductGroup", model.group, 4),
            _element("Brand", BRAND, 4),
            f"    <Colour code={quoteattr(model.colour_code)}>{escape(model.colour)}</Colour>\n",
            _element("Size", variant.size, 4),
            _element("Season", model.season, 4),
            _element("Composition", model.composition, 4),
            _element("NetWeight", model.weight_kg, 4),
            _element("Status", model.status, 4),
            "  </Article>\n",
        ]
    )


def product_export(skus: Sequence[str] | None = None, *, count: int = 5) -> bytes:
    """An IT's Perfect article export (``itsperfect.product``).

    Args:
        skus: The variants to export, e.g. the SKUs of sample orders; by
            default ``count`` variants spread over every model.
        count: How many variants when ``skus`` is not given.
    """
    chosen = [_variant(sku) for sku in skus] if skus is not None else _variants()[:count]
    body = "".join(_article(variant) for variant in chosen)
    return _document("Articles", ITSPERFECT_PRODUCT, body, ' exportedAt="2025-03-31T06:00:00"')


def catalogue_sku(index: int) -> str:
    """The SKU of article ``index`` of a large catalogue: a model's code, a number, a size."""
    model = _MODELS[index % len(_MODELS)]
    size = model.sizes[(index // len(_MODELS)) % len(model.sizes)]
    return f"{model.code}-{index:07d}-{size}"


def write_catalogue(
    out: BinaryIO, count: int, *, changed: Collection[int] = (), block: int = 1_000
) -> int:
    """Write an IT's Perfect article export of ``count`` articles to ``out``, block by block.

    For the catalogue tests and the P3 benchmark: a million articles make a
    file of about 500 MB, so it is written as it is made, never held whole.

    Args:
        out: A binary file open for writing.
        count: How many articles.
        changed: Positions whose article has a new name (a changed product).
        block: Articles per write.

    Returns:
        The bytes written.
    """
    written = out.write(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + f'<Articles xmlns="{ITSPERFECT_PRODUCT}" exportedAt="2025-03-31T06:00:00">\n'.encode()
    )
    for start in range(0, count, block):
        parts = []
        for index in range(start, min(start + block, count)):
            model = _MODELS[index % len(_MODELS)]
            if index in changed:
                model = replace(model, name=f"{model.name} (nieuw)")
            sku = catalogue_sku(index)
            parts.append(_article(_Variant(sku, model, sku.rsplit("-", 1)[1])))
        written += out.write("".join(parts).encode())
    return written + out.write(b"</Articles>\n")


def product_export_bad_ean() -> bytes:
    """An export whose second article lost its EAN's check digit (``xsd.invalid``)."""
    ean = _variants()[1].ean
    return product_export().replace(f"<EAN>{ean}<".encode(), f"<EAN>{ean[:-1]}<".encode())


def _forecast(inbound_id: str, lines: int) -> tuple[_Supplier, date, list[tuple[_Variant, int]]]:
    """Supplier, expected date and (variant, quantity) lines of one purchase delivery."""
    rng = random.Random(inbound_id)
    supplier = rng.choice(_SUPPLIERS)
    expected = date(2025, 4, 1) + timedelta(days=rng.randint(0, 29))
    variants = rng.sample(_variants(), lines)
    return supplier, expected, [(variant, rng.choice(_PACK_SIZES)) for variant in variants]


def inbound_forecast(inbound_id: str, lines: int = 3) -> bytes:
    """An IT's Perfect purchase delivery export (``itsperfect.inbound_forecast``).

    Args:
        inbound_id: The delivery number; it also seeds the data.
        lines: How many articles are expected (at most one per catalogue variant).
    """
    supplier, expected, forecast = _forecast(inbound_id, lines)
    parts = [
        "  <PurchaseDelivery>\n",
        _element("DeliveryNumber", inbound_id, 4),
        "    <Supplier>\n",
        _element("SupplierNumber", supplier.number, 6),
        _element("Name", supplier.name, 6),
        _element("Country", supplier.country, 6),
        "    </Supplier>\n",
        _element("ExpectedDeliveryDate", expected.isoformat(), 4),
        "    <Lines>\n",
    ]
    for variant, quantity in forecast:
        parts += [
            "      <Line>\n",
            _element("SKU", variant.sku, 8),
            _element("EAN", variant.ean, 8),
            _element("QuantityExpected", quantity, 8),
            "      </Line>\n",
        ]
    parts += ["    </Lines>\n", "  </PurchaseDelivery>\n"]
    return _document(
        "PurchaseDeliveries",
        ITSPERFECT_INBOUND_FORECAST,
        "".join(parts),
        ' exportedAt="2025-03-31T06:00:00"',
    )


def inbound_forecast_bad_date() -> bytes:
    """A forecast whose date is written the Dutch way, 14-04-2025 (``xsd.invalid``)."""
    data = inbound_forecast("IP-IN-2025-9001")
    return _replace_text(data, b"ExpectedDeliveryDate", b"14-04-2025")


def inbound_update(inbound_id: str, lines: int = 3) -> bytes:
    """Monta's receipt (``monta.inbound_update``) of the forecast with the same number.

    The lines are the forecast's; one of them came in a few pieces short, as
    real deliveries do.

    Args:
        inbound_id: The delivery number of the forecast being answered.
        lines: As given to :func:`inbound_forecast` for the same number.
    """
    _, expected, forecast = _forecast(inbound_id, lines)
    rng = random.Random(f"{inbound_id}/receipt")
    short_line, shortfall = rng.randrange(lines), rng.randint(1, 6)
    received_at = datetime.combine(expected, time(9, 0), CEST) + timedelta(
        minutes=rng.randint(0, 420)
    )
    parts = [
        _element("Reference", inbound_id, 2),
        _element("ReceivedAt", received_at.isoformat(), 2),
        "  <Lines>\n",
    ]
    for index, (variant, quantity) in enumerate(forecast):
        received = quantity - shortfall if index == short_line else quantity
        parts += [
            "    <Line>\n",
            _element("Sku", variant.sku, 6),
            _element("Barcode", variant.ean, 6),
            _element("AnnouncedQuantity", quantity, 6),
            _element("ReceivedQuantity", received, 6),
            "    </Line>\n",
        ]
    parts.append("  </Lines>\n")
    return _document("MontaInboundUpdate", MONTA_INBOUND_UPDATE, "".join(parts), ' version="1"')


def inbound_update_bad_quantity() -> bytes:
    """A receipt with a negative received quantity, a stock correction (``xsd.invalid``)."""
    data = inbound_update("IP-IN-2025-9002")
    return _replace_text(data, b"ReceivedQuantity", b"-3")


def _order_articles(order_id: str, lines: int) -> list[tuple[str, str]]:
    """(SKU, EAN) of the first ``lines`` lines of the sample order with this number."""
    order = ElementTree.fromstring(samples.good_order(order_id, lines=lines))
    namespace = {"ip": samples.NAMESPACE}
    return [
        (line.findtext("ip:SKU", "", namespace), line.findtext("ip:EAN", "", namespace))
        for line in order.iterfind("ip:Order/ip:Lines/ip:Line", namespace)
    ]


def return_registration(return_id: str, order_id: str, lines: int = 1) -> bytes:
    """A Monta return registration (``monta.return``) for articles of a sample order.

    Args:
        return_id: Monta's return number; it also seeds reasons and grading.
        order_id: The order returned; its lines are those
            :func:`koppel.sandbox.samples.good_order` makes for this number.
        lines: How many of the order's lines come back, one piece each.
    """
    rng = random.Random(return_id)
    registered = datetime.combine(date(2025, 4, 1), time(9, 0), CEST) + timedelta(
        days=rng.randint(0, 13), minutes=rng.randint(0, 480)
    )
    parts = [
        _element("ReturnNumber", return_id, 2),
        _element("WebshopOrderId", order_id, 2),
        _element("RegisteredAt", registered.isoformat(), 2),
        "  <Lines>\n",
    ]
    for sku, ean in _order_articles(order_id, lines):
        parts += [
            "    <Line>\n",
            _element("Sku", sku, 6),
            _element("Barcode", ean, 6),
            _element("Quantity", 1, 6),
            _element("ReturnReason", rng.choice(_RETURN_REASONS), 6),
            _element("Condition", rng.choice(_CONDITIONS), 6),
            "    </Line>\n",
        ]
    parts.append("  </Lines>\n")
    return _document("MontaReturn", MONTA_RETURN, "".join(parts), ' version="1"')


def return_registration_unknown_reason() -> bytes:
    """A return with a reason code Monta's schema does not list (``xsd.invalid``)."""
    data = return_registration("RET-2025-9001", "IP-2025-9004")
    return _replace_text(data, b"ReturnReason", b"CHANGED_MIND")
