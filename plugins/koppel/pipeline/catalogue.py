"""Catalogue flows, streamed: receive a file of millions of products, send on only what changed.

A flow with a ``catalogue:`` block takes this road instead of the one-document
road of :mod:`koppel.pipeline.receive` and :mod:`koppel.pipeline.process`:

- **receive** streams the file from the server into the store chunk by chunk
  (``max_stream_bytes``, not ``max_file_bytes``, limits it), never holding it;
- **process** streams the stored bytes through the hardened pull parser, one
  record at a time; each good record is staged (in chunks of
  ``chunk_records``, each chunk one transaction with the progress, so a
  SIGKILL costs at most one chunk), then one transaction upserts them into the
  flow's products, keeps the changed ones (content hash) and writes them as
  batch files of ``records_per_file``; those are delivered one by one with the
  exactly-once delivery of every outbound file.

A bad record (schema, mapping) is a problem with its line and field and is
left out; the good ones go out, and the message ends ``rejected`` so the run
fails, the alert names the records and the file goes to ``error/`` with its
report. A file refused as a whole (a DOCTYPE, broken XML, too deep, the wrong
root) sends nothing at all. See ``docs/catalogues.md``.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from koppel.config import ConnectionConfig, Endpoint, FileEndpoint, FlowConfig
from koppel.config.catalogue import CatalogueSettings
from koppel.documents import PROBLEM_LIMIT, Problem, Severity
from koppel.documents.problems import TRUNCATED
from koppel.errors import ConfigError
from koppel.faults import failpoint
from koppel.files import FileSession, FileTooLargeError, RemoteFile
from koppel.formats import FormatRegistry, XmlDocumentError
from koppel.formats.catalogue_stream import (
    BatchWriter,
    CatalogueReader,
    StreamedRecord,
    content_hash,
    record_json,
)
from koppel.pipeline.context import target_filename
from koppel.pipeline.delivery import deliver_decided
from koppel.pipeline.destinations import Destination
from koppel.pipeline.outcome import ProcessOutcome, ReceiveOutcome
from koppel.pipeline.run import FlowRun
from koppel.store import (
    TO_PROCESS,
    Direction,
    MasterDataStore,
    Message,
    MessageStatus,
    MessageStore,
    MessageSummary,
    Receipt,
)
from koppel.store.catalogue import STAGING, CatalogueStore, Progress, StagedRow

log = logging.getLogger(__name__)


def streams_catalogue(flow: FlowConfig) -> bool:
    """Whether the flow's files are catalogues, streamed record by record."""
    return flow.catalogue is not None


def _settings(flow: FlowConfig) -> CatalogueSettings:
    if flow.catalogue is None:
        raise ConfigError(f"flow {flow.name} has no catalogue: settings")
    return flow.catalogue


# -- receive -----------------------------------------------------------------------------------


def receive_catalogues(
    session: FileSession,
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    files: Sequence[RemoteFile],
    *,
    run_id: str,
) -> ReceiveOutcome:
    """Store each complete catalogue file as a message, streamed; as ``receive_batch`` does.

    A file already stored and handled is archived as a duplicate; one stored
    by an interrupted run is left for the next steps.
    """
    from koppel.pipeline.receive import _archive_duplicate  # receive dispatches to here

    outcome = ReceiveOutcome()
    for remote in files:
        receipt, too_large = receive_catalogue(
            session, store, connection, flow, remote, run_id=run_id
        )
        failpoint("receive.stored")
        if receipt.created:
            outcome.received += 1
            outcome.message_ids.append(receipt.message_id)
            if too_large is not None:
                outcome.rejected += 1
                outcome.rejected_ids.append(receipt.message_id)
                log.warning(
                    "message %d (%s) rejected: %s", receipt.message_id, remote.path, too_large
                )
            continue
        if store.get_summary(receipt.message_id).disposition is None:
            continue  # stored by an interrupted run; the next steps finish it
        outcome.duplicates += 1
        _archive_duplicate(session, store, flow, remote, receipt.message_id)
    log.info(
        "%s__%s: %d new catalogue file(s), %d already received",
        connection.id,
        flow.name,
        outcome.received,
        outcome.duplicates,
    )
    return outcome


