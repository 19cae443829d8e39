"""The batch file API (``read_many``, ``stage_many``, ``publish_many``, ``move_many``).

Run through ``open_file_session`` against OpenSSH's sshd (a separate
sftp-server process, as partners run), the asyncssh test server (one thread)
and pyftpdlib (FTP uses the sequential fallback): every batch must give what
the single-item calls give, in input order, with the same errors.
"""

from __future__ import annotations

import posixpath
import re
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from koppel.errors import TransportError
from koppel.files import FileSession, FileTooLargeError, RemoteFile, TargetExistsError, temp_name
from koppel.hooks.file_sessions import open_file_session
from koppel.sandbox import FTPServer, SFTPServer, openssh
from koppel.sandbox.openssh import OpenSSHServer

pytestmark = pytest.mark.integration


@dataclass
class Remote:
    """A running server, how to reach it, and where its paths start."""

    transport: Literal["sftp", "ftp"]
    server: SFTPServer | FTPServer | OpenSSHServer
    #: Prefix of every remote path: OpenSSH is not chrooted, the others are.
    base: str

    def path(self, relative: str) -> str:
        return f"{self.base}/{relative.lstrip('/')}"

    def local(self, relative: str) -> Path:
        return self.server.root / relative.lstrip("/")

    def put(self, relative: str, data: bytes) -> None:
        target = self.local(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


_FIXTURES = {"openssh": "openssh_server", "sftp": "sftp_server", "ftp": "ftp_server"}


@pytest.fixture(params=list(_FIXTURES))
def remote(request: pytest.FixtureRequest) -> Remote:
    server = request.getfixturevalue(_FIXTURES[request.param])
    base = str(server.root) if isinstance(server, OpenSSHServer) else ""
    return Remote("ftp" if request.param == "ftp" else "sftp", server, base)


@pytest.fixture
def session(remote: Remote) -> Iterator[FileSession]:
    with open_file_session(remote.transport, remote.server.conn_id) as opened:
        yield opened


def _payload(number: int) -> bytes:
    return f"<order n='{number}'>".encode() + b"x" * (number * 97 % 3000) + b"</order>"


def test_read_many_yields_every_file_in_input_order(remote: Remote, session: FileSession) -> None:
    for number in range(40):
        remote.put(f"in/order-{number:02}.xml", _payload(number))
    remote.put("in/big.xml", b"y" * 5000)
    remote.put("in/empty.xml", b"")
    listed = session.list_files(remote.path("in"))
    wanted = list(reversed(listed))  # not the server's order: results follow the input

    results = list(session.read_many(wanted, max_bytes=4000))

    assert [remote_file for remote_file, _ in results] == wanted
    by_name = {remote_file.name: data for remote_file, data in results}
    too_large = by_name.pop("big.xml")
    assert isinstance(too_large, FileTooLargeError)
    assert re.search(r"big\.xml.* more than the 4000 allowed", str(too_large))
    assert by_name.pop("empty.xml") == b""
    assert by_name == {f"order-{n:02}.xml": _payload(n) for n in range(40)}


def test_read_many_reads_files_larger_than_one_request(
    remote: Remote, session: FileSession
) -> None:
    large = bytes(range(256)) * 1200  # 307,200 bytes: many 32 KiB reads
    remote.put("in/large.bin", large)
    remote.put("in/small.xml", b"<o/>")

    listed = session.list_files(remote.path("in"))
    results = {remote_file.name: data for remote_file, data in session.read_many(listed)}

    assert results == {"large.bin": large, "small.xml": b"<o/>"}


def test_read_many_refuses_a_file_that_grew_past_the_limit_since_listing(
    remote: Remote, session: FileSession
) -> None:
    remote.put("in/a.xml", b"<o/>")
    (listed,) = session.list_files(remote.path("in"))
    remote.put("in/a.xml", b"z" * 2000)

    ((_, result),) = list(session.read_many([listed], max_bytes=1000))

    assert isinstance(result, FileTooLargeError)
    assert "more than the 1000 allowed" in str(result)


def test_read_many_raises_for_a_missing_file_in_its_turn(
    remote: Remote, session: FileSession
) -> None:
    for name in ["a.xml", "c.xml"]:
        remote.put(f"in/{name}", name.encode())
    a, c = session.list_files(remote.path("in"))
    missing = RemoteFile("b.xml", remote.path("in/b.xml"), 5, None)

    batch = session.read_many([a, missing, c])

    assert next(batch) == (a, b"a.xml")
    with pytest.raises(TransportError, match=r"b\.xml"):
        next(batch)
    # The batch left nothing behind on the connection: the session goes on.
    assert session.read_bytes(c.path) == b"c.xml"
    assert [f.name for f in session.list_files(remote.path("in"))] == ["a.xml", "c.xml"]


def test_leaving_read_many_early_leaves_the_session_usable(
    remote: Remote, session: FileSession
) -> None:
    for number in range(30):
        remote.put(f"in/{number:02}.xml", _payload(number))
    listed = session.list_files(remote.path("in"))

    for count, (remote_file, data) in enumerate(session.read_many(listed), start=1):
        assert data == _payload(count - 1)
        # Single-item calls between batch items share the channel.
        assert session.exists(remote_file.path)
        if count == 3:
            break

    assert session.read_bytes(listed[29].path) == _payload(29)


def test_batches_nest_inside_read_many(remote: Remote, session: FileSession) -> None:
    """A flow archives and answers each chunk while the next files are still arriving."""
    for number in range(30):
        remote.put(f"in/{number:02}.xml", _payload(number))
    done: list[str] = []

    chunk: list[str] = []
    for remote_file, data in session.read_many(session.list_files(remote.path("in"))):
        assert data == _payload(int(remote_file.name[:2]))
        chunk.append(remote_file.path)
        if len(chunk) == 10:
            done += session.move_many(chunk, remote.path("archive"))
            names = [f"ack-{posixpath.basename(path)}" for path in chunk]
            session.stage_many(remote.path("out"), [(name, b"ok") for name in names])
            session.publish_many(remote.path("out"), names)
            chunk = []

    assert done == [remote.path(f"archive/{n:02}.xml") for n in range(30)]
    assert len(list(remote.local("out").iterdir())) == 30
    assert list(remote.local("in").iterdir()) == []


def test_stage_many_then_publish_many_delivers_without_overwriting(
    remote: Remote, session: FileSession
) -> None:
    remote.put("out/same.xml", b"<same/>")
    items = [(f"order-{n:02}.xml", _payload(n)) for n in range(25)] + [("same.xml", b"<same/>")]

    staged = session.stage_many(remote.path("out"), items)

    assert staged == [True] * 25 + [False]
    assert remote.local(f"out/{temp_name('order-07.xml')}").read_bytes() == _payload(7)
    names = [name for name, _ in items[:25]]
    published = session.publish_many(remote.path("out"), names)
    assert published == [remote.path(f"out/{name}") for name in names]
    on_disk = {p.name: p.read_bytes() for p in remote.local("out").iterdir()}
    assert on_disk == dict(items)


def test_stage_many_creates_the_folder_and_refuses_a_different_file(
    remote: Remote, session: FileSession
) -> None:
    assert session.stage_many(remote.path("new/deep"), [("a.xml", b"1")]) == [True]
    remote.put("out/taken.xml", b"someone else's")

    with pytest.raises(TargetExistsError, match="already exists with different content"):
        session.stage_many(remote.path("out"), [("free.xml", b"1"), ("taken.xml", b"mine")])

    assert remote.local("out/taken.xml").read_bytes() == b"someone else's"
    with pytest.raises(ValueError, match="plain name"):
        session.stage_many(remote.path("out"), [("ok.xml", b"1"), ("sub/x.xml", b"2")])


def test_stage_many_with_one_name_twice_keeps_the_last_bytes(
    remote: Remote, session: FileSession
) -> None:
    assert session.stage_many(remote.path("out"), [("a.xml", b"first"), ("a.xml", b"second")]) == [
        True,
        True,
    ]
    assert session.publish_many(remote.path("out"), ["a.xml"]) == [remote.path("out/a.xml")]
    assert remote.local("out/a.xml").read_bytes() == b"second"


def test_publish_many_of_an_unstaged_name_is_a_transport_error(
    remote: Remote, session: FileSession
) -> None:
    with pytest.raises(TransportError, match=re.escape(temp_name("ghost.xml"))):
        session.publish_many(remote.path("out"), ["ghost.xml"])


def test_move_many_never_overwrites_and_keeps_the_order(
    remote: Remote, session: FileSession
) -> None:
    remote.put("archive/a.xml", b"archived before")
    remote.put("in/a.xml", b"new a")
    remote.put("in/b.xml", b"new b")
    remote.put("other/b.xml", b"other b")
    paths = [remote.path(p) for p in ["in/b.xml", "in/a.xml", "other/b.xml"]]

    moved = session.move_many(paths, remote.path("archive"))

    stamped = re.escape(remote.path("archive/")) + r"{}\.\d{{8}}T\d{{12}}Z\.xml"
    assert moved[0] == remote.path("archive/b.xml")
    assert re.fullmatch(stamped.format("a"), moved[1])
    assert re.fullmatch(stamped.format("b"), moved[2])
    assert remote.local("archive/a.xml").read_bytes() == b"archived before"
    contents = [Path(remote.local(p[len(remote.base) :])).read_bytes() for p in moved]
    assert contents == [b"new b", b"new a", b"other b"]
    assert list(remote.local("in").iterdir()) == []


def test_move_many_of_a_missing_file_is_a_transport_error(
    remote: Remote, session: FileSession
) -> None:
    remote.put("in/a.xml", b"a")

    with pytest.raises(TransportError, match=r"cannot move .*gone\.xml"):
        session.move_many([remote.path("in/gone.xml"), remote.path("in/a.xml")], remote.path("ar"))

    # Items after the failing one may have been done too, but never lost or doubled.
    places = [remote.local("in/a.xml").exists(), remote.local("ar/a.xml").exists()]
    assert places in ([True, False], [False, True])


# -- the OpenSSH sandbox server -------------------------------------------------


def test_openssh_server_names_the_package_when_sshd_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(openssh, "SSHD_CANDIDATES", (tmp_path / "sshd",))

    with pytest.raises(openssh.OpenSSHServerError, match="apt-get install openssh-server"):
        OpenSSHServer(tmp_path / "root").start()


def test_a_batch_fails_with_a_transport_error_when_the_server_goes_away(
    openssh_server: OpenSSHServer,
) -> None:
    for number in range(60):
        (openssh_server.root / f"{number:02}.xml").write_bytes(_payload(number))

    with open_file_session("sftp", openssh_server.conn_id) as session:
        batch = session.read_many(session.list_files(openssh_server.remote_path()))
        assert next(batch)[1] == _payload(0)
        openssh_server.stop()

        with pytest.raises(TransportError, match="koppel_test_openssh"):
            list(batch)


def test_openssh_server_releases_its_port_and_files(openssh_server: OpenSSHServer) -> None:
    port = openssh_server.port
    assert port is not None
    # Its own folder only: other servers (a parallel test run, a bench) may have theirs.
    before = set(Path(tempfile.gettempdir()).glob("koppel-sshd-*"))
    openssh_server.stop()

    assert openssh_server.port is None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    after = set(Path(tempfile.gettempdir()).glob("koppel-sshd-*"))
    assert len(before - after) == 1
    assert not after - before


def test_read_chunks_streams_a_file_larger_than_one_piece(
    remote: Remote, session: FileSession
) -> None:
    # 5 MB of varied bytes: several SFTP read windows and several socket reads on FTP.
    data = b"".join(f"<a n='{n}'/>".encode() for n in range(450_000))[: 5 * 1024 * 1024]
    remote.put("in/catalogue.xml", data)

    pieces = list(session.read_chunks(remote.path("in/catalogue.xml"), max_bytes=len(data)))

    assert b"".join(pieces) == data
    assert max(len(piece) for piece in pieces) <= 4 * 1024 * 1024


def test_read_chunks_refuses_a_file_over_the_limit_before_reading(
    remote: Remote, session: FileSession
) -> None:
    remote.put("in/catalogue.xml", b"z" * 10_000)

    with pytest.raises(FileTooLargeError):
        next(iter(session.read_chunks(remote.path("in/catalogue.xml"), max_bytes=9_999)))
    with pytest.raises(TransportError):
        next(iter(session.read_chunks(remote.path("in/missing.xml"), max_bytes=9_999)))
