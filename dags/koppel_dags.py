"""Koppel's index DAG file: it builds no Airflow DAG, it keeps ``connections/`` in step.

Every connection file has its own generated DAG file in ``connections/`` (see
``koppel.dag_files``): Airflow stales every DAG of a file that fails to import,
so one file per connection keeps a broken connection from hiding the others.
At each parse this file writes the DAG file of a new connection file (the
dag-processor finds it at its next folder refresh) and removes those of deleted
ones; ``koppel dags`` does the same by hand. On a read-only DAGs folder it fails
instead, naming each connection file without a DAG file: having no DAGs of its
own, its import error stales nothing.
"""

from __future__ import annotations

from pathlib import Path

from koppel.dag_files import ensure_dag_files
from koppel.settings import connections_dir

ensure_dag_files(Path(__file__).parent / "connections", connections_dir())
