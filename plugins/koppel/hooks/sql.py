"""Databases as endpoints: an Airflow connection in, an engine and a table destination out.

An SQL endpoint (``transport: sql``) names its Airflow connection, never a
URL: the credentials live in Airflow's connection store and are only ever
put into the engine, not into a log line. PostgreSQL (``postgres``) and
SQLite (``sqlite``) connections are understood, the same two databases the
message store runs on, and the engine is made the way the store makes its
own (:func:`koppel.store.create_store_engine`): on SQLite every transaction
starts with ``BEGIN IMMEDIATE``, so two writers queue instead of one failing
halfway.

:class:`SqlDestination` writes one document (a header row and its child
rows) in one transaction; see its docstring for the idempotency rules.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from airflow.sdk import BaseHook
from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Table,
    and_,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy import Connection as DbConnection
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchTableError,
    OperationalError,
)

from koppel.config import SqlEndpoint
from koppel.errors import ConfigError, FatalSyncError, TransportError
from koppel.hooks.store import engine_url
from koppel.store import create_store_engine


class SqlHook(BaseHook):
    """The engine of the database an SQL endpoint's Airflow connection points at.

    Args:
        sql_conn_id: the Airflow connection of the database.
    """

    conn_name_attr = "sql_conn_id"
    conn_type = "postgres"
    hook_name = "Koppel SQL endpoint"

    def __init__(self, sql_conn_id: str) -> None:
        """Remember the connection id; nothing is opened until the engine is asked for."""
        super().__init__()
        self.sql_conn_id = sql_conn_id
        self._engine: Engine | None = None

    def get_conn(self) -> Engine:
        """Return the engine, as every provider hook's ``get_conn`` returns its client."""
        return self.get_engine()

    def get_engine(self) -> Engine:
        """The engine, created on first use (connecting happens on the first query)."""
        if self._engine is None:
            url = engine_url(self.get_connection(self.sql_conn_id), purpose="an SQL endpoint")
            self._engine = create_store_engine(url)
            self.log.info(
                "SQL endpoint %s at %s", self.sql_conn_id, url.render_as_string(hide_password=True)
            )
        return self._engine

    def dispose(self) -> None:
        """Close the engine's pooled connections (at the end of a task run)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@dataclass(frozen=True)
class _Tables:
    """The endpoint's tables as the database has them (reflected once per destination)."""

    header: Table
    children: dict[str, Table]


@dataclass(frozen=True)
class _Document:
    """One payload split into the header row's values and the child rows per payload key."""

    header: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]


def payload_fingerprint(target_name: str, payload: bytes) -> str:
    """What :class:`SqlDestination` stores in the endpoint's ``import_column``.

    The pipeline hands a retried delivery the very bytes it stored before the
    first try, so the same target and payload mean the same delivery.
    """
    digest = hashlib.sha256(target_name.encode() + b"\x00" + payload).hexdigest()
    return f"sha256:{digest}"


