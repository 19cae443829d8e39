"""Run one contract case through the engine a DAG run uses, without servers.

The case's input is received by the flow's own receive step (a file flow's
``receive_batch`` from an in-memory server, an API flow's ``receive_answers``),
then ``process_pending`` parses, validates, applies the flow's rules, maps and
validates the output, and "delivers" into memory. What the case observes is
what the store holds afterwards: the inbound message's status and problems and
its outbound copies, in the order the flow stored them.

Determinism: every case gets a fresh SQLite store, so the inbound message is
always message 1 and the names and ids built from it (``{message_id}`` in a
file name, an order response's id) are the same on every run; and it runs on
a fixed day (``today`` in case.yaml, :func:`koppel.pipeline.clock.fixed_today`),
the day rules date their answers by (an order response's issue date).
"""

from __future__ import annotations

import posixpath
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from sqlalchemy import Engine

from koppel.config import ConnectionConfig, FileEndpoint, FlowConfig
from koppel.contract.cases import Case
from koppel.contract.lookups import case_lookups
from koppel.contract.memory import MemoryFileSession, RecordingDestinations
from koppel.contract.spec import MasterData
from koppel.documents import Order, OrderLine, Problem, StockLevel
from koppel.formats import FormatRegistry, default_registry
from koppel.pipeline.api_receive import Received, receive_answers
from koppel.pipeline.clock import fixed_today
from koppel.pipeline.delivery import is_rejection_reply
from koppel.pipeline.process import process_pending
from koppel.pipeline.receive import receive_batch
from koppel.store import MasterDataStore, Message, MessageStore, create_store_engine, migrate

#: The run id every case's messages carry.
RUN_ID = "contract"
#: The flow name the seeded master data's placeholder message is stored under: no flow's.
_SEED_FLOW = "_contract_master_data"


@dataclass(frozen=True)
class Output:
    """One outbound document the flow stored for the message."""

    role: str
    """``target``, ``reply``, or ``rejection`` (an answer sent with a rejection)."""
    name: str
    """Where it goes: a file path, a resource, an operation and key, a table and key."""
    payload: bytes
    extension: str
    """``xml``, ``json`` or ``txt``: how the payload is compared and stored."""


@dataclass
class CaseOutcome:
    """What a case did: its message's final status, problems and outputs, or why it did not run."""

    status: str | None = None
    problems: list[Problem] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    error: str | None = None


def run_case(case: Case, formats: FormatRegistry | None = None) -> CaseOutcome:
    """Run ``case`` in a temporary folder and return its outcome.

    Args:
        case: A discovered case.
        formats: The formats to read and write with; the project's own
            (``include/mappings``) by default. A test may pass a registry on a
            copy of the mappings to see what a mapping change does.

    A case that cannot run (a broken ``case.yaml``, a lookup the flow's rules
    need but the case does not give) returns an outcome with ``error`` set.
    """
    if case.error is not None or case.connection is None or case.input_path is None:
        return CaseOutcome(error=case.error or f"{case.label}: cannot run")
    registry = formats or default_registry()
    with tempfile.TemporaryDirectory(prefix="koppel-case-") as tmp:
        engines: list[Engine] = []
        try:
            return _run(case, case.connection, registry, Path(tmp), engines)
        except Exception as exc:  # a broken case fails alone, named, without a traceback
            return CaseOutcome(error=f"{type(exc).__name__}: {exc}")
        finally:
            for engine in engines:
                engine.dispose()


def _run(
    case: Case,
    connection: ConnectionConfig,
    formats: FormatRegistry,
    workdir: Path,
    engines: list[Engine],
) -> CaseOutcome:
    assert case.input_path is not None
    flow = _with_options(connection.flows[case.flow], case)
    (workdir / "store.sqlite").write_bytes(_empty_store())
    engines.append(create_store_engine(f"sqlite:///{workdir / 'store.sqlite'}"))
    store = MessageStore(engines[-1])
    master = MasterDataStore(engines[-1])
    lookups = case_lookups(case.spec.lookups, workdir, engines)
    destinations = RecordingDestinations()
    message_id = _receive(case, flow, store, destinations.session)
    _seed(master, store, connection.id, case.spec.master_data)
    with fixed_today(case.spec.today):
        process_pending(
            store,
            master,
            formats,
            connection,
            flow,
            run_id=RUN_ID,
            destination=destinations.get,
            lookups=lookups,
            message_ids=[message_id],
        )
    message = store.get(message_id)
    made = store.outputs_of(connection_id=connection.id, flow=flow.name, parent_ids=[message_id])
    outputs = [_output(formats, flow, out) for out in made.get(message_id, [])]
    return CaseOutcome(
        status=message.status.value, problems=list(message.problems), outputs=outputs
    )


