"""The business key of a document: what users search for and deliveries are named after."""

from __future__ import annotations

from koppel.documents.base import CanonicalModel

#: Attribute holding each document class's business key, most specific first.
_KEY_ATTRIBUTES = (
    "response_id",
    "order_number",
    "waybill_id",
    "return_id",
    "order_id",
    "order_reference",
    "inbound_id",
    "mutation_id",
    "sku",
    "id",
)


def document_key(document: CanonicalModel) -> str | None:
    """The document's business key (order number, SKU, party id), or None if it has none.

    A key is what a user asks about ("why was order 1234 not shipped?") and what
    outbound file names and delivery idempotency keys are built from.
    """
    for attribute in _KEY_ATTRIBUTES:
        value = getattr(document, attribute, None)
        if value:
            return str(value)
    return None
