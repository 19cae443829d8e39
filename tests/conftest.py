"""Test-wide fixtures: each real server lives in its own plugin module."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.file_servers",
    "tests.fixtures.openssh",
    "tests.fixtures.postgres",
    "tests.fixtures.airflow_env",
    "tests.fixtures.alerts",
    "tests.fixtures.ipsoft",
    "tests.fixtures.lenewblack",
    "tests.fixtures.isah",
    "tests.fixtures.store_erp",
    "tests.fixtures.peppol",
    "tests.fixtures.webshop",
    "tests.fixtures.crm",
]
