"""The electronic-messages inbox: see a failed message, correct it, import it again.

What ``koppel messages show``, ``koppel messages edit`` and ``koppel replay``
do, apart from their arguments (``koppel.cli``): the CLI today, the UI of a
later issue over the same functions.

Everything printed that a partner wrote (payloads, file names, problem texts
quoting the document) goes through :func:`safe`: control characters and
bidirectional overrides are shown escaped, so a payload cannot move the
cursor, retitle the terminal or make a line read differently than it is.
"""

from __future__ import annotations

import difflib
import getpass
import hashlib
import json
import posixpath
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from koppel.config import ApiEndpoint, ConnectionConfig, FileEndpoint, FlowConfig, load_connection
from koppel.config.yaml_files import YAML_SUFFIXES
from koppel.documents import Problem, Severity
from koppel.errors import ConfigError
from koppel.store import Direction, Message, MessageStatus, MessageStore, MessageSummary
from koppel.store.records import MessageEdit

if TYPE_CHECKING:
    from koppel.files import FileSession
    from koppel.pipeline.replay import Replayed

#: C0 and C1 controls (but tab and newline), DEL, and the bidirectional overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: The same in a one-line field, where a newline or tab would break the layout too.
_UNSAFE_INLINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe(text: str, *, inline: bool = True) -> str:
    r"""``text`` fit for a terminal: each control character as its escape (``\x1b``, ``\u202e``).

    ``inline`` escapes newlines and tabs too, for one-line fields; a payload
    keeps its lines.
    """
    pattern = _UNSAFE_INLINE if inline else _UNSAFE
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def parse_moment(text: str, *, end: bool = False) -> datetime:
    """A ``--since``/``--until`` value: a date (``2026-11-29``) or an ISO time, UTC when no zone.

    A date as the end of a range means the whole of that day, so
    ``--since 2026-11-01 --until 2026-11-30`` includes the 30th.

    Raises:
        ValueError: neither a date nor an ISO time.
    """
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
        return datetime.combine(day, time.min, tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp(value: datetime) -> str:
    """A timestamp as the inbox prints it: UTC, to the second."""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def load_flow(connection_id: str, flow_name: str, directory: Path) -> FlowConfig:
    """The flow a stored message belongs to, as its connection file says now.

    Raises:
        ConfigError: no connection file of that id, or it has no such flow
            (a connection or flow removed since the message came in).
    """
    connection = load_connection_of(connection_id, directory)
    if flow_name not in connection.flows:
        raise ConfigError(f"connection {connection_id} has no flow {flow_name!r} (any more)")
    return connection.flows[flow_name]


def load_connection_of(connection_id: str, directory: Path) -> ConnectionConfig:
    """The connection of a stored message: the file named after its id (``<id>.yaml``).

    Raises:
        ConfigError: no such file in ``directory``.
    """
    for suffix in sorted(YAML_SUFFIXES):
        path = directory / f"{connection_id}{suffix}"
        if path.is_file():
            return load_connection(path)
    raise ConfigError(f"no connection file {connection_id}.yaml in {directory}")


# -- show --------------------------------------------------------------------------------------


def show(store: MessageStore, message_id: int) -> Iterator[str]:
    """Every line of ``koppel messages show``: what the message is, its problems and its fate.

    Raises:
        StoreError: no message has this id.
    """
    message = store.get(message_id)
    yield from _header(message)
    errors = [p for p in message.problems if p.severity is not Severity.INFO]
    decisions = [p for p in message.problems if p.severity is Severity.INFO]
    yield ""
    yield f"problems ({len(errors)})"
    yield from (f"  {_problem(p)}" for p in errors)
    yield ""
    yield f"decisions ({len(decisions)})"
    yield from (f"  {_problem(p)}" for p in decisions)
    if message.direction is Direction.IN:
        yield from _edits(store.edits(message_id))
        yield from _outbound(store, message)
    else:
        yield ""
        yield f"made from inbound message {message.parent_id}"
        yield from _attempts(store, message.id, indent="")
    if message.edit_id is not None:
        yield from _payload("payload as received", store.received_payload(message_id), message)
        yield from _payload(
            f"payload of edit {message.edit_id} (processed)", message.payload, message
        )
    else:
        yield from _payload("payload", message.payload, message)
    yield ""
    yield "document (parsed)"
    if message.document is None:
        yield "  (not parsed)"
    else:
        text = json.dumps(message.document, indent=2, ensure_ascii=False, sort_keys=False)
        yield from (safe(line) for line in text.splitlines())


def _header(message: Message) -> Iterator[str]:
    direction = "inbound" if message.direction is Direction.IN else "outbound"
    yield f"message {message.id} ({direction}, {message.connection_id} / {message.flow})"
    yield f"  status      {message.status.value}"
    name = "source" if message.direction is Direction.IN else "delivery key"
    yield f"  {name:<11} {safe(message.source_name)}"
    if message.target_name:
        yield f"  target      {safe(message.target_name)}"
    if message.document_key:
        yield f"  key         {safe(message.document_key)}"
    yield f"  size        {message.size_bytes:,} bytes, sha256 {message.checksum}"
    yield f"  stored      {stamp(message.created_at)}"
    yield f"  updated     {stamp(message.updated_at)}"
    if message.run_id:
        yield f"  last run    {safe(message.run_id)}"
    if message.disposition:
        label = "file" if message.direction is Direction.IN else "receipt"
        yield f"  {label:<11} {safe(message.disposition)}"
    if message.alerted_at:
        yield f"  alerted     {stamp(message.alerted_at)}"


def _problem(problem: Problem) -> str:
    """One problem on one line: severity, code, file:line, field and text, all escaped."""
    where = ":".join(str(p) for p in (problem.file, problem.line) if p is not None)
    parts = [f"{problem.severity.value:<7}", problem.code]
    if where:
        parts.append(where)
    if problem.field:
        parts.append(f"[{problem.field}]")
    return safe(" ".join(parts) + f": {problem.message}")


def _edits(edits: list[MessageEdit]) -> Iterator[str]:
    yield ""
    yield f"edits ({len(edits)})"
    for edit in edits:
        yield (
            f"  edit {edit.id} by {safe(edit.edited_by)} at {stamp(edit.edited_at)}: "
            f"sha256 {edit.original_checksum[:12]} -> {edit.checksum[:12]}, "
            f"{len(edit.payload):,} bytes"
        )
        yield from (f"    {safe(line)}" for line in edit.diff.splitlines())


def _outbound(store: MessageStore, message: Message) -> Iterator[str]:
    """The outbound copies and replies the message made, with each delivery attempt."""
    made = _made(store, message)
    yield ""
    yield f"outbound ({len(made)})"
    for out in made:
        target = safe(out.target_name or "")
        yield f"  message {out.id} {_role(out)} {out.status.value} -> {target}"
        if out.disposition:
            yield f"    receipt {safe(out.disposition)}"
        yield from (f"    {_problem(p)}" for p in out.problems)
        yield from _attempts(store, out.id, indent="    ")


def _made(store: MessageStore, message: MessageSummary) -> list[Message]:
    """The outbound copies and replies the message made, oldest first."""
    return store.outputs_of(
        connection_id=message.connection_id, flow=message.flow, parent_ids=[message.id]
    ).get(message.id, [])


def _role(out: Message) -> str:
    """What an outbound copy is: ``target``, ``reply`` or the answer to a rejection."""
    from koppel.pipeline.delivery import is_rejection_reply

    role = out.source_name.split(":", 1)[0]
    return f"{role} (answer to a rejection)" if is_rejection_reply(out) else role


def _attempts(store: MessageStore, message_id: int, *, indent: str) -> Iterator[str]:
    for attempt in store.attempts(message_id):
        error = f": {safe(attempt.error)}" if attempt.error else ""
        yield (
            f"{indent}attempt {attempt.attempt_no} {attempt.outcome.value} "
            f"{safe(attempt.target)} at {stamp(attempt.started_at)}{error}"
        )


def _payload(title: str, payload: bytes, message: Message) -> Iterator[str]:
    """The payload, pretty-printed when the hardened parsers read it, else as it is, escaped."""
    yield ""
    if not payload and message.size_bytes:
        yield f"{title}: {message.size_bytes:,} bytes streamed in chunks (a catalogue), not shown"
        return
    text, kind = pretty(payload, source=posixpath.basename(message.source_name))
    yield f"{title} ({len(payload):,} bytes, {kind})"
    yield from (safe(line) for line in text.splitlines())


def pretty(payload: bytes, *, source: str) -> tuple[str, str]:
    """The payload as text and what was done to it: pretty XML or JSON, else raw.

    Only the hardened parsers read it (no DTDs, entities or network; sizes
    capped); whatever they refuse is shown raw, undecodable bytes as ``\\xNN``,
    never interpreted.
    """
    from lxml import etree

    from koppel.formats.jsondoc import JsonDocumentError, parse_json
    from koppel.formats.xml import XmlDocumentError, parse_xml

    head = payload.lstrip()[:1]
    if head == b"<" or payload.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            tree = parse_xml(payload, source=source, max_bytes=max(len(payload), 1))
        except XmlDocumentError:
            pass
        else:
            etree.indent(tree)
            return etree.tostring(tree, encoding="unicode"), "XML, pretty-printed"
    if head in {b"{", b"["}:
        try:
            value = parse_json(payload, source=source, max_bytes=max(len(payload), 1))
        except JsonDocumentError:
            pass
        else:
            return json.dumps(
                value, indent=2, ensure_ascii=False, default=str
            ), "JSON, pretty-printed"
    return payload.decode("utf-8", errors="backslashreplace"), "raw"


# -- edit --------------------------------------------------------------------------------------


def edit(
    store: MessageStore, message_id: int, payload: bytes, *, edited_by: str | None, flows: Path
) -> MessageEdit | None:
    """Store a corrected copy of an inbound message and put the message back to be processed.

    The received payload is kept; the copy, who stored it (``edited_by``,
    else the login name) and when, and a unified diff against the payload it
    replaces are recorded. Returns None when the copy is what the message
    holds already (nothing stored).

    Raises:
        ConfigError: the message is outbound or already made outbound
            documents other than answers to its rejection (a message is
            decided once, only a rejection again: the copy would never be
            read), the copy is larger than the flow's ``max_file_bytes``, or
            its flow streams catalogues.
        StoreConflictError: another edit was stored meanwhile.
    """
    from koppel.pipeline.catalogue import streams_catalogue
    from koppel.pipeline.delivery import is_rejection_reply

    message = store.get(message_id)
    if message.direction is not Direction.IN:
        raise ConfigError(f"message {message_id} is outbound; edit its inbound message instead")
    flow = load_flow(message.connection_id, message.flow, flows)
    if streams_catalogue(flow):
        raise ConfigError(f"flow {flow.name} streams catalogues; their messages are not edited")
    if len(payload) > flow.max_file_bytes:
        raise ConfigError(
            f"the corrected copy is {len(payload):,} bytes, more than flow {flow.name}'s "
            f"max_file_bytes of {flow.max_file_bytes:,}"
        )
    made = [m for m in _made(store, message) if not is_rejection_reply(m)]
    if made:
        ids = ", ".join(str(m.id) for m in made)
        raise ConfigError(
            f"message {message_id} was decided already and made outbound message(s) {ids}: "
            "a corrected copy would never be read"
        )
    if payload == message.payload:
        return None
    before = "received" if message.edit_id is None else f"edit {message.edit_id}"
    who = edited_by or getpass.getuser()
    diff = "".join(
        difflib.unified_diff(
            _lines(message.payload),
            _lines(payload),
            fromfile=f"message {message_id} ({before})",
            tofile=f"message {message_id} (edited by {who})",
        )
    )
    stored = store.record_edit(
        message_id,
        payload=payload,
        edited_by=who,
        original_checksum=hashlib.sha256(message.payload).hexdigest(),
        diff=diff,
    )
    if message.status is not MessageStatus.RECEIVED:
        store.requeue(message_id)
    return stored


def _lines(payload: bytes) -> list[str]:
    text = payload.decode("utf-8", errors="backslashreplace")
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines(True)]