@cache
def _empty_store() -> bytes:
    """A new store's SQLite file, migrated once per process: each case starts from a copy.

    Migrating takes a fifth of a second; a few hundred cases would spend a
    minute creating the same empty tables.
    """
    with tempfile.TemporaryDirectory(prefix="koppel-store-") as tmp:
        path = Path(tmp) / "store.sqlite"
        engine = create_store_engine(f"sqlite:///{path}")
        try:
            migrate(engine)
        finally:
            engine.dispose()
        return path.read_bytes()


def _with_options(flow: FlowConfig, case: Case) -> FlowConfig:
    """The flow with the case's ``options`` over the connection's."""
    if not case.spec.options:
        return flow
    return flow.model_copy(update={"options": {**flow.options, **case.spec.options}})


def _receive(case: Case, flow: FlowConfig, store: MessageStore, session: MemoryFileSession) -> int:
    """Store the input as the flow's receive step does; return its message id.

    A file flow's input is put in the source folder of an in-memory server
    (with its done marker, when the flow waits for one) and picked up by
    ``receive_batch``, so the receive step's own checks (size, pattern) apply.

    Raises:
        ValueError: the receive step did not take the file (its name does not
            match the flow's pattern).
    """
    assert case.input_path is not None
    assert case.connection is not None
    connection, input_path = case.connection, case.input_path
    payload = input_path.read_bytes()
    source = flow.source
    if isinstance(source, FileEndpoint):
        name = case.spec.source_name or input_path.name
        path = name if name.startswith("/") else posixpath.join(source.folder, name)
        session.files[path] = payload
        if source.done_suffix:
            session.files[path + source.done_suffix] = b""
        outcome = receive_batch(session, store, connection, flow, run_id=RUN_ID)
        if not outcome.message_ids:
            raise ValueError(
                f"the receive step did not take {path}: does its name match the flow's "
                f"pattern {source.pattern!r}? (set source_name in case.yaml)"
            )
        return outcome.message_ids[0]
    name = case.spec.source_name or "input"
    received = receive_answers([Received(name, payload)], store, connection, flow, run_id=RUN_ID)
    return received.message_ids[0]


def _seed(
    master: MasterDataStore, store: MessageStore, connection_id: str, data: MasterData
) -> None:
    """Put the case's master data in the store: the last stock report and the orders sent."""
    if data.stock is not None:
        master.replace_stock(
            connection_id,
            [StockLevel(sku=sku, quantity=quantity) for sku, quantity in data.stock.items()],
            as_of=data.stock_as_of,
            message_id=None,
        )
    if not data.orders:
        return
    # A reservation names the message its order came from: a placeholder in no flow.
    seeded = store.receive(
        connection_id=connection_id,
        flow=_SEED_FLOW,
        source_name="master_data.orders",
        payload=b"",
        run_id=RUN_ID,
    ).message_id
    for reserved in data.orders:
        order = Order(
            order_id=reserved.order_id,
            lines=[
                OrderLine(line_id=line.line_id, sku=line.sku, quantity=Decimal(line.quantity))
                for line in reserved.lines
            ],
        )
        master.reserve(connection_id, order, message_id=seeded)
        if reserved.status != "open":
            master.close_order(connection_id, reserved.order_id, reserved.status)


def _output(formats: FormatRegistry, flow: FlowConfig, out: Message) -> Output:
    """An outbound copy as a case sees it: its role, target name, bytes and kind."""
    role = out.source_name.split(":", 1)[0]
    endpoint = flow.reply if role == "reply" else flow.target
    extension = "txt"
    if endpoint is not None:
        try:
            extension = formats.get(endpoint.format).syntax
        except Exception:  # an unknown format was already reported by the run itself
            extension = "txt"
    if is_rejection_reply(out):
        role = "rejection"
    return Output(role=role, name=out.target_name or "", payload=out.payload, extension=extension)
