"""The Koppel integration centre: the inbox as pages and a JSON API inside Airflow's api-server.

A FastAPI app (:func:`koppel.centre.app.create_app`) that the plugin module
``plugins/koppel_centre_plugin.py`` mounts under ``/koppel``. Every route needs
an Airflow login (the api-server's own JWT); changes need permission to
trigger the flow's DAG. The work itself is :mod:`koppel.inbox`'s, the same as
the CLI's.

Airflow's plugin manager imports every ``.py`` file under the plugins folder
as a top-level module named after its stem, so no module of this package may
hold an ``AirflowPlugin`` subclass (it would be registered twice) or do real
work at import time.
"""