# -- replay ------------------------------------------------------------------------------------


def queue_outcome(store: MessageStore, message: MessageSummary) -> str:
    """What the next run does with the message once requeued, as ``process_pending`` decides it.

    A message is decided once: if it already made outbound documents, the run
    delivers those still pending or failed, and those the target refused
    (a replay offers them again), and nothing else, without reading the
    message again. Otherwise (or when all it made were answers to its
    rejection) it runs every check and the mapping afresh.
    """
    from koppel.pipeline.delivery import is_rejection_reply

    made = _made(store, message)
    if all(is_rejection_reply(m) for m in made):  # a rejection is decided again
        return (
            "the next run checks and maps it again and delivers what comes out now; "
            "a file or order whose delivery key (target file name, order reference) another "
            "message holds is refused as a duplicate, not sent twice"
        )
    statuses = Counter(m.status for m in made)
    counted = ", ".join(f"{n} {status.value}" for status, n in sorted(statuses.items()))
    waiting = sum(
        statuses[s] for s in (MessageStatus.PENDING, MessageStatus.FAILED, MessageStatus.REJECTED)
    )
    if not waiting:
        return (
            f"the next run sends nothing: its outbound documents were decided when it was first "
            f"processed ({counted}) and only pending, failed or refused ones are delivered; "
            "its recorded notes are dropped"
        )
    return (
        f"the next run delivers the {waiting} of its outbound documents still pending or failed "
        f"or refused by the target ({counted}) and sends none twice; its recorded notes are "
        "dropped"
    )


