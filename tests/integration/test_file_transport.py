"""File exchange through ``open_file_session`` against real SFTP and FTP servers.

Every test runs against an asyncssh SFTP server (host key pinned in the
connection), a pyftpdlib FTP server with MLSD, and one without MLSD (the
NLST/SIZE/MDTM path). Connections resolve through Airflow's normal lookup of
``AIRFLOW_CONN_<ID>``; assertions look at the server's folder on disk.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlencode

import asyncssh
import pytest

from koppel.errors import ConfigError, TransportError
from koppel.files import (
    FileSession,
    FileTooLargeError,
    FolderNotFoundError,
    TargetExistsError,
    done_marker_path,
    find_complete,
)
from koppel.files.sftp import SFTPFileSession
from koppel.hooks.file_sessions import open_file_session
from koppel.sandbox import FTPServer, SFTPServer

pytestmark = pytest.mark.integration

INBOX = "/acme/itsperfect/orders"


@dataclass
class Remote:
    """One running server plus how to reach it through Airflow."""

    transport: Literal["sftp", "ftp"]
    server: SFTPServer | FTPServer

    def session(self) -> AbstractContextManager[FileSession]:
        return open_file_session(self.transport, self.server.conn_id)

    def local(self, path: str) -> Path:
        return self.server.root / path.lstrip("/")

    def put(self, path: str, data: bytes) -> Path:
        target = self.local(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def env_name(self) -> str:
        return f"AIRFLOW_CONN_{self.server.conn_id.upper()}"


_FIXTURES = {"sftp": "sftp_server", "ftp": "ftp_server", "ftp-no-mlsd": "legacy_ftp_server"}


@pytest.fixture(params=list(_FIXTURES))
def remote(request: pytest.FixtureRequest) -> Remote:
    server = request.getfixturevalue(_FIXTURES[request.param])
    return Remote("sftp" if request.param == "sftp" else "ftp", server)


@pytest.fixture
def session(remote: Remote) -> Iterator[FileSession]:
    with remote.session() as opened:
        yield opened


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# -- listing and pickup -------------------------------------------------------


def test_lists_regular_files_and_picks_by_pattern(remote: Remote, session: FileSession) -> None:
    for name in ["b.xml", "a.xml", "notes.csv", ".a.xml.part"]:
        remote.put(f"{INBOX}/{name}", b"<order/>")
    remote.local(f"{INBOX}/archive").mkdir()

    listed = session.list_files(INBOX)
    picked = find_complete(session, INBOX, "*.xml", done_suffix=None, stable_seconds=0)

    assert [f.name for f in listed] == [".a.xml.part", "a.xml", "b.xml", "notes.csv"]
    assert [f.path for f in picked] == [f"{INBOX}/a.xml", f"{INBOX}/b.xml"]
    assert all(f.size == 8 and f.mtime is not None for f in picked)


def test_stable_size_pickup_skips_a_file_still_being_written(
    remote: Remote, session: FileSession
) -> None:
    growing = remote.put(f"{INBOX}/growing.xml", b"<order>")
    remote.put(f"{INBOX}/done.xml", b"<order/>")
    partner_wrote = threading.Event()

    def partner_appends() -> None:
        with growing.open("ab") as handle:
            handle.write(b"<line/>")
        partner_wrote.set()

    def wait_while_partner_writes(seconds: float) -> None:
        writer = threading.Thread(target=partner_appends)
        writer.start()
        writer.join()

    picked = find_complete(
        session,
        INBOX,
        "*.xml",
        done_suffix=None,
        stable_seconds=1.0,
        sleep=wait_while_partner_writes,
    )

    assert partner_wrote.is_set()
    assert [f.name for f in picked] == ["done.xml"]
    again = find_complete(session, INBOX, "*.xml", done_suffix=None, stable_seconds=0.01)
    assert [f.name for f in again] == ["done.xml", "growing.xml"]


def test_done_marker_pickup(remote: Remote, session: FileSession) -> None:
    for name in ["a.xml", "a.xml.done", "b.xml"]:
        remote.put(f"{INBOX}/{name}", b"1")

    picked = find_complete(session, INBOX, "*", done_suffix=".done", stable_seconds=0)

    assert [f.name for f in picked] == ["a.xml"]
    session.remove(done_marker_path(picked[0], ".done"))
    assert not remote.local(f"{INBOX}/a.xml.done").exists()
    assert find_complete(session, INBOX, "*", done_suffix=".done", stable_seconds=0) == []


def test_missing_folder_names_the_folder(session: FileSession) -> None:
    with pytest.raises(FolderNotFoundError, match=r"folder '/acme/missing' does not exist"):
        session.list_files("/acme/missing")


# -- reading ------------------------------------------------------------------


def test_read_bytes_with_a_size_limit(remote: Remote, session: FileSession) -> None:
    payload = b"<order>" + b"x" * 1000 + b"</order>"
    remote.put(f"{INBOX}/big.xml", payload)

    assert session.read_bytes(f"{INBOX}/big.xml") == payload
    assert session.read_bytes(f"{INBOX}/big.xml", max_bytes=len(payload)) == payload
    with pytest.raises(FileTooLargeError, match="1015 bytes, more than the 1000 allowed"):
        session.read_bytes(f"{INBOX}/big.xml", max_bytes=1000)
    with pytest.raises(TransportError, match=r"nope\.xml"):
        session.read_bytes(f"{INBOX}/nope.xml")


# -- writing ------------------------------------------------------------------


def test_write_atomic_leaves_only_the_final_file(remote: Remote, session: FileSession) -> None:
    remote.put("/out/.order.xml.part", b"crashed half")

    path = session.write_atomic("/out/acme", "order.xml", b"<order/>")
    leftover_dir_path = session.write_atomic("/out", "order.xml", b"<order id='1'/>")

    assert path == "/out/acme/order.xml"
    assert leftover_dir_path == "/out/order.xml"
    assert remote.local(path).read_bytes() == b"<order/>"
    assert _files_under(remote.local("/out")) == {"acme/order.xml", "order.xml"}
    assert session.exists(path)
    assert not session.exists("/out/acme/other.xml")


def test_write_atomic_is_idempotent_and_never_overwrites(
    remote: Remote, session: FileSession
) -> None:
    path = session.write_atomic("/out", "order.xml", b"<order/>")
    before = remote.local(path).stat()

    assert session.write_atomic("/out", "order.xml", b"<order/>") == path
    with pytest.raises(TargetExistsError, match="already exists with different content"):
        session.write_atomic("/out", "order.xml", b"<order>changed</order>")

    after = remote.local(path).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert remote.local(path).read_bytes() == b"<order/>"
    assert _files_under(remote.local("/out")) == {"order.xml"}


def test_move_to_archive_and_error_renames_on_collision(
    remote: Remote, session: FileSession
) -> None:
    remote.put(f"{INBOX}/a.xml", b"first")
    remote.put(f"{INBOX}/b.xml", b"broken")

    first = session.move(f"{INBOX}/a.xml", "/acme/archive")
    failed = session.move(f"{INBOX}/b.xml", "/acme/error")
    remote.put(f"{INBOX}/a.xml", b"second")
    second = session.move(f"{INBOX}/a.xml", "/acme/archive")

    assert first == "/acme/archive/a.xml"
    assert failed == "/acme/error/b.xml"
    assert re.fullmatch(r"/acme/archive/a\.\d{8}T\d{12}Z\.xml", second)
    assert remote.local(first).read_bytes() == b"first"
    assert remote.local(second).read_bytes() == b"second"
    assert remote.local(failed).read_bytes() == b"broken"
    assert session.list_files(INBOX) == []


def test_one_session_is_one_login_for_fifty_files(remote: Remote) -> None:
    with remote.session() as session:
        for number in range(50):
            session.write_atomic(INBOX, f"order-{number:02}.xml", f"<o n='{number}'/>".encode())
        picked = find_complete(session, INBOX, "order-*.xml", done_suffix=None, stable_seconds=0)
        contents = [session.read_bytes(f.path, max_bytes=100) for f in picked]
        for remote_file in picked:
            session.move(remote_file.path, "/acme/archive")

    assert remote.server.login_count == 1
    assert len(contents) == 50
    assert contents[7] == b"<o n='7'/>"
    assert len(_files_under(remote.local("/acme/archive"))) == 50
    assert _files_under(remote.local(INBOX)) == set()


# -- connecting ---------------------------------------------------------------


def test_wrong_password_is_a_transport_error_without_the_password(
    remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = remote.server.airflow_connection_uri()
    wrong = uri.replace(f":{remote.server.password}@", ":wrong-secret@")
    assert wrong != uri
    monkeypatch.setenv(remote.env_name(), wrong)

    with pytest.raises(TransportError, match=remote.server.conn_id) as caught:
        remote.session().__enter__()

    assert "wrong-secret" not in str(caught.value)
    assert remote.server.login_count == 0


def test_sftp_refuses_a_server_with_another_host_key(
    sftp_server: SFTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    base = sftp_server.airflow_connection_uri().partition("?")[0]
    pinned = urlencode({"host_key": impostor.strip()}, quote_via=quote)
    monkeypatch.setenv(f"AIRFLOW_CONN_{sftp_server.conn_id.upper()}", f"{base}?{pinned}")

    with pytest.raises(TransportError, match="koppel_test_sftp"):
        open_file_session("sftp", sftp_server.conn_id).__enter__()

    assert sftp_server.login_count == 0


@pytest.mark.parametrize("transport", ["sftp", "ftp"])
def test_unknown_connection_is_a_config_error(transport: Literal["sftp", "ftp"]) -> None:
    with pytest.raises(ConfigError, match="koppel_no_such_conn"):
        open_file_session(transport, "koppel_no_such_conn").__enter__()


@pytest.mark.parametrize(("extra", "expected"), [({}, "none"), ({"compress": "true"}, "zlib")])
def test_sftp_compresses_only_when_the_connection_asks(
    sftp_server: SFTPServer,
    monkeypatch: pytest.MonkeyPatch,
    extra: dict[str, str],
    expected: str,
) -> None:
    """Koppel's sessions leave SSH compression off unless the connection's extra turns it on."""
    base, _, extras = sftp_server.airflow_connection_uri().partition("?")
    asked = f"&{urlencode(extra)}" if extra else ""
    monkeypatch.setenv(f"AIRFLOW_CONN_{sftp_server.conn_id.upper()}", f"{base}?{extras}{asked}")

    with open_file_session("sftp", sftp_server.conn_id) as session:
        assert isinstance(session, SFTPFileSession)
        transport = session._client.get_channel().get_transport()

    assert transport.local_compression.startswith(expected)
