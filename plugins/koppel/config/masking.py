"""Recognising secrets so they never end up in YAML files or error messages.

Credentials belong in Airflow connections (SPEC.md section 2). A key that
looks like one (``password``, ``api_token``, ``private_key`` ...) is refused in
a connection file, and any message about such a field shows ``***`` instead
of the value, so a lint run in CI never prints a password into a build log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

#: Mask shown instead of a secret value.
MASK = "***"

_SECRET_WORDS = re.compile(
    r"(^|[_\-.])(password|passwd|pwd|secret|token|key|passphrase|apikey|credentials?)($|[_\-.])",
    re.IGNORECASE,
)


def looks_secret(key: str) -> bool:
    """Whether a key (or any part of a dotted field path) names a secret."""
    return bool(_SECRET_WORDS.search(key))


def secret_fields(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of every secret-looking key that carries a non-empty value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if looks_secret(str(key)) and item not in (None, "") and not isinstance(item, Mapping):
                yield child
            else:
                yield from secret_fields(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_fields(item, f"{path}.{index}")


def mask_in(message: str, value: Any) -> str:
    """``message`` with every rendering of ``value`` replaced by :data:`MASK`."""
    if value is None or isinstance(value, (bool, Mapping, list)):
        return message
    for shown in (repr(value), str(value)):
        if shown:
            message = message.replace(shown, MASK)
    return message
