"""Airflow operators: thin shells that move work between hooks and the pipeline."""

from __future__ import annotations

from koppel.operators.file_flow import (
    AcknowledgeFilesOperator,
    ProcessMessagesOperator,
    ReceiveFilesOperator,
)

__all__ = ["AcknowledgeFilesOperator", "ProcessMessagesOperator", "ReceiveFilesOperator"]
