"""Koppel's only Airflow DAG file: one DAG per (connection, flow) of include/connections."""

from __future__ import annotations

from koppel.dag_factory import build_dags

globals().update(build_dags())
