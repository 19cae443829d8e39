"""Many SFTP requests in flight on one paramiko channel, driven from one thread.

A flow that moves thousands of 3 KB files is bound by round trips: a
sequential open/read/close costs three of them per file, and the server idles
in between. SFTP numbers its requests so a client may send many before the
first reply comes back; paramiko supports that for its own prefetch through
``SFTPClient._async_request``, which hands each reply to the object passed
with the request. This module uses that hook: every batch item is a small
state machine (:class:`Op`) whose next request is sent from the reply to the
previous one, and :func:`run_ops` keeps a bounded window of items running.

Why not threads: ``SFTPClient`` is not safe for concurrent synchronous calls
(a thread reading the channel drops replies meant for another thread), and
one thread avoids both the GIL hand-offs and extra SSH channels.

Replies may also be dispatched while the caller makes an ordinary
synchronous call between two items of a ``read_many`` (paramiko hands over
every reply it reads), so reply handlers never raise: a failure is stored on
its item and reported in input order.
"""

from __future__ import annotations

import errno
import stat
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any

import paramiko
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_HANDLE,
    CMD_OPEN,
    CMD_READ,
    CMD_RENAME,
    CMD_STAT,
    CMD_STATUS,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_READ,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    int64,
)

from koppel.errors import KoppelError, TransportError
from koppel.files.session import TargetExistsError

#: Bytes per READ or WRITE request: paramiko's own request size, which every
#: server accepts (OpenSSH caps reads at about 256 KiB).
CHUNK = 32768
#: READ requests one file keeps in flight. With 16 files in flight this stays
#: well inside paramiko's 2 MiB channel window, so the server never stalls
#: on replies nobody reads yet.
READ_AHEAD = 2

#: A reply handler: the SFTP packet type and the paramiko ``Message``.
Handler = Callable[[int, Any], None]


class Pipeline:
    """Sends requests on one ``SFTPClient`` and routes each reply to its handler."""

    def __init__(self, client: paramiko.SFTPClient, label: str) -> None:
        """Drive ``client``'s channel; ``label`` names the connection in errors."""
        self.client = client
        self.label = label
        self._handlers: dict[int, tuple[Op, Handler]] = {}
        self.broken = False

    @property
    def pending(self) -> int:
        """Requests sent whose reply has not been handled yet."""
        return len(self._handlers)

    def path(self, path: str) -> bytes:
        """The path as the client would send it (relative to its ``chdir``, if any)."""
        adjusted: bytes = self.client._adjust_cwd(path)
        return adjusted

    def send(self, op: Op, handler: Handler, kind: int, *args: object) -> None:
        """Send one request for ``op``; ``handler`` gets its reply.

        Raises:
            TransportError: the channel broke; the pipeline is unusable.
        """
        try:
            number: int = self.client._async_request(self, kind, *args)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._broke(exc) from exc
        self._handlers[number] = (op, handler)

    def _async_response(self, kind: int, message: Any, number: int) -> None:
        """Called by paramiko for each reply to a request sent through :meth:`send`."""
        entry = self._handlers.pop(number, None)
        if entry is None:
            return
        op, handler = entry
        try:
            handler(kind, message)
        except Exception as exc:  # a handler must never raise into paramiko's reader
            op.fail(exc)

    def wait_one(self) -> None:
        """Read one reply from the channel and dispatch it.

        Raises:
            TransportError: the channel broke; the pipeline is unusable.
        """
        try:
            self.client._read_response()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._broke(exc) from exc

    def _broke(self, exc: BaseException) -> TransportError:
        self.broken = True
        return TransportError(f"{self.label}: the SFTP channel broke: {exc}")

    def status(self, kind: int, message: Any) -> None:
        """Raise the error an SFTP status reply carries (EOFError for end of file)."""
        if kind != CMD_STATUS:
            raise paramiko.SFTPError(f"expected a status reply, got packet type {kind}")
        self.client._convert_status(message)


