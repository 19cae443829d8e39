"""Connection configuration: models, platform templates, loading and lint.

Public entry points: :func:`load_connection` and :func:`load_all` for the DAG
factory (fast, no network, no Airflow), :func:`lint_paths` for ``koppel lint``.
"""

from __future__ import annotations

from koppel.config.connection import (
    DAG_ID_SEPARATOR,
    ChannelSettings,
    ConnectionConfig,
    SystemRef,
    Systems,
)
from koppel.config.endpoint import (
    ApiEndpoint,
    Endpoint,
    FileEndpoint,
    SqlEndpoint,
    api_endpoint,
    file_endpoint,
    sql_endpoint,
)
from koppel.config.flows import FlowConfig, FlowName
from koppel.config.lint import lint_paths
from koppel.config.loader import LoadResult, connection_files, load_all, load_connection
from koppel.config.problems import ConfigProblem, ConnectionFileError

__all__ = [
    "DAG_ID_SEPARATOR",
    "ApiEndpoint",
    "ChannelSettings",
    "ConfigProblem",
    "ConnectionConfig",
    "ConnectionFileError",
    "Endpoint",
    "FileEndpoint",
    "FlowConfig",
    "FlowName",
    "LoadResult",
    "SqlEndpoint",
    "SystemRef",
    "Systems",
    "api_endpoint",
    "connection_files",
    "file_endpoint",
    "lint_paths",
    "load_all",
    "load_connection",
    "sql_endpoint",
]
