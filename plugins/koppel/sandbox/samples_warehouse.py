"""Realistic Monta files for the warehouse's side of seed 000: order updates and stock.

The merchant is the same Dutch fashion label as in :mod:`koppel.sandbox.samples`,
so SKUs and barcodes match the order files: a test can send an order to
Monta and answer it with an update for the same lines. Everything derives
from the arguments, so the same call always gives the same bytes. Each kind
of file has a bad variant with a schema violation, for the tests and the
demo of a rejected file.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from koppel.sandbox.samples import _barcode

ORDER_UPDATE_NAMESPACE = "urn:koppel:monta:status_update:1"
STOCK_NAMESPACE = "urn:koppel:monta:stock:1"

#: Canonical order status -> Monta's code for it.
MONTA_STATUS_CODES = {
    "shipped": "Shipped",
    "partially_shipped": "PartiallyShipped",
    "backordered": "Backorder",
    "cancelled": "Cancelled",
    "deleted": "Deleted",
}
_TRACKING_URLS = {
    "PostNL": "https://jouw.postnl.nl/track-and-trace/{code}-NL-2741PZ",
    "DHL": "https://www.dhl.com/nl-nl/home/tracking.html?tracking-id={code}",
    "DPD": "https://tracking.dpd.de/status/nl_NL/parcel/{code}",
}
_DEFAULT_LINES = (
    ("JL-DRESS-001-BLK-M", 1, 1),
    ("JL-TEE-203-WHT-S", 2, 2),
    ("JL-SCARF-310-CAM-OS", 1, 1),
)


def _element(name: str, value: object, indent: int) -> str:
    return f"{' ' * indent}<{name}>{escape(str(value))}</{name}>\n"


def _update_line(reference: int, sku: str, ordered: int, shipped: int) -> str:
    return "".join(
        (
            f'    <Line reference="{reference}">\n',
            _element("Sku", sku, 6),
            _element("Barcode", _barcode(sku), 6),
            _element("QuantityOrdered", ordered, 6),
            _element("QuantityShipped", shipped, 6),
            "    </Line>\n",
        )
    )


def _shipment(carrier: str, tracking: str, shipped_at: datetime) -> str:
    url = _TRACKING_URLS.get(carrier)
    parts = ["    <Shipment>\n", _element("Carrier", carrier, 6)]
    parts.append(_element("TrackAndTraceCode", tracking, 6))
    if url:
        parts.append(_element("TrackAndTraceUrl", url.format(code=tracking), 6))
    parts += [_element("ShippedAt", shipped_at.isoformat(), 6), "    </Shipment>\n"]
    return "".join(parts)


def order_update(
    order_id: str,
    *,
    status: str = "shipped",
    lines: Sequence[tuple[str, int, int]] = _DEFAULT_LINES,
    carrier: str = "PostNL",
    tracking: str = "3SABCD1234567",
) -> bytes:
    """A Monta order update (OU) for one order.

    Args:
        order_id: The merchant's order number, with ``-1`` for a portal split.
        status: A canonical status (``shipped``, ``partially_shipped``,
            ``backordered``, ``cancelled``, ``deleted``); written as Monta's code.
        lines: ``(sku, ordered, shipped)`` per order line, numbered from 1 as
            in the order import. A deleted order has shipped 0 on every line.
        carrier: The carrier of the parcel, written only when something shipped.
        tracking: Its track and trace code.
    """
    rng = random.Random(order_id)
    reported_at = datetime(2025, 3, 31, 14, 0) + timedelta(minutes=rng.randint(0, 180))
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<OrderUpdate xmlns="{ORDER_UPDATE_NAMESPACE}" version="1">\n',
        _element("WebshopOrderId", order_id, 2),
        _element("Status", MONTA_STATUS_CODES[status], 2),
        _element("ReportedAt", reported_at.isoformat(), 2),
    ]
    if status == "deleted":
        parts.append(_element("Reason", "Verwijderd in Montaportal op verzoek van de klant", 2))
    if lines:
        parts.append("  <ShippedLines>\n")
        parts += [_update_line(n, *line) for n, line in enumerate(lines, start=1)]
        parts.append("  </ShippedLines>\n")
    if any(shipped for _, _, shipped in lines):
        shipped_at = reported_at - timedelta(minutes=rng.randint(5, 55))
        parts += ["  <Shipments>\n", _shipment(carrier, tracking, shipped_at), "  </Shipments>\n"]
    parts.append("</OrderUpdate>\n")
    return "".join(parts).encode("utf-8")


def full_stock(levels: Mapping[str, int], *, warehouse: str = "MONTA-WADDINXVEEN") -> bytes:
    """A Monta full stock update (FSU): the available quantity per SKU, in the given order."""
    products = "".join(
        "".join(
            (
                "    <Product>\n",
                _element("Sku", sku, 6),
                _element("Barcode", _barcode(sku), 6),
                _element("AvailableQuantity", quantity, 6),
                "    </Product>\n",
            )
        )
        for sku, quantity in levels.items()
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<StockUpdate xmlns="{STOCK_NAMESPACE}" version="1">\n'
        f"{_element('Warehouse', warehouse, 2)}"
        f"{_element('GeneratedAt', '2025-03-31T05:00:00', 2)}"
        f"  <Products>\n{products}  </Products>\n"
        "</StockUpdate>\n"
    )
    return text.encode("utf-8")


def bad_order_update() -> bytes:
    """An order update whose second line ships ``twee`` pieces (``xsd.invalid``)."""
    data = order_update("IP-2025-9101")
    needle = b"<QuantityShipped>2</QuantityShipped>"
    return data.replace(needle, b"<QuantityShipped>twee</QuantityShipped>", 1)


def bad_full_stock() -> bytes:
    """A stock update with a negative quantity on its second product (``xsd.invalid``)."""
    return full_stock({"JL-DRESS-001-BLK-M": 14, "JL-TEE-203-WHT-S": -3, "JL-SCARF-310-CAM-OS": 6})
