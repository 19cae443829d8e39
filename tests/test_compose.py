"""Offline checks of docker-compose.yaml, the cluster form.

Docker has no engine on the dev machine, so the file cannot be run here. Instead it is validated
against the Compose specification (vendored in check-jsonschema, no network needed) and its
Koppel-specific promises are asserted on the parsed YAML: the services the docs tell people to
start, the executor, the mounted project folders and the message store connection.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from koppel.sandbox.stand_ins import Ports

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"

AIRFLOW_SERVICES = {
    "scheduler": "airflow-scheduler",
    "api-server": "airflow-apiserver",
    "dag-processor": "airflow-dag-processor",
    "celery worker": "airflow-worker",
    "triggerer": "airflow-triggerer",
}
PROJECT_MOUNTS = {
    "./dags": "/opt/airflow/dags",
    "./plugins": "/opt/airflow/plugins",
    "./include": "/opt/airflow/include",
    "./logs": "/opt/airflow/logs",
    "./config": "/opt/airflow/config",
}
SECRET_SETTINGS = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__FERNET_KEY",
}


def _check_jsonschema() -> str:
    """Look beside the running interpreter first: the venv's bin is not always on PATH."""
    beside = Path(sys.executable).parent / "check-jsonschema"
    if beside.exists():
        return str(beside)
    found = shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed; it is in requirements-dev.txt")
    return found


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _default(value: str) -> str:
    """Resolve `${VAR:-default}` the way compose does when VAR is unset (the .env-less case)."""
    out, rest = "", value
    while "${" in rest:
        head, _, tail = rest.partition("${")
        expr, _, rest = tail.partition("}")
        out += head + (expr.split(":-", 1)[1] if ":-" in expr else "")
    return out + rest


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    pairs = (_default(volume).split(":") for volume in service["volumes"])
    return {parts[0]: parts[1] for parts in pairs}


def test_compose_file_matches_the_compose_spec() -> None:
    result = _lint(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(
        "services:\n  web:\n    image: nginx\n    depends_on:\n"
        "      db:\n        condition: when_it_feels_like_it\n",
        encoding="utf-8",
    )
    assert _lint(broken).returncode != 0


def test_every_service_the_docs_rely_on_exists(compose: dict[str, Any]) -> None:
    services = compose["services"]
    expected = {
        "postgres",
        "redis",
        "airflow-init",
        "koppel-store-init",
        *AIRFLOW_SERVICES.values(),
    }
    assert expected <= set(services)
    for command, name in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command


def test_airflow_runs_celery_on_postgres_and_redis(compose: dict[str, Any]) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert urlsplit(_default(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])).hostname == "postgres"
    assert urlsplit(_default(env["AIRFLOW__CELERY__BROKER_URL"])).hostname == "redis"


@pytest.mark.parametrize("name", sorted({"airflow-init", *AIRFLOW_SERVICES.values()}))
def test_project_folders_are_mounted(compose: dict[str, Any], name: str) -> None:
    mounts = _mounts(compose["services"][name])
    assert PROJECT_MOUNTS.items() <= mounts.items()


def test_store_is_a_separate_database_on_the_same_server(compose: dict[str, Any]) -> None:
    env = compose["services"]["airflow-worker"]["environment"]
    store = urlsplit(_default(env["AIRFLOW_CONN_KOPPEL_STORE"]))
    metadata = urlsplit(_default(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    assert store.scheme == "postgresql"
    assert store.hostname == metadata.hostname == "postgres"
    assert store.path == "/koppel"
    assert metadata.path != store.path
    init = "\n".join(compose["services"]["koppel-store-init"]["command"])
    assert "for database in koppel isah; do" in init
    assert "CREATE DATABASE $${database}" in init
    waits_for = compose["services"]["airflow-init"]["depends_on"]
    assert waits_for["koppel-store-init"]["condition"] == "service_completed_successfully"


def test_the_scsn_suppliers_erp_is_a_postgres_database_the_sandbox_fills(
    compose: dict[str, Any],
) -> None:
    sandbox = compose["services"]["sandbox"]
    (erp,) = [arg for arg in sandbox["command"] if arg.startswith("--erp-url=")]
    url = urlsplit(_default(erp.removeprefix("--erp-url=")))
    assert (url.scheme, url.hostname, url.path) == ("postgresql+psycopg", "postgres", "/isah")
    assert url.password is None  # from PGPASSWORD
    assert sandbox["depends_on"]["koppel-store-init"]["condition"] == (
        "service_completed_successfully"
    )


def test_every_stand_in_of_the_sandbox_has_its_own_fixed_port(compose: dict[str, Any]) -> None:
    """A fixed port per stand-in, so the connections.json the sandbox writes stays valid
    after a restart; no published ports (the compose network only)."""
    sandbox = compose["services"]["sandbox"]
    ports = {
        arg.removeprefix("--").partition("-port=")[0]: int(arg.partition("=")[2])
        for arg in sandbox["command"]
        if arg.startswith("--") and "-port=" in arg
    }
    assert set(ports) == {field.name for field in fields(Ports)}
    assert {"webshop", "crm"} <= set(ports)
    assert len(set(ports.values())) == len(ports)
    assert all(port > 0 for port in ports.values())
    assert "ports" not in sandbox
    assert "--host=sandbox" in sandbox["command"]


def test_no_literal_secrets(compose: dict[str, Any]) -> None:
    """Every password-bearing value must come from the environment, defaults being dev-only."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or key.startswith("AIRFLOW_CONN_") or key in SECRET_SETTINGS:
                assert "${" in str(value), f"{name}: {key} is not taken from the environment"


def test_docker_compose_config_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI not installed")
    if subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode:
        pytest.skip("docker compose plugin not installed")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
