"""The demo's morning at the warehouse: which files arrive for which flow, and what comes of them.

Acme Fashion (B2C and B2B, backorder handling on) and Bella Moda (B2C only)
run every IT's Perfect <-> Monta flow. Stock decides what ships: Acme's
orders ship fully, partly and not at all; Monta splits one order into a "-1"
backorder and deletes another; the status updates go back to IT's Perfect.
"""

from __future__ import annotations

from dataclasses import dataclass

from koppel.sandbox import samples, samples_catalogue, samples_warehouse
from koppel.sandbox.ipsoft import IPSoftState, Product, ean13, seed_demo


@dataclass(frozen=True)
class Drop:
    """A file put in a flow's inbound folder, and whether it must get through."""

    name: str
    payload: bytes
    good: bool = True


@dataclass(frozen=True)
class Step:
    """One DAG run of the demo and the files it must produce."""

    connection_id: str
    flow: str
    drops: tuple[Drop, ...] = ()
    target_files: int = 0
    """New files expected in the flow's target folder."""
    reply_files: int = 0
    """New files expected in the flow's reply folder (reports back to the source system)."""


# Acme's articles and what Monta has of them.
DRESS_M, TEE_S, BLAZER_38 = "JL-DRESS-001-BLK-M", "JL-TEE-203-WHT-S", "JL-BLAZER-014-NAV-38"
JEANS_28, SCARF, TEE_M, DRESS_S = (
    "JL-JEANS-077-IND-28",
    "JL-SCARF-310-CAM-OS",
    "JL-TEE-203-WHT-M",
    "JL-DRESS-001-BLK-S",
)
ACME_STOCK = {DRESS_M: 10, TEE_S: 10, BLAZER_38: 10, JEANS_28: 0, SCARF: 0, TEE_M: 5, DRESS_S: 5}
BELLA_STOCK = {DRESS_M: 2, TEE_S: 0, SCARF: 1}


def _order(number: str, lines: list[tuple[str, int]], channel: str = "webshop") -> Drop:
    return Drop(f"order_{number}.xml", samples.order_with_lines(number, lines, channel=channel))


def _update(number: str, status: str, lines: list[tuple[str, int, int]]) -> Drop:
    payload = samples_warehouse.order_update(number, status=status, lines=lines)
    return Drop(f"update_{number}_{status}.xml", payload)


def acme() -> list[Step]:
    """Acme: every flow, stock-driven backorders, a split and a deleted order."""
    cid = "itsperfect_acme"
    return [
        Step(
            cid,
            "products",
            (Drop("articles.xml", samples_catalogue.product_export(list(ACME_STOCK))),),
            1,  # a catalogue: the seven articles go to Monta in one batch file
        ),
        Step(cid, "stock", (Drop("stock_0600.xml", samples_warehouse.full_stock(ACME_STOCK)),), 1),
        Step(
            cid,
            "orders",
            (
                _order("100231", [(DRESS_M, 1), (TEE_S, 2)]),  # all in stock: ships fully
                _order("100232", [(BLAZER_38, 5), (JEANS_28, 2)], "wholesale"),  # jeans backordered
                _order("100233", [(SCARF, 1)]),  # nothing in stock: cancelled in IT's Perfect
                _order("100234", [(DRESS_M, 1), (TEE_M, 1), (DRESS_S, 1)]),  # split later
                _order("100235", [(TEE_S, 1)]),  # deleted in the warehouse later
                Drop("order_100236.xml", samples.broken_xml(), good=False),
                Drop("order_100237.xml", samples.xsd_violation(), good=False),
            ),
            target_files=4,
            reply_files=2,
        ),
        Step(
            cid,
            "status_updates",
            (
                _update("100231", "shipped", [(DRESS_M, 1, 1), (TEE_S, 2, 2)]),
                _update("100232", "shipped", [(BLAZER_38, 5, 5)]),
                _update(
                    "100234", "partially_shipped", [(DRESS_M, 1, 1), (TEE_M, 1, 1), (DRESS_S, 1, 0)]
                ),
                _update("100234-1", "shipped", [(DRESS_S, 1, 1)]),  # a -1 split: never reported
                _update("100235", "deleted", [(TEE_S, 1, 0)]),  # reported with quantity 0
            ),
            target_files=4,
        ),
        Step(
            cid,
            "returns",
            (Drop("return_R5001.xml", samples_catalogue.return_registration("R5001", "100231")),),
            1,
        ),
        Step(
            cid,
            "inbound_forecasts",
            (Drop("po_2025_118.xml", samples_catalogue.inbound_forecast("PO-2025-118")),),
            1,
        ),
        Step(
            cid,
            "inbound_updates",
            (Drop("received_po_2025_118.xml", samples_catalogue.inbound_update("PO-2025-118")),),
            1,
        ),
    ]


def bellamoda() -> list[Step]:
    """Bella Moda: B2C only and no backorder handling, so a B2B order is refused."""
    cid = "itsperfect_bellamoda"
    return [
        Step(
            cid,
            "products",
            (Drop("articles.xml", samples_catalogue.product_export(list(BELLA_STOCK))),),
            1,  # a catalogue: one batch file
        ),
        Step(cid, "stock", (Drop("stock_0600.xml", samples_warehouse.full_stock(BELLA_STOCK)),), 1),
        Step(
            cid,
            "orders",
            (
                _order("200117", [(DRESS_M, 1)]),
                _order("200118", [(TEE_S, 1)]),  # out of stock, but backorder handling is off
                Drop("order_200119.xml", samples.unknown_value(), good=False),
                Drop(
                    "order_200120.xml",
                    samples.order_with_lines("200120", [(SCARF, 3)], channel="wholesale"),
                    good=False,
                ),
            ),
            target_files=2,
        ),
        Step(cid, "status_updates", (_update("200117", "shipped", [(DRESS_M, 1, 1)]),), 1),
        Step(cid, "returns"),
        Step(cid, "inbound_forecasts"),
        Step(cid, "inbound_updates"),
    ]


def scenario() -> list[Step]:
    """Every DAG run of the demo, in the order a morning would bring them."""
    return acme() + bellamoda()


#: The articles the portal's demo orders are for; IPSoft must know them to take the orders.
PORTAL_ARTICLES = (
    "JL-DRESS-001-BLK-M",
    "JL-DRESS-001-BLK-L",
    "JL-BLOUSE-014-WHT-S",
    "JL-JEANS-077-IND-28",
    "JL-COAT-230-CAM-M",
)


def ipsoft_state() -> IPSoftState:
    """IPSoft's demo catalogue, plus the articles the portal's demo orders name."""
    state = seed_demo(IPSoftState())
    for number, sku in enumerate(PORTAL_ARTICLES):
        state.put(
            Product(
                article_id=f"A9{number:02d}",
                name=sku,
                sku=sku,
                ean13=ean13(f"87104505{number:04d}"),
                brand="Noordzee Atelier",
            )
        )
    return state