class Op:
    """One batch item: a chain of requests ending in :attr:`result` or :attr:`error`."""

    #: What the error message says could not be done, e.g. "read".
    action = "process"

    def __init__(self, pipe: Pipeline, path: str) -> None:
        """An item acting on ``path``; nothing is sent before :meth:`start`."""
        self.pipe = pipe
        self.path = path
        self.done = False
        self.error: KoppelError | None = None
        self.result: Any = None
        self._on_done: Callable[[Op], None] | None = None

    def start(self) -> None:
        """Send the first request."""
        raise NotImplementedError

    def then(self, on_done: Callable[[Op], None]) -> Op:
        """Call ``on_done`` with this op once it finishes; return self."""
        self._on_done = on_done
        return self

    def finish(self, result: object = None) -> None:
        """Record the result; the item is complete."""
        if self.done:
            return
        self.result = result
        self.done = True
        if self._on_done is not None:
            self._on_done(self)

    def fail(self, exc: BaseException) -> None:
        """Record a failure as the retriable TransportError the single-item calls raise."""
        if isinstance(exc, KoppelError):
            error: KoppelError = exc
        else:
            error = TransportError(f"{self.pipe.label}: cannot {self.action} {self.path!r}: {exc}")
            error.__cause__ = exc
        self.reject(error)

    def reject(self, error: KoppelError) -> None:
        """Finish with ``error`` (a Koppel error the caller sees as is)."""
        if self.done:
            return
        self.error = error
        self.finish()


def run_ops(pipe: Pipeline, ops: Iterable[Op], window: int) -> Generator[Op, None, None]:
    """Run ``ops`` with at most ``window`` started and not yet yielded; yield them in order.

    When the caller stops early (or an op's error is raised by the caller),
    the ops already started are still driven to the end, so no handle is
    left open and no reply is left unread on the channel.
    """
    if window < 1:
        raise ValueError(f"at most {window} requests in flight: need at least one")
    pending = iter(ops)
    running: deque[Op] = deque()
    try:
        while True:
            while len(running) < window and (op := next(pending, None)) is not None:
                running.append(op)
                op.start()
            if not running:
                return
            if running[0].done:
                yield running.popleft()
            elif pipe.pending:
                pipe.wait_one()
            else:
                raise RuntimeError(f"batch item {running[0].path!r} stalled with no request")
    finally:
        while pipe.pending and not pipe.broken:
            pipe.wait_one()


def is_missing(exc: BaseException) -> bool:
    """Tell whether a converted status means "no such file"."""
    return isinstance(exc, OSError) and exc.errno == errno.ENOENT


def regular_size(message: Any) -> int | None:
    """The size from an ATTRS reply when it describes a regular file, else None."""
    attributes = paramiko.SFTPAttributes._from_msg(message)
    if attributes.st_mode is None or not stat.S_ISREG(attributes.st_mode):
        return None
    return int(attributes.st_size or 0)


