"""Local stand-ins for partner systems, used by ``make demo`` and the tests.

Nothing here imports pytest or Airflow: the servers are plain threads that a
demo script can start as easily as a fixture.
"""

from __future__ import annotations

from koppel.sandbox.ftp_server import FTPServer
from koppel.sandbox.sftp_server import SFTPServer

__all__ = ["FTPServer", "SFTPServer"]
