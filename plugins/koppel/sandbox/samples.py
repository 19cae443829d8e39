"""Realistic IT's Perfect order files for ``make demo`` and the tests.

The data looks like a Dutch fashion label's (Jacky Luxury from seed 000):
customers in the Netherlands, Belgium and Germany, SKUs such as
``JL-DRESS-001-BLK-M`` and EAN-13 barcodes with a correct check digit, so the
files pass the same checks a real export would. Everything is derived from
the order number, so the same number always gives the same file. Besides the
good files there is one of each kind of bad file the demo shows being caught:
broken XML, a schema violation and a value the mapping does not know.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

NAMESPACE = "urn:koppel:itsperfect:order:1"


@dataclass(frozen=True)
class _Customer:
    number: str
    name: str
    email: str
    phone: str
    company: str | None
    street: str
    house_number: str
    addition: str | None
    postal_code: str
    city: str
    country: str


@dataclass(frozen=True)
class _Article:
    code: str
    description: str
    colour_code: str
    colour: str
    sizes: tuple[str, ...]
    price: Decimal
    season: str


_CONSUMERS = (
    _Customer(
        "C10231",
        "Sanne de Vries",
        "sanne.devries@example.nl",
        "+31612345678",
        None,
        "Keizersgracht",
        "123",
        "A",
        "1015 CJ",
        "Amsterdam",
        "NL",
    ),
    _Customer(
        "C10877",
        "Fleur Jansen",
        "fleur.jansen@example.nl",
        "+31687654321",
        None,
        "Oudegracht",
        "211",
        "bis",
        "3511 NK",
        "Utrecht",
        "NL",
    ),
    _Customer(
        "C11402",
        "Lotte Peeters",
        "lotte.peeters@example.be",
        "+32470123456",
        None,
        "Meir",
        "48",
        None,
        "2000",
        "Antwerpen",
        "BE",
    ),
    _Customer(
        "C11958",
        "Jonas Becker",
        "jonas.becker@example.de",
        "+491701234567",
        None,
        "Schildergasse",
        "67",
        None,
        "50667",
        "Köln",
        "DE",
    ),
)
_RETAILERS = (
    _Customer(
        "W2001",
        "Marieke Bos",
        "inkoop@boutiquemooi.example.nl",
        "+31302345678",
        "Boutique Mooi B.V.",
        "Lange Nieuwstraat",
        "12",
        None,
        "3512 PH",
        "Utrecht",
        "NL",
    ),
    _Customer(
        "W2017",
        "An Claes",
        "orders@modehuisclaes.example.be",
        "+3292234567",
        "Modehuis Claes BV",
        "Veldstraat",
        "5",
        None,
        "9000",
        "Gent",
        "BE",
    ),
)
_ARTICLES = (
    _Article(
        "JL-DRESS-001", "Jurk Lotte midi", "BLK", "Black", ("S", "M", "L"), Decimal("74.34"), "SS25"
    ),
    _Article(
        "JL-BLAZER-014",
        "Blazer Noor wol",
        "NAV",
        "Navy",
        ("36", "38", "40"),
        Decimal("123.14"),
        "FW25",
    ),
    _Article(
        "JL-TEE-203",
        "T-shirt Basic organic",
        "WHT",
        "White",
        ("XS", "S", "M", "L"),
        Decimal("20.62"),
        "SS25",
    ),
    _Article(
        "JL-JEANS-077",
        "Jeans Mila high waist",
        "IND",
        "Indigo",
        ("26", "28", "30"),
        Decimal("65.70"),
        "FW25",
    ),
    _Article("JL-SCARF-310", "Sjaal Eva", "CAM", "Camel", ("OS",), Decimal("28.92"), "FW25"),
)
_SHIPPING = ("PostNL Standaard", "DHL Parcel", "DPD Classic")
_PAYMENT = {"webshop": ("iDEAL", "Bancontact", "Klarna"), "wholesale": ("Op rekening",)}


def ean13(first_twelve: str) -> str:
    """A 13-digit EAN with its check digit computed from the first twelve digits."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError(f"expected twelve digits, got {first_twelve!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


def _element(name: str, value: object, indent: int) -> str:
    return f"{' ' * indent}<{name}>{escape(str(value))}</{name}>\n"


def _address(tag: str, customer: _Customer, indent: int) -> str:
    pad = " " * indent
    inner = indent + 2
    parts = [f"{pad}<{tag}>\n"]
    if customer.company:
        parts.append(_element("CompanyName", customer.company, inner))
    parts.append(_element("Name", customer.name, inner))
    parts.append(_element("Street", customer.street, inner))
    parts.append(_element("HouseNumber", customer.house_number, inner))
    if customer.addition:
        parts.append(_element("HouseNumberAddition", customer.addition, inner))
    parts.append(_element("PostalCode", customer.postal_code, inner))
    parts.append(_element("City", customer.city, inner))
    parts.append(_element("Country", customer.country, inner))
    parts.append(f"{pad}</{tag}>\n")
    return "".join(parts)


def _line(number: int, rng: random.Random, wholesale: bool) -> str:
    article = rng.choice(_ARTICLES)
    size = rng.choice(article.sizes)
    quantity = rng.randint(2, 12) if wholesale else rng.randint(1, 2)
    return _render_line(number, article, size, quantity, wholesale)


def _article_of(sku: str) -> tuple[_Article, str]:
    """The catalogue article and size of a SKU such as ``JL-DRESS-001-BLK-M``."""
    for article in _ARTICLES:
        prefix = f"{article.code}-{article.colour_code}-"
        if sku.startswith(prefix) and sku.removeprefix(prefix) in article.sizes:
            return article, sku.removeprefix(prefix)
    raise ValueError(f"{sku!r} is not in the sample catalogue ({', '.join(catalogue_skus())})")


def catalogue_skus() -> list[str]:
    """Every SKU of the sample catalogue: article, colour and size."""
    return [f"{a.code}-{a.colour_code}-{size}" for a in _ARTICLES for size in a.sizes]


def _render_line(number: int, article: _Article, size: str, quantity: int, wholesale: bool) -> str:
    sku = f"{article.code}-{article.colour_code}-{size}"
    barcode = _barcode(sku)
    parts = [
        "      <Line>\n",
        _element("LineNumber", number, 8),
        _element("SKU", sku, 8),
        _element("EAN", barcode, 8),
        _element("Description", f"{article.description} {article.colour} {size}", 8),
        _element("Colour", article.colour, 8),
        _element("Size", size, 8),
        _element("Season", article.season, 8),
        _element("Quantity", quantity, 8),
        _element("PriceExclVat", article.price, 8),
    ]
    if wholesale:
        parts.append(_element("DiscountPercentage", "10.00", 8))
    parts.append(_element("VatRate", "21.00", 8))
    parts.append("      </Line>\n")
    return "".join(parts)


def _barcode(sku: str) -> str:
    """A stable EAN-13 per SKU under the GS1 Netherlands prefix 871."""
    digits = "".join(f"{ord(ch):03d}" for ch in sku)
    return ean13("871" + str(int(digits) % 10**9).zfill(9))


def _order(order_number: str, channel: str, lines: int | Sequence[tuple[str, int]]) -> str:
    rng = random.Random(order_number)
    wholesale = channel == "wholesale"
    customer = rng.choice(_RETAILERS if wholesale else _CONSUMERS)
    order_date = date(2025, 3, 3) + timedelta(days=rng.randint(0, 27))
    parts = [
        "  <Order>\n",
        _element("OrderNumber", order_number, 4),
        _element("Channel", channel, 4),
        _element("OrderDate", order_date.isoformat(), 4),
        _element("Currency", "EUR", 4),
        "    <Customer>\n",
        _element("CustomerNumber", customer.number, 6),
        _element("Name", customer.company or customer.name, 6),
        _element("Email", customer.email, 6),
        _element("Phone", customer.phone, 6),
        "    </Customer>\n",
        _address("InvoiceAddress", customer, 4),
        _address("DeliveryAddress", customer, 4),
        _element("ShippingMethod", rng.choice(_SHIPPING), 4),
        _element("PaymentMethod", rng.choice(_PAYMENT.get(channel, ("iDEAL",))), 4),
        "    <Lines>\n",
        *_lines(lines, rng, wholesale),
        "    </Lines>\n",
    ]
    if not wholesale:
        parts.append('    <ShippingCosts vatRate="21.00">4.13</ShippingCosts>\n')
    parts.append(_element("Remarks", "Graag bezorgen na 17:00 uur & niet bij de buren", 4))
    parts.append("  </Order>\n")
    return "".join(parts)


def _lines(
    lines: int | Sequence[tuple[str, int]], rng: random.Random, wholesale: bool
) -> list[str]:
    if isinstance(lines, int):
        return [_line(number, rng, wholesale) for number in range(1, lines + 1)]
    return [
        _render_line(number, *_article_of(sku), quantity, wholesale)
        for number, (sku, quantity) in enumerate(lines, start=1)
    ]


def good_orders(order_numbers: Sequence[str], *, channel: str = "webshop", lines: int = 2) -> bytes:
    """One IT's Perfect export file holding an order per number."""
    body = "".join(_order(number, channel, lines) for number in order_numbers)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Orders xmlns="{NAMESPACE}" exportedAt="2025-03-31T06:00:00">\n{body}</Orders>\n'
    )
    return text.encode("utf-8")


