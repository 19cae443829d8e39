"""Build one Airflow DAG per (connection, flow) from the connection files.

Each connection file has its own generated DAG file (``dags/connections/<id>.py``,
see :mod:`koppel.dag_files`) that calls :func:`connection_dags`: it reads one
YAML file and builds DAG objects, nothing more (no database, no network, no
Airflow config). A broken connection file raises in its own DAG file only, so
Airflow records one import error naming it and stales none of the other
connections' DAGs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param

from koppel.config import (
    DAG_ID_SEPARATOR,
    ApiEndpoint,
    ConnectionConfig,
    ConnectionFileError,
    Endpoint,
    FileEndpoint,
    FlowConfig,
    SqlEndpoint,
    load_connection,
)
from koppel.config.yaml_files import YAML_SUFFIXES
from koppel.operators.alerts import FlowFailureAlert
from koppel.operators.api_flow import FinishApiOperator, ReceiveApiOperator
from koppel.operators.base import ACKNOWLEDGE_TASK, PROCESS_TASK, RECEIVE_TASK, FlowOperator
from koppel.operators.file_flow import (
    AcknowledgeFilesOperator,
    ProcessMessagesOperator,
    ReceiveFilesOperator,
)
from koppel.operators.sql_flow import FinishSqlOperator, ReceiveSqlOperator
from koppel.settings import connections_dir


def connection_dags(
    connection_id: str, *, only: str | None = None, directory: Path | None = None
) -> dict[str, DAG]:
    """The DAGs of one connection file by id: what its generated DAG file exposes.

    Args:
        connection_id: the connection file's name without its suffix.
        only: build just this DAG id. A worker running one task parses the DAG
            file of that one DAG (Airflow's parsing context says which): the
            connection's other flows need not be built.
        directory: the connection files (default: ``connections_dir()``).

    Returns:
        Nothing when the file is gone: the connection was removed and its DAGs
        go stale as Airflow does for any removed DAG.

    Raises:
        ConnectionFileError: the file is broken; the message names file, field
            and reason. It is raised without its cause, whose pydantic text
            would show the raw values (maybe a secret) in Airflow's import
            errors and logs.
    """
    if only is not None and not only.startswith(f"{connection_id}{DAG_ID_SEPARATOR}"):
        return {}
    path = _connection_file(directory or connections_dir(), connection_id)
    if path is None:
        return {}
    try:
        connection = load_connection(path)
    except ConnectionFileError as exc:
        raise ConnectionFileError(exc.path, exc.problems) from None
    flows = [f for f in connection.flows.values() if only in (None, connection.dag_id(f.name))]
    return {connection.dag_id(flow.name): build_flow_dag(connection, flow) for flow in flows}


def _connection_file(folder: Path, connection_id: str) -> Path | None:
    """``<id>.yaml`` (or ``.yml``) in ``folder``, if it exists."""
    for suffix in YAML_SUFFIXES:
        path = folder / f"{connection_id}{suffix}"
        if path.is_file():
            return path
    return None


def build_flow_dag(connection: ConnectionConfig, flow: FlowConfig) -> DAG:
    """One flow's DAG: receive → process → acknowledge."""
    dag = DAG(
        dag_id=connection.dag_id(flow.name),
        description=flow.description,
        doc_md=_doc_md(connection, flow),
        schedule=flow.schedule,
        start_date=datetime.combine(flow.start_date, datetime.min.time(), tzinfo=UTC),
        catchup=flow.catchup,
        max_active_runs=1,
        is_paused_upon_creation=not flow.is_enabled(connection),
        tags=sorted({connection.id, flow.name, connection.platform, *connection.tags}),
        params=_params(flow),
        default_args={
            "owner": connection.owner,
            "retries": flow.retries,
            "retry_delay": timedelta(seconds=flow.retry_delay_seconds),
            "on_failure_callback": _alert(connection, flow),
        },
    )
    shared: dict[str, Any] = {
        "connection_file": str(connection.path),
        "flow_name": flow.name,
        "dag": dag,
    }
    receive, finish = _ends(flow.source)
    process = ProcessMessagesOperator(task_id=PROCESS_TASK, **shared)
    receive(task_id=RECEIVE_TASK, **shared) >> process >> finish(task_id=ACKNOWLEDGE_TASK, **shared)
    return dag


def _ends(source: Endpoint) -> tuple[type[FlowOperator], type[FlowOperator]]:
    """The first and last task of a flow, by what its source is: files, an API, or a table."""
    if isinstance(source, FileEndpoint):
        return ReceiveFilesOperator, AcknowledgeFilesOperator
    if isinstance(source, SqlEndpoint):
        return ReceiveSqlOperator, FinishSqlOperator
    return ReceiveApiOperator, FinishApiOperator


def _alert(connection: ConnectionConfig, flow: FlowConfig) -> list[FlowFailureAlert]:
    """The failure alert of the connection, if it asks for one."""
    if not connection.alert_emails and not connection.alert_webhook_conn_id:
        return []
    alert = FlowFailureAlert(
        connection_id=connection.id,
        flow=flow.name,
        emails=connection.alert_emails,
        webhook_conn_id=connection.alert_webhook_conn_id,
    )
    return [alert]


#: The JSON Schema dialect of the params. Airflow checks each param's schema
#: against its dialect's metaschema every time it resolves the param: at DAG
#: creation, and several times per task while serializing each DAG (``ParamsDict``
#: equality, ``repr`` and ``dump`` all resolve every param). With no ``$schema``,
#: jsonschema picks its newest dialect (2020-12), whose metaschema check is about
#: four times slower than draft 7's; that made param checks the largest part of
#: parsing. The params use only draft-7 keywords (``type`` lists, ``items``,
#: ``minimum``), so declaring it changes no outcome: a manual run's values are still
#: validated against the same schema (Airflow's trigger form ignores ``$schema``).
PARAM_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"


def _param(default: Any, *, description: str, **schema: Any) -> Param:
    """A run parameter whose JSON schema declares :data:`PARAM_SCHEMA_DIALECT`."""
    return Param(default, description, schema={"$schema": PARAM_SCHEMA_DIALECT, **schema})


def _params(flow: FlowConfig) -> dict[str, Param]:
    """The form of a manual run: which files, which orders ("export now"), or resend a range.

    The lists allow null: Airflow's trigger form marks a param required unless
    its JSON schema type includes "null", and an empty list means "all", so
    leaving one out must be allowed. The operators read null and [] alike.
    """
    source = flow.source
    if isinstance(source, ApiEndpoint) and source.transport == "http":
        return {
            "references": _param(
                [],
                type=["null", "array"],
                items={"type": "string"},
                title="Export now: only these orders",
                description=(
                    "Order references such as LNB-100045; empty exports every order waiting "
                    "in the portal."
                ),
            ),
        }
    if isinstance(source, ApiEndpoint | SqlEndpoint):
        return {
            "resend": _param(
                False,
                type="boolean",
                title="Resend the run's data interval",
                description=(
                    "Send every record modified in this run's data interval, changed or not "
                    "(what a backfill does)."
                ),
            ),
        }
    return {
        "only_files": _param(
            [],
            type=["null", "array"],
            items={"type": "string"},
            title="Only these files",
            description=(
                "File-name patterns (e.g. order_1234*.xml); empty picks up every complete file."
            ),
        ),
        "max_files": _param(
            flow.batch_size,
            type="integer",
            minimum=1,
            title="At most this many files",
            description="Upper bound on the files taken in this run.",
        ),
    }


def _doc_md(connection: ConnectionConfig, flow: FlowConfig) -> str:
    """What the flow does, from where to where, with which options: shown on the DAG's page."""
    options = "\n".join(f"- `{k}`: `{v}`" for k, v in sorted(flow.options.items())) or "- none"
    state = "enabled" if flow.is_enabled(connection) else "paused until switched on"
    read_from, write_to = flow.systems(connection)
    rows = [("from", read_from, flow.source), ("to", write_to, flow.target)]
    if flow.reply is not None:
        rows.append(("replies to", read_from, flow.reply))
    rules = ", ".join(f"`{rule}`" for rule in flow.rules) or "none"
    table = "\n".join(
        f"| {side} | {system} | {end.transport} `{end.conn_id}` | {_where(end)} | `{end.format}` |"
        for side, system, end in rows
    )
    disposal = ""
    if isinstance(flow.source, FileEndpoint):
        disposal = (
            f"Processed files go to `{flow.source.archive_folder}`, rejected ones to "
            f"`{flow.source.error_folder}` with a `.problems.txt` report. "
        )
    return f"""### {connection.name}: {flow.name}

{flow.description}

| | system | transport | where | format |
|---|---|---|---|---|
{table}

{disposal}Schedule: `{flow.schedule or "manual only"}` ({state}).

Rules: {rules}.

**Options**

{options}

Connection file: `{connection.path.name}` (platform `{connection.platform}`).
Failed messages:
`koppel messages --connection {connection.id} --flow {flow.name} --status rejected`.
"""


def _where(endpoint: Endpoint) -> str:
    """A folder and pattern for files, the operation or resource for an API."""
    if isinstance(endpoint, FileEndpoint):
        return f"`{endpoint.folder}` (`{endpoint.pattern}`)"
    if isinstance(endpoint, SqlEndpoint):
        return f"table `{endpoint.table}`"
    return f"`{endpoint.operation}`"