def replay(store: MessageStore, message_id: int, *, flows: Path) -> tuple[FlowConfig, Replayed]:
    """Run the message's flow on it now, with the flow's real destinations and lookups.

    The destinations, file sessions and lookups are the ones the flow's
    process task uses (``koppel.hooks``), from the same Airflow connections:
    ``flow_lookups`` reads the master data the rules ask the systems for (a
    portal's customer references, the ERP's customers, articles and prices)
    fresh, as they are now.

    Raises:
        ConfigError: as :func:`koppel.pipeline.replay.replay_now`, or the
            message's connection file or flow is gone.
        StoreError: no message has this id.
    """
    from koppel.formats import default_registry
    from koppel.hooks.destinations import flow_lookups, open_destinations
    from koppel.hooks.file_sessions import open_file_session
    from koppel.pipeline.replay import replay_now
    from koppel.store import MasterDataStore

    message = store.get_summary(message_id)
    connection = load_connection_of(message.connection_id, flows)
    flow = load_flow(message.connection_id, message.flow, flows)

    def open_session(endpoint: FileEndpoint) -> AbstractContextManager[FileSession]:
        return open_file_session(endpoint.transport, endpoint.conn_id)

    with open_destinations() as destinations:
        replayed = replay_now(
            store,
            MasterDataStore(store.engine),
            default_registry(),
            connection,
            flow,
            message_id=message_id,
            destination=destinations.get,
            open_session=open_session,
            lookups=flow_lookups(flow),
        )
    return flow, replayed