def receive_catalogue(
    session: FileSession,
    store: MessageStore,
    connection: ConnectionConfig,
    flow: FlowConfig,
    remote: RemoteFile,
    *,
    run_id: str,
) -> tuple[Receipt, Problem | None]:
    """Store one catalogue file as it streams from the server; refuse it unread when too large.

    Returns:
        The receipt, and the problem that rejected the file (None when stored whole).
    """
    limit = _settings(flow).max_stream_bytes
    try:
        if remote.size > limit:
            raise FileTooLargeError(
                f"file {remote.path!r} has {remote.size} bytes, more than the {limit} allowed"
            )
        receipt = CatalogueStore(store.engine).receive_stream(
            connection_id=connection.id,
            flow=flow.name,
            source_name=remote.path,
            chunks=session.read_chunks(remote.path, limit),
            run_id=run_id,
        )
    except FileTooLargeError as exc:
        too_large = Problem(
            code="file.too_large",
            message=f"{exc}; the file was not stored (limit max_stream_bytes {limit} bytes)",
            file=remote.path,
        )
        receipt = store.receive(
            connection_id=connection.id,
            flow=flow.name,
            source_name=remote.path,
            payload=b"",
            run_id=run_id,
            rejected=[too_large],
        )
        return receipt, too_large
    return receipt, None


# -- process -----------------------------------------------------------------------------------


def process_catalogues(
    store: MessageStore,
    master: MasterDataStore,
    formats: FormatRegistry,
    connection: ConnectionConfig,
    flow: FlowConfig,
    *,
    run_id: str,
    destination: Callable[[Endpoint], Destination],
    resend: bool = False,
    lookups: Mapping[str, Callable[..., Any]] | None = None,
) -> ProcessOutcome:
    """Process the flow's stored catalogues, oldest first, each claimed like any message.

    A backfill (``resend``) sends every product of the file, changed or not.
    """
    outcome = ProcessOutcome()
    run = FlowRun(
        store, master, formats, connection, flow, run_id, destination, resend, lookups or {}
    )
    candidates = store.candidate_ids(
        connection_id=connection.id, flow=flow.name, direction=Direction.IN, statuses=TO_PROCESS
    )
    for message_id in candidates:
        if not store.claim(
            message_id, run_id=run_id, statuses=TO_PROCESS, lease_seconds=flow.claim_seconds
        ):
            outcome.taken_by_others += 1
            continue
        try:
            status = _process_one(run, store.get_summary(message_id))
        except _ClaimLostError:
            log.warning("message %d was taken over by another run", message_id)
            outcome.taken_by_others += 1
            continue
        finally:
            store.release(message_id, run_id=run_id)
        outcome.count(status, message_id)
    return outcome


def _process_one(run: FlowRun, message: MessageSummary) -> MessageStatus:
    """Stage, decide and deliver one catalogue message, going on from wherever it got to."""
    catalogue = CatalogueStore(run.store.engine)
    source = posixpath.basename(message.source_name)
    progress = catalogue.progress(message.id)
    if progress is None or progress.phase == STAGING:
        try:
            progress = _stage(run, catalogue, message.id, source, progress)
        except XmlDocumentError as exc:
            catalogue.restart(message.id)
            earlier = progress.problems if progress else []
            run.store.update(
                message.id,
                status=MessageStatus.REJECTED,
                problems=[exc.problem, *earlier],
                run_id=run.run_id,
            )
            log.warning("message %d (%s) rejected: %s", message.id, source, exc.problem)
            return MessageStatus.REJECTED
        _keep_claim(run, message.id)
        try:
            _decide(run, catalogue, message.id, source)
        except _UndeliverableError as exc:
            catalogue.restart(message.id)
            run.store.update(
                message.id,
                status=MessageStatus.REJECTED,
                problems=[*exc.problems, *progress.problems],
                run_id=run.run_id,
            )
            log.warning("message %d (%s) rejected: %s", message.id, source, exc)
            return MessageStatus.REJECTED
        failpoint("catalogue.decided")
        progress = catalogue.progress(message.id)
    assert progress is not None  # staged or decided by now
    pages = catalogue.outbound_ids(message.id)
    problems = _final_problems(progress, len(pages))
    log.info("message %d (%s): %s", message.id, source, problems[-1].message)
    full = run.store.get(message.id)
    return deliver_decided(run, full, _StoredPages(run.store, pages), problems)


def _stage(
    run: FlowRun,
    catalogue: CatalogueStore,
    message_id: int,
    source: str,
    progress: Progress | None,
) -> Progress:
    """Read every record not staged yet and stage the good ones, one chunk per transaction."""
    settings = _settings(run.flow)
    reader = CatalogueReader(run.formats.get(run.flow.source.format))
    done = progress or Progress(STAGING, 0, 0, 0, [])
    rows: list[StagedRow] = []
    problems = list(done.problems)
    seen, staged, count = done.records_seen, done.records_staged, done.problem_count
    for record in reader.records(catalogue.payload(message_id), source=source, skip=seen):
        seen = record.index + 1
        row = _row(record)
        if row is None:
            count += len(record.problems)
            problems += record.problems[: max(0, PROBLEM_LIMIT - len(problems))]
        else:
            rows.append(row)
        if seen % settings.chunk_records == 0:
            _keep_claim(run, message_id)
            staged += len(rows)
            catalogue.stage(message_id, rows, Progress(STAGING, seen, staged, count, problems))
            rows = []
            failpoint("catalogue.staged")
    staged += len(rows)
    done = Progress(STAGING, seen, staged, count, problems)
    catalogue.stage(message_id, rows, done)
    return done


