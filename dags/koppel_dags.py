"""Koppel's only Airflow DAG file: one DAG per (connection, flow) of include/connections."""

from __future__ import annotations

from airflow.sdk import get_parsing_context

from koppel.dag_factory import build_dags

globals().update(build_dags(only=get_parsing_context().dag_id))
