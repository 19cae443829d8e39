"""File exchange with partners: sessions, atomic delivery and complete-file pickup.

Protocol adapters live in :mod:`koppel.files.sftp` and :mod:`koppel.files.ftp`
and are not imported here, so using the pickup logic costs no SSH import.
"""

from __future__ import annotations

from koppel.files.base import BaseFileSession, is_temp_name, temp_name
from koppel.files.pickup import done_marker_path, find_complete
from koppel.files.session import (
    MAX_IN_FLIGHT,
    FileSession,
    FileTooLargeError,
    FolderNotFoundError,
    RemoteFile,
    TargetExistsError,
)

__all__ = [
    "MAX_IN_FLIGHT",
    "BaseFileSession",
    "FileSession",
    "FileTooLargeError",
    "FolderNotFoundError",
    "RemoteFile",
    "TargetExistsError",
    "done_marker_path",
    "find_complete",
    "is_temp_name",
    "temp_name",
]