class _ClaimLostError(Exception):
    """Another run took the message over: this run's lease ran out while it worked on it."""


def _keep_claim(run: FlowRun, message_id: int) -> None:
    """Renew this run's lease on a message that takes longer than one lease to stage.

    Raises:
        _ClaimLostError: the lease ran out and another run holds the message now;
            this run stops working on it (what it staged stays staged).
    """
    if not run.store.claim(
        message_id, run_id=run.run_id, statuses=TO_PROCESS, lease_seconds=run.flow.claim_seconds
    ):
        raise _ClaimLostError(message_id)


def _row(record: StreamedRecord) -> StagedRow | None:
    """The stage row of a good record; None for a bad one (or one without a SKU)."""
    if record.values is None:
        return None
    sku = record.values.get("sku")
    if not isinstance(sku, str):
        record.problems.append(
            Problem(code="catalogue.no_key", message="the record has no SKU", line=record.line)
        )
        return None
    text = record_json(record.values)
    return StagedRow(record.index, sku, content_hash(text), text)


def _decide(run: FlowRun, catalogue: CatalogueStore, message_id: int, source: str) -> None:
    """Upsert the staged products and store the changed ones as batch files, in one transaction."""
    settings = _settings(run.flow)
    endpoint = run.endpoint("target")
    if not isinstance(endpoint, FileEndpoint):
        raise ConfigError(f"flow {run.flow.name}: a catalogue is delivered to files only")
    writer = BatchWriter(run.formats.get(endpoint.format))
    context = {
        "connection_id": run.connection.id,
        "flow": run.flow.name,
        "prefix": run.connection.prefix or "",
        "relation_id": run.connection.relation_id or "",
    }
    with catalogue.deciding(message_id) as decision:
        decision.merge(run.connection.id, run.flow.name, resend=run.resend)
        for number, page in enumerate(decision.changed(settings.records_per_file), start=1):
            key = f"{message_id}-{number:05d}"
            name = target_filename(endpoint, key, message_id, run.flow)
            payload, problems = writer.write((json.loads(record) for _, record in page), context)
            problems += [
                p.model_copy(update={"code": f"output.{p.code}", "message": f"output: {p.message}"})
                for p in writer.check(payload, source=name)
            ]
            if problems:  # a mapping fault: nothing may leave, nothing may count as sent
                raise _UndeliverableError(problems)
            decision.add_outbound(
                connection_id=run.connection.id,
                flow=run.flow.name,
                delivery_key=f"target:{posixpath.join(endpoint.folder, name)}",
                target_name=posixpath.join(endpoint.folder, name),
                payload=payload,
                document_key=f"{page[0][0]} .. {page[-1][0]} ({len(page)} products)",
                run_id=run.run_id,
            )
            failpoint("catalogue.page")
    log.info("message %d (%s): decided", message_id, source)


class _UndeliverableError(Exception):
    """The target format cannot express some changed products: the decision is rolled back.

    Sending the other products would store every changed product as sent,
    so the ones left out would never go out again; refusing the whole file
    (a mapping fault, for whoever maintains the mappings) keeps them owed.
    """

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:3]))
        self.problems = problems


def _final_problems(progress: Progress, pages: int) -> list[Problem]:
    """The bad records' problems, a count of those not stored, and one line on what went out."""
    problems = list(progress.problems)
    bad = progress.records_seen - progress.records_staged
    if progress.problem_count > len(problems):
        more = progress.problem_count - len(problems)
        problems.append(
            Problem(
                code=TRUNCATED,
                message=f"… and {more:,} more problems were not stored; only the first "
                f"{len(problems):,} are kept",
            )
        )
    summary = (
        f"{progress.records_seen:,} records read, {bad:,} left out for their problems, "
        f"{pages:,} batch file(s) of changed products"
    )
    problems.append(Problem(code="catalogue.summary", severity=Severity.INFO, message=summary))
    return problems


class _StoredPages(list[Message]):
    """A message's batch files, each read from the store only when delivery comes to it.

    Delivery goes through them once, in order, and asks whether there are
    any; holding every batch file of a million-product catalogue at once
    would cost hundreds of MB, so none is loaded before its turn.
    """

    def __init__(self, store: MessageStore, ids: list[int]) -> None:
        super().__init__()
        self._store = store
        self._ids = ids

    def __iter__(self) -> Iterator[Message]:
        return (self._store.get(message_id) for message_id in self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __bool__(self) -> bool:
        return bool(self._ids)
