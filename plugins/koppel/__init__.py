"""Koppel: an integration hub for commerce back offices, built on Apache Airflow.

Importing this package must stay cheap and must read no Airflow configuration:
DAG parsing imports it for every generated DAG file.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

#: The project root (the folder holding ``dags/``, ``include/`` and ``plugins/``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Where connection files, mappings and schemas live unless told otherwise.
INCLUDE_DIR = PROJECT_ROOT / "include"
