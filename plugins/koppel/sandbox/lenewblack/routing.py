"""The vocabulary every handler module shares: answers, error answers and routes.

The master-data and order handlers live in separate modules; this one gives
them the same shape of route and the same way to refuse a request, so the API
object can dispatch to either without knowing which is which.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from koppel.sandbox.json_http import Answer

API_PREFIX = "/api/v1"

#: A handler: path parameters, query parameters and the validated body in, an answer out.
Route = Callable[[dict[str, str], dict[str, str], Any], Answer]
#: Method, path pattern, the schema the body must match (None: no body), handler.
RouteSpec = tuple[str, re.Pattern[str], str | None, Route]


def api_pattern(pattern: str) -> re.Pattern[str]:
    """The full-path pattern for ``pattern`` below the API prefix."""
    return re.compile(f"{API_PREFIX}/{pattern}")
