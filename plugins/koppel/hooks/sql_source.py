"""Rows of a database table as inbound messages: an SQL endpoint as a flow's source.

A source endpoint names a header ``table`` with a ``watermark_column`` (when
the row last changed) and, optionally, child tables. Each run reads the rows
whose watermark lies in the run's window, oldest first, ``page_size`` rows per
query, and turns each into one JSON message shaped exactly like what an SQL
target takes (:class:`koppel.hooks.sql.SqlDestination`): the row's columns at
the top level, each child table's rows under its payload key. The message's
name carries the row's key and watermark, so the same version of a row is
stored once, and a row changed again is a new message.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, MetaData, Table, select, tuple_
from sqlalchemy.exc import InterfaceError, OperationalError

from koppel.config import SqlEndpoint
from koppel.errors import ConfigError, TransportError
from koppel.hooks.sql import reflect_table
from koppel.pipeline.api_receive import Received


class SqlSource:
    """The changed rows of an endpoint's table, read page by page.

    Args:
        engine: the source database.
        endpoint: the source endpoint; it needs a ``watermark_column``.
    """

    def __init__(self, engine: Engine, endpoint: SqlEndpoint) -> None:
        """Read ``endpoint``'s tables through ``engine``; nothing is read until asked."""
        if endpoint.watermark_column is None:
            raise ConfigError(f"SQL source {endpoint.table} needs a watermark_column")
        self._engine = engine
        self._endpoint = endpoint

    def changed(self, since: datetime, until: datetime) -> Iterator[Received]:
        """One message per row whose watermark is after ``since`` and not after ``until``.

        Pages follow the order (watermark, key columns) and each next page
        starts after the last row of the one before (keyset paging), so a row
        changing while the run reads can neither be read twice nor make
        another be skipped. Each page is read in its own short transaction
        and the connection is given back before its messages are stored.

        Raises:
            TransportError: the database cannot be reached (the run is retried).
        """
        try:
            header, children = self._reflect()
            after: tuple[Any, ...] | None = None
            while True:
                rows, child_rows = self._page(header, children, since, until, after)
                yield from (self._message(header, row, child_rows) for row in rows)
                if len(rows) < self._endpoint.page_size:
                    return
                after = self._position(header, rows[-1])
        except (OperationalError, InterfaceError) as exc:
            raise TransportError(f"database of {self._endpoint.conn_id}: {exc.orig}") from exc

    def _reflect(self) -> tuple[Table, dict[str, Table]]:
        metadata = MetaData()
        with self._engine.connect() as conn:
            header = reflect_table(metadata, self._endpoint.table, conn)
            children = {
                key: reflect_table(metadata, name, conn)
                for key, name in self._endpoint.children.items()
            }
        return header, children

    def _order(self, header: Table) -> list[Any]:
        names = [self._endpoint.watermark_column, *self._endpoint.identified_by]
        return [header.c[name] for name in names if name is not None]

    def _position(self, header: Table, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[column.name] for column in self._order(header))

    def _page(
        self,
        header: Table,
        children: dict[str, Table],
        since: datetime,
        until: datetime,
        after: tuple[Any, ...] | None,
    ) -> tuple[list[dict[str, Any]], dict[str, dict[Any, list[dict[str, Any]]]]]:
        """One page of header rows, and their child rows by payload key and parent."""
        endpoint = self._endpoint
        order = self._order(header)
        watermark = order[0]
        query = select(header).where(watermark > since, watermark <= until)
        if after is not None:
            query = query.where(tuple_(*order) > tuple_(*after))
        query = query.order_by(*order).limit(endpoint.page_size)
        with self._engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(query).mappings()]
            child_rows: dict[str, dict[Any, list[dict[str, Any]]]] = {}
            if rows and endpoint.returning and endpoint.parent_column:
                parents = [row[endpoint.returning] for row in rows]
                for key, table in children.items():
                    child_rows[key] = _by_parent(
                        conn.execute(
                            select(table)
                            .where(table.c[endpoint.parent_column].in_(parents))
                            .order_by(*table.primary_key.columns)
                        ).mappings(),
                        endpoint.parent_column,
                    )
        return rows, child_rows

    def _message(
        self,
        header: Table,
        row: dict[str, Any],
        child_rows: dict[str, dict[Any, list[dict[str, Any]]]],
    ) -> Received:
        endpoint = self._endpoint
        body: dict[str, Any] = {column.name: _json_value(row[column.name]) for column in header.c}
        parent = row[endpoint.returning] if endpoint.returning else None
        for key, by_parent in child_rows.items():
            body[key] = [
                {name: _json_value(value) for name, value in child.items()}
                for child in by_parent.get(parent, [])
            ]
        key = ",".join(str(row[name]) for name in endpoint.identified_by)
        watermark = _json_value(row[endpoint.watermark_column or ""])
        payload = json.dumps(body, ensure_ascii=False, indent=2).encode()
        return Received(f"{endpoint.table}/{key}@{watermark}", payload)


def _by_parent(rows: Any, parent_column: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[parent_column]].append(dict(row))
    return grouped


def _json_value(value: object) -> object:
    """A column value as JSON: decimals as strings (never floats), dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
