"""Airflow-facing transport: turn Airflow connections into open sessions.

Submodules import their provider packages lazily, so importing
``koppel.hooks`` stays cheap during DAG parsing.
"""
