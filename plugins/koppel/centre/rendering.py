"""The pages' templates: Jinja2 with autoescaping always on, and the filters they use.

Everything a partner wrote (payloads, file names, problem texts, keys) is
passed to the templates as plain strings and escaped on output; no template
or filter marks it safe. Control characters and bidirectional overrides are
shown as escapes too (:func:`koppel.inbox.safe`), so a payload cannot make a
line read differently than it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@cache
def templates() -> Jinja2Templates:
    """The templates, loaded once; autoescape on for every template, whatever its name."""
    from koppel.centre.views import is_airflow_run
    from koppel.inbox import safe, stamp

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["safe_text"] = lambda text, inline=True: safe(str(text), inline=inline)
    env.filters["stamp"] = lambda value: stamp(value) if isinstance(value, datetime) else ""
    env.filters["query"] = urlencode
    env.globals["path_for"] = path_for
    env.globals["is_airflow_run"] = is_airflow_run
    return Jinja2Templates(env=env)


@jinja2.pass_context
def path_for(context: Mapping[str, Any], name: str, /, **params: Any) -> str:
    """A route's path, without scheme and host: links that hold behind any proxy."""
    request: Request = context["request"]
    return request.url_for(name, **params).path


def render(name: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """Render template ``name`` with ``context`` (which holds the request)."""
    request = context["request"]
    return templates().TemplateResponse(request, name, context, status_code=status_code)