class ReadOp(Op):
    """OPEN, READ until end of file (or ``limit`` bytes), CLOSE.

    The listing size saves a round trip: a READ that returns fewer bytes than
    asked, ending at or beyond that size, is the end of the file (SFTP v3:
    for disk files a read returns the bytes asked for or up to end of file).
    A short read before it — a server capping its reads, or a file that
    shrank — is followed by another READ, so the bytes are always complete.
    """

    action = "read"

    def __init__(self, pipe: Pipeline, path: str, size: int, limit: int | None) -> None:
        """Read ``path`` (``size`` bytes when listed), at most ``limit`` bytes of it."""
        super().__init__(pipe, path)
        self._size = size
        self._limit = limit
        self._handle: bytes | None = None
        self._chunks: dict[int, bytes] = {}
        self._next = 0
        self._end: int | None = None
        self._reading = 0

    def start(self) -> None:
        self.pipe.send(
            self,
            self._opened,
            CMD_OPEN,
            self.pipe.path(self.path),
            SFTP_FLAG_READ,
            paramiko.SFTPAttributes(),
        )

    def _opened(self, kind: int, message: Any) -> None:
        if kind != CMD_HANDLE:
            self.pipe.status(kind, message)
            raise paramiko.SFTPError("no handle for the file")
        self._handle = message.get_binary()
        self._request_more()

    def _request_more(self) -> None:
        # Read ahead only up to one byte past the listed size: that byte's
        # short read proves the end of a file that did not change.
        stop = self._limit if self._limit is not None else None
        while (
            self._end is None
            and self._reading < READ_AHEAD
            and (stop is None or self._next < stop)
            and (self._reading == 0 or self._next <= self._size)
        ):
            length = CHUNK if stop is None else min(CHUNK, stop - self._next)
            self._read(self._next, length)
            self._next += length

    def _read(self, offset: int, length: int) -> None:
        self._reading += 1
        self.pipe.send(
            self,
            lambda kind, message: self._got(offset, length, kind, message),
            CMD_READ,
            self._handle,
            int64(offset),
            length,
        )

    def _got(self, offset: int, length: int, kind: int, message: Any) -> None:
        self._reading -= 1
        if self.done:
            return
        if kind == CMD_DATA:
            data: bytes = message.get_string()
            self._chunks[offset] = data
            if len(data) < length:
                end = offset + len(data)
                if not data or end >= self._size:
                    self._end = end if self._end is None else min(self._end, end)
                else:
                    self._read(end, length - len(data))
        else:
            try:
                self.pipe.status(kind, message)
            except EOFError:
                self._end = offset if self._end is None else min(self._end, offset)
            else:
                raise paramiko.SFTPError("a READ was answered with a bare OK")
        self._request_more()
        if self._reading == 0:
            self._complete()

    def _complete(self) -> None:
        end = self._end if self._end is not None else self._next
        data = b"".join(self._chunks[offset] for offset in sorted(self._chunks) if offset < end)
        self._close()
        self.finish(data[:end])

    def _close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self.pipe.send(self, _ignore, CMD_CLOSE, handle)

    def fail(self, exc: BaseException) -> None:
        self._close()
        super().fail(exc)


class WriteOp(Op):
    """OPEN (create, truncate), WRITE every chunk at once, CLOSE and wait for its status."""

    action = "write"

    def __init__(self, pipe: Pipeline, path: str, data: bytes) -> None:
        """Write ``data`` to ``path``, replacing what is there."""
        super().__init__(pipe, path)
        self._data = data
        self._handle: bytes | None = None
        self._writing = 0

    def start(self) -> None:
        self.pipe.send(
            self,
            self._opened,
            CMD_OPEN,
            self.pipe.path(self.path),
            SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC,
            paramiko.SFTPAttributes(),
        )

    def _opened(self, kind: int, message: Any) -> None:
        if kind != CMD_HANDLE:
            self.pipe.status(kind, message)
            raise paramiko.SFTPError("no handle for the file")
        self._handle = message.get_binary()
        view = memoryview(self._data)
        for offset in range(0, len(self._data), CHUNK):
            self._writing += 1
            chunk = bytes(view[offset : offset + CHUNK])
            self.pipe.send(self, self._written, CMD_WRITE, self._handle, int64(offset), chunk)
        if not self._writing:
            self._close()

    def _written(self, kind: int, message: Any) -> None:
        self._writing -= 1
        self.pipe.status(kind, message)
        if not self._writing and not self.done:
            self._close()

    def _close(self) -> None:
        handle, self._handle = self._handle, None
        self.pipe.send(self, self._closed, CMD_CLOSE, handle)

    def _closed(self, kind: int, message: Any) -> None:
        # Servers may report a failed write only when the handle closes.
        self.pipe.status(kind, message)
        self.finish(True)

    def fail(self, exc: BaseException) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self.pipe.send(self, _ignore, CMD_CLOSE, handle)
        super().fail(exc)


class StatOp(Op):
    """STAT: the size of the regular file at ``path``, or None when there is none."""

    action = "stat"

    def start(self) -> None:
        self.pipe.send(self, self._got, CMD_STAT, self.pipe.path(self.path))

    def _got(self, kind: int, message: Any) -> None:
        if kind == CMD_ATTRS:
            self.finish(regular_size(message))
            return
        try:
            self.pipe.status(kind, message)
        except OSError as exc:
            if not is_missing(exc):
                raise
            self.finish(None)
            return
        raise paramiko.SFTPError("a STAT was answered with a bare OK")


