"""Where a flow reads or writes: a folder on an FTP/SFTP server, or an API operation.

An endpoint names its Airflow connection (``conn_id``), never the host or the
password. Folders are absolute POSIX paths on the server; the archive and
error folders default to sub-folders of the inbound folder, so a partner's
``/acme/itsperfect/orders`` gets ``/acme/itsperfect/orders/archive`` and
``.../error`` without a line of YAML. An API endpoint names a SOAP operation
or an HTTP resource instead, and an SQL endpoint a database's tables; which
kind an endpoint is follows from its ``transport``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AfterValidator, Field, field_validator, model_validator

from koppel.config.base import ConfigModel
from koppel.config.placeholders import DELIVERY_TIME_NAMES, template_names
from koppel.errors import ConfigError, FatalSyncError

_FORMAT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


def check_folder(value: str) -> str:
    """An absolute POSIX folder without ``.``/``..`` segments, trailing slash removed."""
    path = PurePosixPath(value)
    if not path.is_absolute():
        raise ValueError(f"folder {value!r} must be an absolute path such as /acme/orders")
    if any(part in {".", ".."} for part in value.split("/")) or "//" in value:
        raise ValueError(f"folder {value!r} must not contain '.', '..' or empty segments")
    return value.rstrip("/") or "/"


def check_conn_id(value: str) -> str:
    """An Airflow connection id: letters, digits, ``_``, ``.``, ``-``."""
    if not _CONN_ID.match(value):
        raise ValueError(f"conn_id {value!r} is not a valid Airflow connection id")
    return value


def check_format_name(value: str) -> str:
    """A wire-format name such as ``monta.order``."""
    if not _FORMAT_NAME.match(value):
        raise ValueError(f"format {value!r} must be a dotted lower-case name like monta.order")
    return value


#: An Airflow connection id, checked where it is written.
ConnId = Annotated[str, AfterValidator(check_conn_id)]
#: A wire-format name, checked where it is written.
FormatName = Annotated[str, AfterValidator(check_format_name)]


class FileEndpoint(ConfigModel):
    """One side of a file flow: transport, folder, wire format and file handling.

    Attributes:
        transport: ``sftp`` or ``ftp``.
        conn_id: the Airflow connection holding host, user and password.
        folder: absolute folder on the server (inbound: read; outbound: written).
        format: wire-format name, e.g. ``itsperfect.order``.
        pattern: glob of the files to pick up.
        archive_folder: processed inbound files go here (default ``<folder>/archive``).
        error_folder: failed inbound files go here (default ``<folder>/error``).
        done_suffix: when set, a file counts as complete once ``<name><suffix>`` exists
            (source), or that marker is written after each delivered file (target).
        stable_seconds: without a done marker, a file counts as complete once its
            size is unchanged over this interval.
        filename: outbound file name template; may use ``{document_key}``,
            ``{message_id}`` and ``{flow}`` (``{prefix}`` and
            ``{connection_id}`` are filled in at load time).
    """

    transport: Literal["sftp", "ftp"]
    conn_id: ConnId
    folder: str
    format: FormatName
    pattern: str = Field(default="*.xml", min_length=1)
    archive_folder: str = Field(default="", validate_default=False)
    error_folder: str = Field(default="", validate_default=False)
    done_suffix: str | None = None
    stable_seconds: float = Field(default=2.0, ge=0)
    filename: str = "{document_key}.xml"

    @model_validator(mode="before")
    @classmethod
    def _default_side_folders(cls, data: Any) -> Any:
        """Derive archive and error folders from ``folder`` when they are not given."""
        folder = data.get("folder") if isinstance(data, dict) else None
        if not isinstance(folder, str):
            return data
        try:
            base = check_folder(folder).rstrip("/")
        except ValueError:
            return data  # the folder itself is reported; derived folders would only echo it
        return {
            **data,
            "archive_folder": data.get("archive_folder") or f"{base}/archive",
            "error_folder": data.get("error_folder") or f"{base}/error",
        }

    @field_validator("folder", "archive_folder", "error_folder")
    @classmethod
    def _absolute_folder(cls, value: str) -> str:
        return check_folder(value)

    @field_validator("done_suffix")
    @classmethod
    def _done_suffix(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value):
            raise ValueError("done_suffix must be a non-empty file suffix such as .done")
        return value

    @field_validator("filename")
    @classmethod
    def _filename(cls, value: str) -> str:
        if "/" in value or not value.strip():
            raise ValueError("filename must be a plain file name, without folders")
        names = template_names(value)
        unknown = sorted(set(names) - DELIVERY_TIME_NAMES)
        if unknown:
            allowed = ", ".join(sorted(DELIVERY_TIME_NAMES))
            raise ValueError(f"filename uses unknown placeholder(s) {unknown}; allowed: {allowed}")
        return value

    def render_filename(self, *, document_key: str, message_id: str, flow: str) -> str:
        """The outbound file name for one document.

        Raises:
            FatalSyncError: when the values would produce a path rather than a name
                (a document key containing ``/`` must never escape the folder).
        """
        name = self.filename.format(document_key=document_key, message_id=message_id, flow=flow)
        if "/" in name or "\x00" in name or name in {"", ".", ".."}:
            raise FatalSyncError(f"file name {name!r} rendered from {self.filename!r} is unsafe")
        return name


_RESOURCE_PARAM = re.compile(r":([a-z_][a-z0-9_]*)")


class ApiEndpoint(ConfigModel):
    """One side of an API flow: a SOAP operation or an HTTP resource, and its wire format.

    Attributes:
        transport: ``soap`` (through the SOAP hook of ``conn_id``) or ``http``.
        conn_id: the Airflow connection holding the endpoint URL and credentials.
        operation: the SOAP operation (``ListProducts``, ``CreateOrder``) or the
            HTTP resource path. A target path names record fields with a colon,
            filled from each document: ``/api/v1/products/:sku``.
        format: wire-format name of what is read or written, e.g. ``ipsoft.products``.
        page_size: records per page when listing.
        params: fixed query parameters of a listing (``status: confirmed``).
    """

    transport: Literal["soap", "http"]
    conn_id: ConnId
    operation: str = Field(min_length=1)
    format: FormatName
    page_size: int = Field(default=200, gt=0, le=1000)
    params: dict[str, str] = Field(default_factory=dict)

    def resource_params(self) -> list[str]:
        """The record fields an HTTP resource path is filled from (``:sku`` -> ``sku``)."""
        return _RESOURCE_PARAM.findall(self.operation)

    def render_resource(self, record: dict[str, Any]) -> str:
        """The resource path for one record; a missing or unsafe value is a fatal sync error."""

        def value(match: re.Match[str]) -> str:
            field = match.group(1)
            text = str(record.get(field) or "")
            if not text or text in {".", ".."}:
                raise FatalSyncError(f"cannot fill :{field} of {self.operation} with {text!r}")
            return quote(text, safe="")

        return _RESOURCE_PARAM.sub(value, self.operation)


_SQL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def check_sql_name(value: str) -> str:
    """A table or column name: letters, digits and ``_`` (a table may carry a schema)."""
    if not _SQL_NAME.match(value):
        raise ValueError(f"{value!r} is not a plain SQL table or column name")
    return value


#: A table or column name, checked where it is written (never quoted partner text).
SqlName = Annotated[str, AfterValidator(check_sql_name)]


class SqlEndpoint(ConfigModel):
    """One side of a flow that reads or writes a database's tables (an ERP's import tables).

    The database is reached through the Airflow connection ``conn_id``
    (PostgreSQL, SQLite, or any database SQLAlchemy knows), never a URL in
    YAML. A document is one row of ``table`` plus rows of child tables.

    Attributes:
        transport: ``sql``.
        conn_id: the Airflow connection of the database.
        format: the JSON wire format of one document: its top-level scalar
            fields are columns of ``table``; each key named in ``children``
            holds a list of rows of that child table.
        table: the document's (header) table.
        identified_by: the columns identifying a document (its key in the
            table); a target refuses a second document with the same values
            unless ``update_if`` allows updating it. (Not called ``key``: a
            connection file refuses secret-looking names such as ``key``.)
        children: payload key -> child table, e.g. ``{lines: sales_order_lines}``.
        parent_column: the child tables' column that refers to the header row
            (filled with the header's ``returning`` column).
        returning: the column the database fills in for a new row (the ERP's
            order number); it is the delivery's receipt.
        update_if: column values an existing row must still have to be
            replaced by a later document with its key (``{confirmed: false}``:
            an unconfirmed order may be updated); empty means never.
        import_column: the header column where a target records which
            delivery wrote the row (a fingerprint of target and payload), so
            a retry after a crash finds its own row and writes nothing again.
        position_column: the child tables' column a target numbers 1, 2, ...
            in payload order (the ERP's line number).
        watermark_column: as a source, the column that says when a row
            changed; rows newer than the last run's are read. A target sets
            it to the time of each insert or update.
        page_size: rows per query when reading.
    """

    transport: Literal["sql"]
    conn_id: ConnId
    format: FormatName
    table: SqlName
    identified_by: list[SqlName] = Field(min_length=1)
    children: dict[str, SqlName] = Field(default_factory=dict)
    parent_column: SqlName | None = None
    returning: SqlName | None = None
    update_if: dict[SqlName, str | int | bool | None] = Field(default_factory=dict)
    import_column: SqlName | None = None
    position_column: SqlName | None = None
    watermark_column: SqlName | None = None
    page_size: int = Field(default=500, gt=0, le=10_000)

    @model_validator(mode="after")
    def _children_need_parent(self) -> SqlEndpoint:
        if self.children and (self.parent_column is None or self.returning is None):
            raise ValueError("children need parent_column and returning (the header's id)")
        return self


#: Any endpoint; ``transport`` says which kind.
Endpoint = Annotated[FileEndpoint | ApiEndpoint | SqlEndpoint, Field(discriminator="transport")]


def sql_endpoint(
    endpoint: FileEndpoint | ApiEndpoint | SqlEndpoint | None, role: str
) -> SqlEndpoint:
    """The endpoint as an SQL endpoint, for code that reads or writes database tables."""
    if not isinstance(endpoint, SqlEndpoint):
        kind = "no" if endpoint is None else f"a {endpoint.transport}"
        raise ConfigError(f"this flow needs an SQL {role} endpoint, it has {kind} one")
    return endpoint


def file_endpoint(
    endpoint: FileEndpoint | ApiEndpoint | SqlEndpoint | None, role: str
) -> FileEndpoint:
    """The endpoint as a file endpoint, for code that moves files; else a config error."""
    if not isinstance(endpoint, FileEndpoint):
        kind = "no" if endpoint is None else f"a {endpoint.transport}"
        raise ConfigError(
            f"this flow needs a file {role} endpoint (sftp or ftp), it has {kind} one"
        )
    return endpoint


def api_endpoint(
    endpoint: FileEndpoint | ApiEndpoint | SqlEndpoint | None, role: str
) -> ApiEndpoint:
    """The endpoint as an API endpoint, for code that calls SOAP or HTTP services."""
    if not isinstance(endpoint, ApiEndpoint):
        kind = "no" if endpoint is None else f"a {endpoint.transport}"
        raise ConfigError(
            f"this flow needs an API {role} endpoint (soap or http), it has {kind} one"
        )
    return endpoint
