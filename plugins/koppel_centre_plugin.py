"""The Koppel plugin: the integration centre in Airflow's api-server and its navigation.

Airflow's plugin manager imports this file from the plugins folder; the
``koppel`` package beside it is a library, left out by ``plugins/.airflowignore``
so its modules are not imported a second time under bare names. The app is
built here, but it opens nothing until a request comes.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from koppel.centre.app import create_app

#: Where the centre is mounted under the api-server, and its route inside Airflow's UI.
URL_PREFIX = "/koppel"


class KoppelPlugin(AirflowPlugin):
    """Koppel's integration centre: a FastAPI app and a "Koppel" entry in Airflow's navigation."""

    name = "koppel"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "Koppel integration centre"}
    ]
    external_views = [
        {
            "name": "Koppel",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "koppel",
        }
    ]
