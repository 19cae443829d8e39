"""Which products may be exported to a B2B portal (seed 004: "Products without EAN13/SKU codes
won't be exported")."""

from __future__ import annotations

from collections.abc import Sequence

from koppel.documents import Problem, Product, Severity


def ean13_is_valid(code: str | None) -> bool:
    """Thirteen digits whose last is the GS1 check digit of the first twelve."""
    if code is None or len(code) != 13 or not code.isdigit():
        return False
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def exportable_products(products: Sequence[Product]) -> tuple[list[Product], list[Problem]]:
    """The products with a SKU and a valid EAN13, and one note for each product left out.

    A product left out is not an error of the run: the ERP holds an article
    that is not ready for the portal yet. Each is logged as a warning so the
    task log and the message say which article and why.
    """
    kept: list[Product] = []
    notes: list[Problem] = []
    for index, product in enumerate(products):
        reason = _reason_not_exported(product)
        if reason is None:
            kept.append(product)
            continue
        name = product.sku or product.name or f"record {index + 1}"
        notes.append(
            Problem(
                code="product.not_exported",
                severity=Severity.WARNING,
                message=f"product {name} is not exported: {reason}",
                field=f"[{index}]",
            )
        )
    return kept, notes


def _reason_not_exported(product: Product) -> str | None:
    if not product.sku:
        return "it has no SKU"
    if not product.gtin:
        return "it has no EAN13"
    if not ean13_is_valid(product.gtin):
        return f"EAN13 {product.gtin!r} is not valid (13 digits with a correct check digit)"
    return None
