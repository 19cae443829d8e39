"""Products, prices and stock levels: the master data that orders refer to."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from koppel.documents.base import Amount, CanonicalModel


class Product(CanonicalModel):
    """An article as the ERP knows it (fashion needs colour, size, season, composition)."""

    sku: str | None = None
    gtin: str | None = None
    """EAN-13 / GTIN; checked by rules, not by the model, so a bad one can be reported."""
    name: str | None = None
    description: str | None = None
    category: str | None = None
    brand: str | None = None
    colour: str | None = None
    size: str | None = None
    season: str | None = None
    composition: str | None = None
    unit: str = "PCE"
    weight_kg: Amount | None = None
    revision: str | None = None
    customer_id: str | None = None
    """Set when the article is specific to one customer (seed 002, check 4)."""
    active: bool = True


class Price(CanonicalModel):
    """One price of a product in a price list, optionally from a quantity break."""

    price_list_id: str
    sku: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount: Amount
    min_quantity: Amount = Decimal(1)
    valid_from: date | None = None
    valid_to: date | None = None


class StockMode(StrEnum):
    """A full stock update replaces every level; a delta adds to it."""

    FULL = "full"
    DELTA = "delta"


class StockLevel(CanonicalModel):
    """Available-to-sell quantity of one SKU in one warehouse at one moment."""

    sku: str
    quantity: Amount
    warehouse: str | None = None
    gtin: str | None = None
    mode: StockMode = StockMode.FULL
    as_of: datetime | None = None
