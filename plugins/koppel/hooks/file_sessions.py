"""Open one file session per task from an Airflow SFTP or FTP connection.

The providers' hooks own credentials and host-key checking; this module asks
them for exactly one logged-in client per session (``SFTPHook`` would open a
new SSH connection per method call otherwise) and maps every way the login
can fail to a Koppel error that names the connection, never its password.
Provider modules are imported when a session opens, not at import time, so
DAG files that import operators stay cheap to parse.
"""

from __future__ import annotations

import ftplib
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Literal

from koppel.errors import ConfigError, TransportError
from koppel.files.session import FileSession

Transport = Literal["sftp", "ftp"]

#: One SSH attempt per session: a failed task is retried by Airflow, and
#: repeating a wrong password three times (the SSH hook's default) only
#: costs time and can lock the partner's account.
_SSH_CONNECT_ATTEMPTS = 1
#: The SSH hook compresses by default; Koppel's sessions do not unless the
#: connection's extra says ``"compress": true`` (an explicit ``compress`` is
#: honoured either way). zlib on the channel costs CPU on both ends for every
#: byte, a few percent of a 1,000-file flow, and many small XML files gain
#: little from it on the links partners' servers sit behind.
_SSH_COMPRESS_BY_DEFAULT = False


def open_file_session(transport: Transport, conn_id: str) -> AbstractContextManager[FileSession]:
    """Open a session on the Airflow connection ``conn_id``; close it on exit.

    Args:
        transport: ``"sftp"`` or ``"ftp"``.
        conn_id: The Airflow connection id (e.g. from ``AIRFLOW_CONN_<ID>``).

    Raises:
        ConfigError: unknown transport, or the connection is missing or invalid.
        TransportError: the server cannot be reached or refuses the login.
    """
    if transport == "sftp":
        return _sftp_session(conn_id)
    if transport == "ftp":
        return _ftp_session(conn_id)
    raise ConfigError(f"unknown file transport {transport!r}; expected 'sftp' or 'ftp'")


@contextmanager
def _sftp_session(conn_id: str) -> Iterator[FileSession]:
    import paramiko
    from airflow.providers.sftp.hooks.sftp import SFTPHook
    from airflow.sdk.exceptions import AirflowException

    from koppel.files.sftp import SFTPFileSession

    label = f"sftp connection {conn_id!r}"
    try:
        hook = SFTPHook(ssh_conn_id=conn_id, conn_retry_attempts=_SSH_CONNECT_ATTEMPTS)
    except (AirflowException, ValueError) as exc:
        raise ConfigError(f"{label} is missing or invalid: {exc}") from exc
    if "compress" not in (hook.get_connection(conn_id).extra_dejson or {}):
        hook.compress = _SSH_COMPRESS_BY_DEFAULT
    with ExitStack() as stack:
        try:
            client = stack.enter_context(hook.get_managed_conn())
        except (OSError, EOFError, paramiko.SSHException, AirflowException) as exc:
            raise TransportError(f"{label}: cannot log in to {hook.remote_host}: {exc}") from exc
        yield SFTPFileSession(client, label)


@contextmanager
def _ftp_session(conn_id: str) -> Iterator[FileSession]:
    from airflow.providers.ftp.hooks.ftp import FTPHook
    from airflow.sdk.exceptions import AirflowException

    from koppel.files.ftp import FTPFileSession

    label = f"ftp connection {conn_id!r}"
    hook = FTPHook(ftp_conn_id=conn_id)
    try:
        ftp = hook.get_conn()
    except AirflowException as exc:
        raise ConfigError(f"{label} is missing or invalid: {exc}") from exc
    except ftplib.all_errors as exc:
        _drop(hook.conn)
        raise TransportError(f"{label}: cannot log in: {exc}") from exc
    if ftp.sock is None:
        raise ConfigError(f"{label} has no host")
    try:
        yield FTPFileSession(ftp, label)
    finally:
        _quit(ftp)


def _quit(ftp: ftplib.FTP) -> None:
    """Say goodbye politely, but never let a dead link hide the session's own error."""
    try:
        ftp.quit()
    except ftplib.all_errors:
        ftp.close()


def _drop(ftp: ftplib.FTP | None) -> None:
    """Close the socket of a half-opened FTP connection (the hook leaves it open)."""
    if ftp is not None:
        ftp.close()