class SqlDestination:
    """Writes one document into an endpoint's header table and child tables, in one transaction.

    The payload is a JSON object: its scalars are columns of ``table``, each
    key named in ``children`` a list of rows of that child table. The row is
    looked up by the endpoint's ``identified_by`` columns (``FOR UPDATE`` on PostgreSQL,
    the whole transaction is ``BEGIN IMMEDIATE`` on SQLite):

    * none: the header is inserted, the children with ``parent_column`` set to
      the new row's ``returning`` value, which is the receipt (the ERP's order
      number);
    * one that this delivery wrote (``import_column`` holds its fingerprint,
      a retry after a crash): its receipt, nothing written;
    * one whose columns still have the ``update_if`` values (an unconfirmed
      order): the header is updated and the children are replaced;
    * any other: :class:`FatalSyncError` naming the key, nothing written.

    A second delivery inserting the same key at the same moment makes one of
    the two inserts fail on the table's unique key; that one looks again in a
    new transaction and goes one of the last three ways. A database that
    cannot be reached is a :class:`TransportError`, retried on the next run.
    """

    def __init__(self, engine: Engine, endpoint: SqlEndpoint) -> None:
        """Deliver into ``endpoint``'s tables through ``engine``; nothing is read until then."""
        self._engine = engine
        self._endpoint = endpoint
        self._tables: _Tables | None = None

    def deliver(self, target_name: str, payload: bytes) -> str | None:
        """Write the document; return the row's ``returning`` value as the receipt."""
        fingerprint = payload_fingerprint(target_name, payload)
        try:
            tables = self._reflect()
            document = _split(payload, tables, self._endpoint)
            try:
                return self._write(tables, document, fingerprint)
            except IntegrityError:
                # Another delivery inserted the key meanwhile; now the row is there to find.
                return self._write(tables, document, fingerprint)
        except (OperationalError, InterfaceError) as exc:
            raise TransportError(f"database of {self._endpoint.conn_id}: {exc.orig}") from exc
        except DBAPIError as exc:
            raise FatalSyncError(
                f"{self._endpoint.table} refused {target_name}: {exc.orig}"
            ) from exc

    def _reflect(self) -> _Tables:
        """The header and child tables with the columns the database has, read once."""
        if self._tables is None:
            metadata = MetaData()
            with self._engine.connect() as conn:
                header = reflect_table(metadata, self._endpoint.table, conn)
                children = {
                    key: reflect_table(metadata, name, conn)
                    for key, name in self._endpoint.children.items()
                }
            _check_columns(self._endpoint, header, children.values())
            self._tables = _Tables(header, children)
        return self._tables

    def _write(self, tables: _Tables, document: _Document, fingerprint: str) -> str | None:
        endpoint = self._endpoint
        header = tables.header
        key = {name: document.header.get(name) for name in endpoint.identified_by}
        missing = [name for name, value in key.items() if value is None]
        if missing:
            raise FatalSyncError(f"the document has no value for key column(s) {missing}")
        values = dict(document.header)
        if endpoint.import_column:
            values[endpoint.import_column] = fingerprint
        if endpoint.watermark_column:
            values[endpoint.watermark_column] = datetime.now(UTC)
        where = and_(*(header.c[name] == value for name, value in key.items()))
        with self._engine.begin() as conn:
            row = conn.execute(select(header).where(where).with_for_update()).mappings().first()
            if row is None:
                parent = self._insert_header(conn, header, values)
            else:
                parent = row[endpoint.returning] if endpoint.returning else None
                if endpoint.import_column and row[endpoint.import_column] == fingerprint:
                    return _receipt(parent)  # this delivery's own row: a retry after a crash
                self._check_updatable(header, row, key)
                conn.execute(update(header).where(where).values(values))
                for table in tables.children.values():
                    conn.execute(delete(table).where(self._parent_of(table) == parent))
            self._insert_children(conn, tables, document, parent)
        return _receipt(parent)

    def _insert_header(self, conn: DbConnection, header: Table, values: dict[str, Any]) -> Any:
        statement = insert(header).values(values)
        if self._endpoint.returning is None:
            conn.execute(statement)
            return None
        return conn.execute(statement.returning(header.c[self._endpoint.returning])).scalar_one()

    def _check_updatable(self, header: Table, row: Any, key: dict[str, Any]) -> None:
        """Refuse to replace a row unless it still has every ``update_if`` value."""
        endpoint = self._endpoint
        where = ", ".join(f"{name}={value!r}" for name, value in key.items())
        existing = f"{endpoint.table} row {where} already exists"
        if endpoint.returning:
            existing += f" as {endpoint.returning} {row[endpoint.returning]}"
        if not endpoint.update_if:
            raise FatalSyncError(f"{existing}; this target never replaces a row")
        wrong = [
            f"{name} is {row[name]!r} (an update needs {expected!r})"
            for name, expected in endpoint.update_if.items()
            if row[name] != _typed(header.c[name], expected)
        ]
        if wrong:
            raise FatalSyncError(f"{existing} and may no longer be replaced: {', '.join(wrong)}")

    def _insert_children(
        self, conn: DbConnection, tables: _Tables, document: _Document, parent: Any
    ) -> None:
        """Insert each child table's rows, one statement per set of columns the rows name.

        A row leaving a column out gets the column's default, so rows naming
        different columns cannot share one executemany.
        """
        endpoint = self._endpoint
        for key, table in tables.children.items():
            groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
            for position, row in enumerate(document.children.get(key, []), start=1):
                values = dict(row)
                values[self._parent_of(table).name] = parent
                if endpoint.position_column:
                    values[endpoint.position_column] = position
                groups[frozenset(values)].append(values)
            for rows in groups.values():
                conn.execute(insert(table), rows)

    def _parent_of(self, table: Table) -> Column[Any]:
        return table.c[self._endpoint.parent_column or ""]