def good_order(order_number: str, *, channel: str = "webshop", lines: int = 2) -> bytes:
    """A valid IT's Perfect export file with one order.

    Args:
        order_number: The IT's Perfect order number; it also seeds the data.
        channel: ``webshop`` (B2C) or ``wholesale`` (B2B, with line discounts).
        lines: How many order lines.
    """
    return good_orders([order_number], channel=channel, lines=lines)


def order_with_lines(
    order_number: str, lines: Sequence[tuple[str, int]], *, channel: str = "webshop"
) -> bytes:
    """A valid IT's Perfect order with the given (SKU, quantity) lines, SKUs from the catalogue.

    Tests and the demo use it where stock decides what ships, so they must
    know exactly which articles an order holds.
    """
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Orders xmlns="{NAMESPACE}" exportedAt="2025-03-31T06:00:00">\n'
        f"{_order(order_number, channel, lines)}</Orders>\n"
    )
    return text.encode("utf-8")


def broken_xml() -> bytes:
    """An export cut off mid-transfer: the parser reports ``xml.syntax``."""
    data = good_order("IP-2025-9001")
    return data[: data.index(b"<Quantity>") + len(b"<Quantity>")]


def xsd_violation() -> bytes:
    """Well-formed but invalid: a quantity written as a word (``xsd.invalid``)."""
    data = good_order("IP-2025-9002")
    start = data.index(b"<Quantity>") + len(b"<Quantity>")
    end = data.index(b"</Quantity>", start)
    return data[:start] + b"two" + data[end:]


def unknown_value() -> bytes:
    """Schema-valid, but from a channel the mapping's table does not know (``mapping.lookup``)."""
    return good_order("IP-2025-9003", channel="marketplace")
