"""The destinations of a task run, built from Airflow connections."""

from __future__ import annotations

from contextlib import AbstractContextManager

from koppel.config import FileEndpoint
from koppel.files import FileSession
from koppel.hooks.file_sessions import open_file_session
from koppel.pipeline.destinations import Destinations


def _open_session(endpoint: FileEndpoint) -> AbstractContextManager[FileSession]:
    return open_file_session(endpoint.transport, endpoint.conn_id)


def open_destinations() -> Destinations:
    """Destinations for every endpoint kind Koppel delivers to, opened on first use."""
    return Destinations(open_session=_open_session)
