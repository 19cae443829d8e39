"""FTP primitives over one logged-in ``ftplib.FTP`` connection.

Sizes and modification times come from MLSD/MLST (RFC 3659) when the server
announces them, because one listing then gives every file's size and mtime;
older servers fall back to NLST plus SIZE/MDTM per file.
"""

from __future__ import annotations

import ftplib
import io
import posixpath
from collections.abc import Iterator
from datetime import UTC, datetime

from koppel.files.base import BaseFileSession
from koppel.files.session import RemoteFile

_DIRECTORY_TYPES = frozenset({"dir", "cdir"})


#: Most bytes one socket read takes when streaming a file.
STREAM_PIECE_BYTES = 1024 * 1024


class FTPFileSession(BaseFileSession):
    """A file session over an already logged-in ``ftplib.FTP`` connection."""

    transport_errors = ftplib.all_errors

    def __init__(self, ftp: ftplib.FTP, label: str, timeout: float = 60.0) -> None:
        """Wrap ``ftp``; the caller keeps ownership and closes it.

        Relative paths are resolved against the login directory once, so the
        CWD probes of old servers cannot change what a path means.

        Args:
            ftp: A connected, logged-in client.
            label: How errors name this connection (no secrets).
            timeout: Seconds before a stalled control or data socket fails.
        """
        super().__init__(label)
        self._ftp = ftp
        ftp.timeout = timeout
        if ftp.sock is not None:
            ftp.sock.settimeout(timeout)
        with self._guard("open", "/"):
            self._home = ftp.pwd()
            self._mlst = _supports_mlst(ftp)

    def _abs(self, path: str) -> str:
        return posixpath.join(self._home, path)

    def _list(self, folder: str) -> list[RemoteFile] | None:
        if not self._mlst:
            return self._list_without_mlsd(folder)
        try:
            entries = list(self._ftp.mlsd(self._abs(folder)))
        except ftplib.error_perm:
            # Servers disagree on the reply code for a missing folder (550, 501).
            if not self._is_dir(folder):
                return None
            raise
        return [
            _remote_file(posixpath.join(folder, name), facts)
            for name, facts in entries
            if facts.get("type", "").lower() == "file"
        ]

    def _list_without_mlsd(self, folder: str) -> list[RemoteFile] | None:
        if not self._is_dir(folder):
            return None
        names = [posixpath.basename(entry) for entry in self._ftp.nlst(self._abs(folder))]
        found = [self._stat(posixpath.join(folder, name)) for name in names]
        return [remote for remote in found if remote is not None]

    def _stat(self, path: str) -> RemoteFile | None:
        if self._mlst:
            facts = self._mlst_facts(path)
            if facts is None or facts.get("type", "").lower() != "file":
                return None
            return _remote_file(path, facts)
        # Listings switch to ASCII mode, where many servers refuse SIZE.
        self._ftp.voidcmd("TYPE I")
        try:
            size = self._ftp.size(self._abs(path))
        except ftplib.error_perm:
            return None
        return RemoteFile(
            name=posixpath.basename(path),
            path=path,
            size=int(size or 0),
            mtime=self._mdtm(path),
        )

    def _mlst_facts(self, path: str) -> dict[str, str] | None:
        try:
            response = self._ftp.sendcmd(f"MLST {self._abs(path)}")
        except ftplib.error_perm:
            # A path we may not see is as absent for us as a missing one.
            return None
        fact_lines = [line for line in response.splitlines() if line.startswith(" ")]
        if not fact_lines:
            return None
        facts_text = fact_lines[0].strip().partition(" ")[0]
        return _parse_facts(facts_text)

    def _mdtm(self, path: str) -> float | None:
        try:
            response = self._ftp.sendcmd(f"MDTM {self._abs(path)}")
        except ftplib.error_perm:
            return None
        return _parse_time(response.partition(" ")[2])

    def _is_dir(self, path: str) -> bool:
        if self._mlst:
            facts = self._mlst_facts(path)
            return facts is not None and facts.get("type", "").lower() in _DIRECTORY_TYPES
        try:
            self._ftp.cwd(self._abs(path))
        except ftplib.error_perm:
            return False
        return True

    def _mkdir(self, path: str) -> None:
        self._ftp.mkd(self._abs(path))

    def _download(self, path: str) -> bytes:
        chunks: list[bytes] = []
        self._ftp.retrbinary(f"RETR {self._abs(path)}", chunks.append)
        return b"".join(chunks)

    def _download_chunks(self, path: str) -> Iterator[bytes]:
        """Read the data connection as it comes, instead of collecting the whole file."""
        self._ftp.voidcmd("TYPE I")
        with self._ftp.transfercmd(f"RETR {self._abs(path)}") as sock:
            while data := sock.recv(STREAM_PIECE_BYTES):
                yield data
        self._ftp.voidresp()

    def _upload(self, path: str, data: bytes) -> None:
        self._ftp.storbinary(f"STOR {self._abs(path)}", io.BytesIO(data))

    def _rename(self, source: str, target: str) -> None:
        self._ftp.rename(self._abs(source), self._abs(target))

    def _remove(self, path: str) -> None:
        self._ftp.delete(self._abs(path))


def _supports_mlst(ftp: ftplib.FTP) -> bool:
    """Tell from FEAT whether the server speaks MLST/MLSD."""
    try:
        features = ftp.sendcmd("FEAT")
    except ftplib.error_perm:
        return False
    return any(line.strip().upper().startswith("MLST") for line in features.splitlines()[1:])


def _parse_facts(text: str) -> dict[str, str]:
    """Parse ``type=file;size=3;modify=20240101120000;`` into a lower-case dict."""
    facts: dict[str, str] = {}
    for item in filter(None, text.split(";")):
        key, _, value = item.partition("=")
        facts[key.lower()] = value
    return facts


def _parse_time(value: str | None) -> float | None:
    """Parse an RFC 3659 time (``YYYYMMDDHHMMSS[.sss]``, UTC) to epoch seconds."""
    if not value:
        return None
    whole, _, fraction = value.strip().partition(".")
    try:
        moment = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.timestamp() + (float(f"0.{fraction}") if fraction.isdigit() else 0.0)


def _remote_file(path: str, facts: dict[str, str]) -> RemoteFile:
    size = facts.get("size", "0")
    return RemoteFile(
        name=posixpath.basename(path),
        path=path,
        size=int(size) if size.isdigit() else 0,
        mtime=_parse_time(facts.get("modify")),
    )
