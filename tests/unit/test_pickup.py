"""The pickup read-lock and the shared exchange semantics, on in-memory storage.

``MemorySession`` is a test double for a *file server*, not for our hooks: it
implements the protocol primitives over a dict, so the algorithms in
``koppel.files`` run unchanged and fast. The same behaviour is checked
against real SFTP and FTP servers in ``tests/integration``.
"""

from __future__ import annotations

import posixpath
import re

import pytest

from koppel.errors import TransportError
from koppel.files import (
    BaseFileSession,
    FileTooLargeError,
    FolderNotFoundError,
    RemoteFile,
    TargetExistsError,
    done_marker_path,
    find_complete,
)

INBOX = "/acme/in"


class MemorySession(BaseFileSession):
    """Files and folders in two dicts; mtimes are set explicitly by the test."""

    def __init__(self) -> None:
        super().__init__("memory")
        self.files: dict[str, tuple[bytes, float]] = {}
        self.dirs: set[str] = {"/"}
        self.uploads: list[str] = []
        self.downloads: list[str] = []

    def put(self, path: str, data: bytes, mtime: float = 1.0) -> None:
        folder = posixpath.dirname(path)
        while folder not in self.dirs:
            self.dirs.add(folder)
            folder = posixpath.dirname(folder)
        self.files[path] = (data, mtime)

    def _remote(self, path: str) -> RemoteFile:
        data, mtime = self.files[path]
        return RemoteFile(posixpath.basename(path), path, len(data), mtime)

    def _list(self, folder: str) -> list[RemoteFile] | None:
        if folder not in self.dirs:
            return None
        return [self._remote(p) for p in self.files if posixpath.dirname(p) == folder]

    def _stat(self, path: str) -> RemoteFile | None:
        return self._remote(path) if path in self.files else None

    def _is_dir(self, path: str) -> bool:
        return path in self.dirs

    def _mkdir(self, path: str) -> None:
        self.dirs.add(path)

    def _download(self, path: str) -> bytes:
        self.downloads.append(path)
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path][0]

    def _upload(self, path: str, data: bytes) -> None:
        self.uploads.append(path)
        self.files[path] = (data, 2.0)

    def _rename(self, source: str, target: str) -> None:
        self.files[target] = self.files.pop(source)

    def _remove(self, path: str) -> None:
        del self.files[path]


@pytest.fixture
def session() -> MemorySession:
    return MemorySession()


def names(files: list[RemoteFile]) -> list[str]:
    return [remote.name for remote in files]


def never_sleep(seconds: float) -> None:
    raise AssertionError(f"must not sleep ({seconds}s)")


# -- pattern matching ---------------------------------------------------------


def test_matches_pattern_sorted_and_skips_our_temp_files(session: MemorySession) -> None:
    for name in ["b.xml", "a.xml", "c.csv", ".a.xml.part", "A.XML"]:
        session.put(f"{INBOX}/{name}", b"<x/>")
    session.put(f"{INBOX}/sub/d.xml", b"<x/>")

    found = find_complete(
        session, INBOX, "*.xml", done_suffix=None, stable_seconds=0, sleep=never_sleep
    )

    assert names(found) == ["a.xml", "b.xml"]
    assert found[0] == RemoteFile("a.xml", f"{INBOX}/a.xml", 4, 1.0)


def test_missing_folder_is_a_retriable_transport_error(session: MemorySession) -> None:
    with pytest.raises(FolderNotFoundError, match="'/nowhere' does not exist") as caught:
        find_complete(session, "/nowhere", "*", done_suffix=None, stable_seconds=0)
    assert isinstance(caught.value, TransportError)
    assert caught.value.retriable


# -- done-marker read-lock ----------------------------------------------------


def test_done_marker_makes_a_file_complete_and_markers_never_match(
    session: MemorySession,
) -> None:
    for name in ["a.xml", "a.xml.done", "b.xml", "c.xml.done", "d.txt", "d.txt.done"]:
        session.put(f"{INBOX}/{name}", b"1")

    found = find_complete(
        session, INBOX, "*", done_suffix=".done", stable_seconds=5, sleep=never_sleep
    )

    assert names(found) == ["a.xml", "d.txt"]


