"""The centre's FastAPI app, mounted by the plugin under the api-server at ``/koppel``.

:func:`create_app` only builds the app (routes, static files, headers); the
store, the connection files and Airflow's auth manager are reached per
request, so importing the plugin costs nothing but the imports.

Every response carries a strict Content-Security-Policy: no script at all
(the pages need none), styles only from the app's static file, forms posting
only to this site, framing only by Airflow's own UI (the nav entry shows the
centre in an iframe).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

#: No inline or foreign script, style or frame; forms only to this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_app() -> FastAPI:
    """The integration centre: pages at ``/``, the JSON API at ``/api``, static files."""
    from starlette.exceptions import HTTPException

    from koppel.centre.api import router as api_router
    from koppel.centre.errors import http_error
    from koppel.centre.pages import router as pages_router
    from koppel.centre.rendering import STATIC_DIR
    from koppel.centre.trigger_pages import router as trigger_router

    app = FastAPI(
        title="Koppel integration centre",
        description="Koppel's messages: see, fix and replay them. Needs an Airflow login.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api_router)
    app.include_router(pages_router)
    app.include_router(trigger_router)
    app.add_exception_handler(HTTPException, http_error)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
