"""P5 many small files: fetch N x 3 KB files from OpenSSH's sftp-server.

Both sides run against the same ``sshd`` (Debian's openssh-server, started on
127.0.0.1 by :class:`koppel.sandbox.openssh.OpenSSHServer`; each SSH session
gets its own sftp-server process, as on a partner's server) and each figure
covers a whole fetch: log in, list the folder, read every file into memory.

- floor: asyncssh (the client the SFTP provider's async hook uses), one
  connection, 16 concurrent ``open`` + ``read`` of every listed file.
- Koppel: what a flow does: ``open_file_session("sftp", conn_id)`` through
  Airflow's ``SFTPHook`` with the connection from ``AIRFLOW_CONN_...`` (host
  key pinned, key login), ``list_files``, then ``read_many`` over the listing
  with the per-file size limit a flow uses.

Also printed: the sequential ``read_bytes`` rate (one request chain per file,
how flows read before ``read_many``) on a subset, as ``extra``.

Run: ``python -m bench.p5_small_files`` (N = 2,000 by default and under
``BENCH_FULL=1``; the whole bench takes well under a minute).
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import tempfile
import time
from pathlib import Path

import asyncssh

from bench.common import BenchResult, emit, full_size, median_seconds
from koppel.hooks.file_sessions import open_file_session
from koppel.sandbox.openssh import OpenSSHServer

FILES = 2000
FILE_BYTES = 3 * 1024
CONCURRENCY = 16
#: The size limit flows apply per file (``max_file_bytes``' default, 10 MiB).
MAX_BYTES = 10 * 1024 * 1024
#: Files read one by one for the sequential figure: enough for a stable rate.
SEQUENTIAL_FILES = 500
CONN_ID = "koppel_bench_openssh"


def write_files(folder: Path, count: int) -> None:
    """``count`` distinct 3 KB XML-ish files."""
    folder.mkdir(parents=True, exist_ok=True)
    filler = b"x" * FILE_BYTES
    for number in range(count):
        head = f"<order n='{number}'>".encode()
        (folder / f"order-{number:05d}.xml").write_bytes(
            head + filler[: FILE_BYTES - len(head) - 8] + b"</order>"
        )


def floor_fetch(server: OpenSSHServer, folder: str) -> int:
    """asyncssh: one connection, 16 concurrent gets of every regular file in ``folder``.

    ``read()`` without a size asks for the file's size first (FSTAT); passing
    the listed size instead measured slower here (458 vs 719 files/s), so the
    floor uses asyncssh's default.
    """

    async def fetch() -> int:
        key = asyncssh.import_private_key(server.client_private_key)
        async with (
            asyncssh.connect(
                server.host,
                server.port,
                username=server.username,
                client_keys=[key],
                known_hosts=None,
            ) as connection,
            connection.start_sftp_client() as sftp,
        ):
            entries = await sftp.readdir(folder)
            paths = [
                f"{folder}/{os.fsdecode(entry.filename)}"
                for entry in entries
                if entry.attrs.permissions is not None and stat.S_ISREG(entry.attrs.permissions)
            ]
            gate = asyncio.Semaphore(CONCURRENCY)

            async def get(path: str) -> bytes:
                async with gate, sftp.open(path, "rb") as handle:
                    data: bytes = await handle.read()
                    return data

            contents = await asyncio.gather(*(get(path) for path in paths))
        return sum(len(data) for data in contents)

    return asyncio.run(fetch())


def koppel_fetch(folder: str) -> int:
    """Koppel as a flow reads: hook-opened session, listing, ``read_many``."""
    total = 0
    with open_file_session("sftp", CONN_ID) as session:
        listed = session.list_files(folder)
        for _, data in session.read_many(listed, max_bytes=MAX_BYTES):
            if not isinstance(data, bytes):
                raise data
            total += len(data)
    return total


def koppel_sequential(folder: str, count: int) -> float:
    """Files/s of the sequential ``read_bytes`` path over the first ``count`` files."""
    with open_file_session("sftp", CONN_ID) as session:
        listed = session.list_files(folder)[:count]
        start = time.perf_counter()
        for remote in listed:
            session.read_bytes(remote.path, max_bytes=MAX_BYTES)
        return len(listed) / (time.perf_counter() - start)


def main() -> None:
    # Both clients log each login and channel at INFO; neither side pays for that here.
    for client in ("paramiko", "asyncssh"):
        logging.getLogger(client).setLevel(logging.WARNING)
    count = FILES
    with tempfile.TemporaryDirectory(prefix="koppel-p5-") as scratch:
        root = Path(scratch) / "sftp"
        write_files(root / "in", count)
        with OpenSSHServer(root, conn_id=CONN_ID) as server:
            os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = server.airflow_connection_uri()
            folder = server.remote_path("in")
            expected = count * FILE_BYTES
            for fetched in (floor_fetch(server, folder), koppel_fetch(folder)):  # warm up
                if fetched != expected:
                    raise AssertionError(f"fetched {fetched} bytes, expected {expected}")
            floor_rate = count / median_seconds(lambda: floor_fetch(server, folder))
            koppel_rate = count / median_seconds(lambda: koppel_fetch(folder))
            sequential_rate = koppel_sequential(folder, min(SEQUENTIAL_FILES, count))
    print(
        f"P5 sequential read_bytes (before read_many): {sequential_rate:.0f} files/s; "
        f"read_many {koppel_rate:.0f} files/s; asyncssh {floor_rate:.0f} files/s",
        flush=True,
    )
    emit(
        BenchResult(
            name="P5",
            koppel=round(koppel_rate, 1),
            floor=round(floor_rate, 1),
            unit="files/s",
            goal=0.8,
            size=(
                f"{count} x 3 KB files, OpenSSH sftp-server on 127.0.0.1, "
                f"{CONCURRENCY} in flight, login + listing + reads"
                + ("" if full_size() else " (same size as BENCH_FULL=1)")
            ),
            higher_is_better=True,
            extra={
                "sequential_read_bytes_files_per_s": round(sequential_rate, 1),
                "sequential_files": min(SEQUENTIAL_FILES, count),
            },
        )
    )


if __name__ == "__main__":
    main()