def test_done_marker_path_sits_next_to_the_file() -> None:
    remote = RemoteFile("a.xml", f"{INBOX}/a.xml", 1, None)
    assert done_marker_path(remote, ".done") == f"{INBOX}/a.xml.done"
    assert done_marker_path(remote, ".ok") == f"{INBOX}/a.xml.ok"


# -- stable-size read-lock ----------------------------------------------------


def test_a_file_that_grows_or_is_touched_during_the_interval_is_skipped(
    session: MemorySession,
) -> None:
    for name in ["growing.xml", "stable.xml", "touched.xml", "vanishing.xml"]:
        session.put(f"{INBOX}/{name}", b"<order/>")
    waited: list[float] = []

    def partner_keeps_writing(seconds: float) -> None:
        waited.append(seconds)
        session.put(f"{INBOX}/growing.xml", b"<order><line/>", mtime=1.0)
        session.put(f"{INBOX}/touched.xml", b"<order/>", mtime=9.0)
        session.put(f"{INBOX}/late.xml", b"<order/>")
        del session.files[f"{INBOX}/vanishing.xml"]

    found = find_complete(
        session,
        INBOX,
        "*.xml",
        done_suffix=None,
        stable_seconds=2.5,
        sleep=partner_keeps_writing,
        clock=lambda: 3.0,  # every file was written within the interval
    )

    assert names(found) == ["stable.xml"]
    assert waited == [2.5]


def test_files_older_than_the_interval_are_taken_without_waiting(
    session: MemorySession,
) -> None:
    for n in range(10_000):
        session.put(f"{INBOX}/order_{n:05d}.xml", b"<order/>", mtime=100.0)

    found = find_complete(
        session,
        INBOX,
        "*.xml",
        done_suffix=None,
        stable_seconds=2,
        sleep=never_sleep,
        clock=lambda: 103.5,  # older than 2 s even if written just before 101
    )

    assert len(found) == 10_000


@pytest.mark.parametrize("mtime", [102.0, None, 500.0], ids=["young", "unknown", "future"])
def test_one_young_file_means_one_wait_for_the_whole_listing(
    session: MemorySession, mtime: float | None
) -> None:
    for n in range(100):
        session.put(f"{INBOX}/order_{n:03d}.xml", b"<order/>", mtime=100.0)
    session.files[f"{INBOX}/order_050.xml"] = (b"<order/>", mtime)  # type: ignore[assignment]
    waited: list[float] = []

    found = find_complete(
        session,
        INBOX,
        "*.xml",
        done_suffix=None,
        stable_seconds=2,
        sleep=waited.append,
        clock=lambda: 103.5,
    )

    assert waited == [2]
    assert len(found) == 100


@pytest.mark.parametrize("stable_seconds", [0, -1])
def test_no_interval_means_no_wait(session: MemorySession, stable_seconds: float) -> None:
    session.put(f"{INBOX}/a.xml", b"1")
    found = find_complete(
        session, INBOX, "*.xml", done_suffix=None, stable_seconds=stable_seconds, sleep=never_sleep
    )
    assert names(found) == ["a.xml"]


def test_nothing_matching_means_no_wait(session: MemorySession) -> None:
    session.put(f"{INBOX}/a.csv", b"1")
    found = find_complete(
        session, INBOX, "*.xml", done_suffix=None, stable_seconds=30, sleep=never_sleep
    )
    assert found == []


# -- shared exchange semantics (BaseFileSession) -------------------------------


def test_write_atomic_goes_through_a_temp_name(session: MemorySession) -> None:
    path = session.write_atomic("/acme/out", "order.xml", b"<o/>")

    assert path == "/acme/out/order.xml"
    assert session.uploads == ["/acme/out/.order.xml.part"]
    assert set(session.files) == {"/acme/out/order.xml"}
    assert {"/acme", "/acme/out"} <= session.dirs


def test_write_atomic_is_idempotent_and_never_overwrites(session: MemorySession) -> None:
    session.write_atomic("/out", "a.xml", b"<o/>")

    assert session.write_atomic("/out", "a.xml", b"<o/>") == "/out/a.xml"
    with pytest.raises(TargetExistsError, match="different content"):
        session.write_atomic("/out", "a.xml", b"<p/>")
    with pytest.raises(TargetExistsError):
        session.write_atomic("/out", "a.xml", b"<o>")
    assert session.files["/out/a.xml"][0] == b"<o/>"
    assert len(session.uploads) == 1