def _check_columns(endpoint: SqlEndpoint, header: Table, children: Iterable[Table]) -> None:
    """Every column the endpoint names exists, so a typo is a configuration error up front.

    Raises:
        ConfigError: naming each missing table column.
    """
    named = [
        *endpoint.identified_by,
        *endpoint.update_if,
        *(c for c in (endpoint.returning, endpoint.import_column, endpoint.watermark_column) if c),
    ]
    missing = [f"{header.name}.{name}" for name in named if name not in header.c]
    for table in children:
        for name in (endpoint.parent_column, endpoint.position_column):
            if name and name not in table.c:
                missing.append(f"{table.name}.{name}")
    if missing:
        raise ConfigError(f"the SQL endpoint names column(s) the database lacks: {missing}")


def reflect_table(metadata: MetaData, name: str, conn: DbConnection) -> Table:
    """``name`` (optionally ``schema.table``) as the database defines it."""
    schema, _, table = name.rpartition(".")
    try:
        return Table(table, metadata, schema=schema or None, autoload_with=conn)
    except NoSuchTableError as exc:
        raise ConfigError(f"the database has no table {name!r}") from exc


def _split(payload: bytes, tables: _Tables, endpoint: SqlEndpoint) -> _Document:
    """The payload's header values and child rows, typed for their columns.

    A key that is no column (or child list) is refused: it is a mapping that
    does not fit the tables, and silently dropping it would lose data.
    """
    try:
        body = json.loads(payload, parse_float=Decimal)
    except ValueError as exc:
        raise FatalSyncError(f"the payload is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise FatalSyncError("the payload must be a JSON object (one row and its children)")
    header: dict[str, Any] = {}
    children: dict[str, list[dict[str, Any]]] = {}
    for name, value in body.items():
        if name in tables.children:
            if not isinstance(value, list):
                raise FatalSyncError(f"payload key {name!r} must be a list of rows")
            children[name] = [_row(tables.children[name], item, name) for item in value]
        else:
            header |= _row(tables.header, {name: value}, endpoint.table)
    return _Document(header, children)


def _row(table: Table, item: object, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise FatalSyncError(f"{where}: a row must be a JSON object")
    row: dict[str, Any] = {}
    for name, value in item.items():
        if name not in table.c:
            raise FatalSyncError(f"{where}: {name!r} is not a column of table {table.name}")
        if isinstance(value, dict | list):
            raise FatalSyncError(f"{where}: {name!r} must be a single value")
        row[name] = _typed(table.c[name], value)
    return row


def _typed(column: Column[Any], value: object) -> object:
    """``value`` as the column's Python type (JSON has no dates or exact decimals).

    Raises:
        FatalSyncError: the value cannot be that type; naming table and column.
    """
    if value is None:
        return None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    try:
        return _convert(kind, value)
    except (ValueError, TypeError, InvalidOperation) as exc:
        where = f"{column.table.name}.{column.name}"
        raise FatalSyncError(f"{where}: {value!r} is not a {kind.__name__}") from exc


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in {"true", "false"}:
        return value == "true"
    raise ValueError(value)


def _integer(value: object) -> int:
    number = Decimal(str(value))
    if number != number.to_integral_value():
        raise ValueError(value)
    return int(number)


#: How a JSON value becomes a column's Python type; other types take the value as it is.
_CONVERTERS: dict[type, Callable[[object], object]] = {
    Decimal: lambda value: Decimal(str(value)),
    int: _integer,
    datetime: lambda value: datetime.fromisoformat(str(value)),
    date: lambda value: date.fromisoformat(str(value)),
    str: str,
}


def _convert(kind: type, value: object) -> object:
    if kind is bool:
        return _boolean(value)
    if isinstance(value, bool):
        raise TypeError(value)  # a JSON true is no number, date or text
    converter = _CONVERTERS.get(kind)
    return value if converter is None else converter(value)


def _receipt(parent: Any) -> str | None:
    return None if parent is None else str(parent)