def passed(replayed: Replayed) -> bool:
    """Whether the replay ended well: delivered (or nothing to send) and nothing left failing."""
    done = replayed.after.status in {MessageStatus.DELIVERED, MessageStatus.SKIPPED}
    return done and not replayed.taken and replayed.failure is None


def describe(flow: FlowConfig, replayed: Replayed) -> Iterator[str]:
    """What ``koppel replay`` prints: the outcome, what went out now, the file, the problems."""
    before, after = replayed.before, replayed.after
    dag_id = f"{after.connection_id}__{after.flow}"
    if replayed.taken:
        yield (
            f"message {after.id}: a run of {dag_id} is processing it right now; "
            "nothing done: replay it again once that run is over"
        )
        return
    yield f"message {after.id} ({dag_id}, was {before.status.value}): {after.status.value}"
    sent = {a.message_id for a in replayed.sent}
    for out in replayed.outbound:
        if out.id in sent:
            how = "sent now"
        elif out.status is MessageStatus.DELIVERED:
            how = "delivered before: not sent again"
        else:
            how = "not sent"
        target = safe(out.target_name or "")
        yield f"  {_role(out)} message {out.id} {out.status.value} -> {target} ({how})"
    if replayed.outbound and not sent and after.status is MessageStatus.DELIVERED:
        yield (
            "  nothing was delivered twice: a message is decided once, and each outbound "
            "document is stored once under its delivery key (target file name, order reference)"
        )
    if before.disposition != after.disposition and after.disposition:
        was = safe(before.disposition or f"inbound:{before.source_name}")
        yield f"  file {was} -> {safe(after.disposition)}"
    if replayed.unfiled is not None:
        yield f"  file not moved yet ({safe(replayed.unfiled)}); the flow's next run moves it"
    for problem in after.problems:
        yield f"  {_problem(problem)}"
    yield from _next_step(flow, replayed)


def _next_step(flow: FlowConfig, replayed: Replayed) -> Iterator[str]:
    after = replayed.after
    if replayed.failure is not None:
        yield f"delivery failed: {safe(replayed.failure)}; the flow's next run retries it"
    elif after.status is MessageStatus.REJECTED:
        yield (
            "fix the master data, or store a corrected copy (koppel messages edit "
            f"{after.id} --file FILE), and replay it again"
        )
    elif after.status is MessageStatus.HELD:
        yield "held until its master data is there: fix it and replay again (runs retry it too)"
    elif isinstance(flow.source, ApiEndpoint) and flow.source.transport == "http":
        yield "the portal is told it was exported by the flow's next run (its finish step)"
