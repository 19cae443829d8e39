"""The store and the connection files the centre reads, found as the flows' tasks find them.

The store is the Airflow connection ``koppel_store`` (``KoppelStoreHook``),
looked up on each request, so a changed connection is picked up; the engine
for each address is made (and migrated) once per api-server process and
reused, not made per request.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine

from koppel.store import MessageStore

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def open_store() -> MessageStore:
    """The message store the Airflow connection ``koppel_store`` names, its engine shared.

    Raises:
        ConfigError: the connection is not a postgres or sqlite one.
        AirflowNotFoundException: there is no connection ``koppel_store``.
    """
    from koppel.hooks.store import KoppelStoreHook, engine_url
    from koppel.store import create_store_engine, migrate

    hook = KoppelStoreHook()
    url = engine_url(hook.get_connection(hook.koppel_conn_id))
    key = url.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_store_engine(url)
            migrate(engine)
            _engines[key] = engine
    return MessageStore(engine)


def flows_dir() -> Path:
    """The connection files' folder (``KOPPEL_CONNECTIONS_DIR``), read at call time."""
    from koppel.settings import connections_dir

    return connections_dir()


StoreDep = Annotated[MessageStore, Depends(open_store)]
