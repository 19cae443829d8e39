"""Where a flow reads or writes files: a folder on an FTP/SFTP server.

An endpoint names its Airflow connection (``conn_id``), never the host or the
password. Folders are absolute POSIX paths on the server; the archive and
error folders default to sub-folders of the inbound folder, so a partner's
``/acme/itsperfect/orders`` gets ``/acme/itsperfect/orders/archive`` and
``.../error`` without a line of YAML.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from koppel.config.base import ConfigModel
from koppel.config.placeholders import DELIVERY_TIME_NAMES, template_names
from koppel.errors import FatalSyncError

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


class Endpoint(ConfigModel):
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
    conn_id: str
    folder: str
    format: str
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

    @field_validator("conn_id")
    @classmethod
    def _conn_id(cls, value: str) -> str:
        if not _CONN_ID.match(value):
            raise ValueError(f"conn_id {value!r} is not a valid Airflow connection id")
        return value

    @field_validator("format")
    @classmethod
    def _format_name(cls, value: str) -> str:
        if not _FORMAT_NAME.match(value):
            raise ValueError(f"format {value!r} must be a dotted lower-case name like monta.order")
        return value

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