class RenameOp(Op):
    """RENAME ``path`` to ``target``; the result is ``target``."""

    action = "rename"

    def __init__(self, pipe: Pipeline, path: str, target: str, action: str = "rename") -> None:
        """Rename ``path`` to ``target``; errors say ``action`` (e.g. "move")."""
        super().__init__(pipe, path)
        self.target = target
        self.action = action

    def start(self) -> None:
        self.pipe.send(
            self,
            self._got,
            CMD_RENAME,
            self.pipe.path(self.path),
            self.pipe.path(self.target),
        )

    def _got(self, kind: int, message: Any) -> None:
        self.pipe.status(kind, message)
        self.finish(self.target)


class DoneOp(Op):
    """An item settled without asking the server (e.g. refused by its listed size)."""

    def __init__(self, pipe: Pipeline, path: str, result: object) -> None:
        """Finish with ``result`` as soon as it is started."""
        super().__init__(pipe, path)
        self._ready = result

    def start(self) -> None:
        self.finish(self._ready)


class ChainOp(Op):
    """An item made of several ops run one after the other (e.g. stat, then rename)."""

    def start(self) -> None:
        self.step(None)

    def step(self, previous: Op | None) -> None:
        """Start the next op after ``previous`` (None at the start); subclasses decide."""
        raise NotImplementedError

    def run(self, op: Op) -> None:
        """Start ``op``; its failure fails this item, its success calls :meth:`step`."""
        op.then(self._after).start()

    def _after(self, op: Op) -> None:
        if op.error is not None:
            self.reject(op.error)
            return
        try:
            self.step(op)
        except Exception as exc:  # reported in input order, never into paramiko
            self.fail(exc)


def _ignore(kind: int, message: Any) -> None:
    """Replies to a CLOSE after a finished read: nothing left to learn from them."""


class StageOp(ChainOp):
    """STAT the final name; WRITE the temporary one, or READ and compare what is there."""

    action = "write"

    def __init__(self, pipe: Pipeline, final: str, temp: str, data: bytes) -> None:
        """Stage ``data`` at ``temp`` unless ``final`` already holds it."""
        super().__init__(pipe, final)
        self._temp = temp
        self._data = data

    def step(self, previous: Op | None) -> None:
        if previous is None:
            self.run(StatOp(self.pipe, self.path))
        elif isinstance(previous, StatOp):
            size = previous.result
            if size is None:
                self.run(WriteOp(self.pipe, self._temp, self._data))
            elif size != len(self._data):
                self.reject(self._exists())
            else:
                self.run(ReadOp(self.pipe, self.path, size, None))
        elif isinstance(previous, WriteOp):
            self.finish(True)
        elif previous.result == self._data:
            self.finish(False)
        else:
            self.reject(self._exists())

    def _exists(self) -> TargetExistsError:
        return TargetExistsError(
            f"{self.pipe.label}: {self.path!r} already exists with different content"
        )


class MoveOp(ChainOp):
    """STAT candidate names in ``folder`` until one is free, then RENAME the file to it."""

    action = "move"

    def __init__(self, pipe: Pipeline, path: str, candidates: Iterator[str]) -> None:
        """Move ``path`` to the first of ``candidates`` that does not exist."""
        super().__init__(pipe, path)
        self._candidates = candidates
        self._target = ""

    def step(self, previous: Op | None) -> None:
        if isinstance(previous, RenameOp):
            self.finish(previous.result)
        elif previous is None or previous.result is not None:
            self._target = next(self._candidates)
            self.run(StatOp(self.pipe, self._target))
        else:
            self.run(RenameOp(self.pipe, self.path, self._target, action="move"))


def waves(keys: Sequence[str]) -> list[list[int]]:
    """Split item indexes so no wave holds two items with the same key.

    Two uploads to one temporary name, or two moves of one base name into one
    folder, must not race: the second occurrence of a key runs in the next
    wave, after the first has finished, exactly as one after the other.
    """
    seen: dict[str, int] = {}
    result: list[list[int]] = []
    for index, key in enumerate(keys):
        wave = seen.get(key, 0)
        seen[key] = wave + 1
        if wave == len(result):
            result.append([])
        result[wave].append(index)
    return result