def test_write_atomic_overwrites_a_leftover_temp_file(session: MemorySession) -> None:
    session.put("/out/.a.xml.part", b"half")
    session.write_atomic("/out", "a.xml", b"whole")
    assert set(session.files) == {"/out/a.xml"}
    assert session.files["/out/a.xml"][0] == b"whole"


@pytest.mark.parametrize("bad_name", ["", "sub/a.xml"])
def test_write_atomic_rejects_names_with_folders(session: MemorySession, bad_name: str) -> None:
    with pytest.raises(ValueError, match="plain name"):
        session.write_atomic("/out", bad_name, b"x")


def test_move_renames_on_collision_with_a_utc_stamp(session: MemorySession) -> None:
    session.put(f"{INBOX}/a.xml", b"first")
    first = session.move(f"{INBOX}/a.xml", "/acme/archive")
    session.put(f"{INBOX}/a.xml", b"second")
    second = session.move(f"{INBOX}/a.xml", "/acme/archive")

    assert first == "/acme/archive/a.xml"
    assert re.fullmatch(r"/acme/archive/a\.\d{8}T\d{12}Z\.xml", second)
    assert session.files[first][0] == b"first"
    assert session.files[second][0] == b"second"
    assert f"{INBOX}/a.xml" not in session.files


def test_read_bytes_refuses_large_files_before_download(session: MemorySession) -> None:
    session.put(f"{INBOX}/a.xml", b"12345")

    with pytest.raises(FileTooLargeError, match="5 bytes, more than the 4 allowed") as caught:
        session.read_bytes(f"{INBOX}/a.xml", max_bytes=4)
    assert not caught.value.retriable
    assert session.downloads == []
    assert session.read_bytes(f"{INBOX}/a.xml", max_bytes=5) == b"12345"
    with pytest.raises(TransportError, match="does not exist"):
        session.read_bytes(f"{INBOX}/missing.xml", max_bytes=4)


def test_raw_client_errors_become_transport_errors(session: MemorySession) -> None:
    with pytest.raises(TransportError, match=r"memory: cannot read '/x'") as caught:
        session.read_bytes("/x")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


# -- batches: the sequential fallback every protocol inherits --------------------


def test_read_many_yields_in_order_and_refuses_large_files_without_downloading(
    session: MemorySession,
) -> None:
    for name, data in [("a.xml", b"12"), ("big.xml", b"123456"), ("c.xml", b"3")]:
        session.put(f"{INBOX}/{name}", data)
    listed = list(reversed(session.list_files(INBOX)))

    results = list(session.read_many(listed, max_bytes=5))

    assert [remote.name for remote, _ in results] == ["c.xml", "big.xml", "a.xml"]
    assert results[0][1] == b"3"
    assert isinstance(results[1][1], FileTooLargeError)
    assert results[2][1] == b"12"
    assert f"{INBOX}/big.xml" not in session.downloads


def test_read_many_raises_for_a_missing_file_in_its_turn(session: MemorySession) -> None:
    session.put(f"{INBOX}/a.xml", b"a")
    gone = RemoteFile("gone.xml", f"{INBOX}/gone.xml", 1, 1.0)
    batch = session.read_many([*session.list_files(INBOX), gone])

    assert next(batch)[1] == b"a"
    with pytest.raises(TransportError, match=r"gone\.xml"):
        next(batch)


def test_stage_publish_and_move_many_match_the_single_calls(session: MemorySession) -> None:
    session.put("/out/same.xml", b"same")

    assert session.stage_many("/out", [("a.xml", b"a"), ("same.xml", b"same")]) == [True, False]
    assert session.publish_many("/out", ["a.xml"]) == ["/out/a.xml"]
    session.put("/archive/a.xml", b"older")
    moved = session.move_many(["/out/a.xml", "/out/same.xml"], "/archive")

    assert re.fullmatch(r"/archive/a\.\d{8}T\d{12}Z\.xml", moved[0])
    assert moved[1] == "/archive/same.xml"
    assert session.files[moved[0]][0] == b"a"
    assert session.files["/archive/a.xml"][0] == b"older"
