"""Shared base for canonical documents.

Canonical documents are the one shape every wire format is read into and
written from, so a rule never needs to know which format a document came in.
Money and quantities are :class:`~decimal.Decimal`, never float: a float cannot
hold 0.10 and postings must balance to the cent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: A monetary amount or quantity; floats are refused so precision is never lost silently.
Amount = Annotated[Decimal, Field(allow_inf_nan=False)]


class CanonicalModel(BaseModel):
    """Base for every canonical document: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)
