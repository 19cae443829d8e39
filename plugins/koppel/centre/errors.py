"""How a page's refusal reaches a person: an HTML page, and the way to Airflow's login.

The JSON API and the form posts answer errors as FastAPI does (``{"detail":
...}``), for scripts and tests. A person opening a page without a valid
Airflow login (none yet, or an expired one) gets the same status code with a
page that sends the browser on to Airflow's own login, which returns to the
page afterwards; any other refusal (403, 404, a bad filter) is a page saying
why, with the way back to the overview.
"""

from __future__ import annotations

from fastapi import Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException

from koppel.centre.rendering import render

#: What the api-server's ``get_user`` says of a token it cannot read (a 403, not a 401).
INVALID_TOKEN = "Invalid JWT token"


def wants_page(request: Request) -> bool:
    """Whether a person's browser asked for a page: a GET outside the JSON API and static files."""
    path = request.url.path
    return request.method == "GET" and "/api/" not in path and "/static/" not in path


def needs_login(exc: HTTPException) -> bool:
    """Whether the refusal is for want of a valid login rather than of a permission."""
    return exc.status_code == status.HTTP_401_UNAUTHORIZED or exc.detail == INVALID_TOKEN


def login_url(request: Request) -> str:
    """Airflow's login page, returning to ``request``'s page after the login."""
    from airflow.api_fastapi.app import get_auth_manager

    return str(get_auth_manager().get_url_login(next_url=str(request.url)))


async def http_error(request: Request, exc: Exception) -> Response:
    """Answer an ``HTTPException``: a page for a browser's GET, FastAPI's JSON otherwise."""
    if not isinstance(exc, HTTPException) or not wants_page(request):
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]
    login = login_url(request) if needs_login(exc) else None
    response = render(
        "error.html",
        {
            "request": request,
            "status_code": exc.status_code,
            "detail": str(exc.detail),
            "login": login,
        },
        status_code=exc.status_code,
    )
    for name, value in (exc.headers or {}).items():
        response.headers.setdefault(name, value)
    return response
