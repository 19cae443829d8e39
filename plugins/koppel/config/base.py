"""Shared base for connection-file models.

Connection files are written by hand, so every model forbids unknown keys: a
typo such as ``schedul:`` must be an error naming the field, not a setting that
silently does nothing. Models are frozen because the DAG factory shares one
parsed connection between all of its flows' DAGs.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

#: Lower-case identifier used for connection ids, platforms and variable names.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigModel(BaseModel):
    """Base of every config model: strict about keys, lenient about ``27794`` vs ``"27794"``."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
