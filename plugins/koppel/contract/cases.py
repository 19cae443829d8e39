"""Finding a connection's contract cases: its template's, overlaid with its own.

Layout (docs/contract_tests.md)::

    <dir>/<connection>.cases/<flow>/<case>/   case.yaml, input.<ext>, expected.yaml, expected/
    <dir>/_<template>.cases/<flow>/<case>/    case.yaml, input.<ext>

A template's cases run for every connection that extends the template (at
any depth), with that connection's settings, so a change to the template is
checked against every merchant. A connection's own ``case.yaml`` or
``input.*`` of the same ``<flow>/<case>`` replaces the template's. The pinned
outcome always lives in the connection's folder: it carries the connection's
prefix, relation id and origins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from koppel.config import ConnectionConfig, ConnectionFileError, connection_files
from koppel.config.loader import load_with
from koppel.config.templates import TemplateStore
from koppel.config.yaml_files import read_mapping
from koppel.contract.spec import CaseFileError, CaseSpec, read_spec

#: The suffix of a folder of cases beside a connection or template file.
CASES_SUFFIX = ".cases"
CASE_FILE = "case.yaml"
EXPECTED_FILE = "expected.yaml"
EXPECTED_DIR = "expected"
INPUT_STEM = "input"


@dataclass(frozen=True)
class Case:
    """One case to run for one connection.

    Attributes:
        connection_id: The connection it runs for (with its settings).
        flow: The flow it runs through.
        name: The case folder's name.
        folder: Where its outcome is pinned: the connection's own case folder
            (which may not exist yet for a template case).
        input_path: The inbound payload, from the connection or its template.
        spec: ``case.yaml``, from the connection or its template.
        template: The template the case comes from; None for the connection's own.
        connection: The loaded connection; None when it failed to load.
        error: Why the case cannot run (a broken case.yaml, a missing input):
            it is reported as failed with this text.
    """

    connection_id: str
    flow: str
    name: str
    folder: Path
    input_path: Path | None
    spec: CaseSpec
    template: str | None = None
    connection: ConnectionConfig | None = field(default=None, compare=False, repr=False)
    error: str | None = None

    @property
    def label(self) -> str:
        """How output and pytest name the case: ``itsperfect_acme orders/xsd_violation``."""
        return f"{self.connection_id} {self.flow}/{self.name}"


@dataclass
class Discovery:
    """What :func:`discover` found: the cases, and the flows that have none."""

    cases: list[Case] = field(default_factory=list)
    uncovered: list[tuple[str, str]] = field(default_factory=list)
    """(connection, flow) pairs without a single case: reported, not failed."""


def discover(
    connections_dir: Path,
    connection_ids: Iterable[str] | None = None,
    *,
    flow: str | None = None,
) -> Discovery:
    """Every case of the connections in ``connections_dir`` (or of ``connection_ids``).

    A connection file that does not load, or a case that is broken, becomes a
    case carrying its ``error``, so one mistake fails one case and the rest run.

    Raises:
        CaseFileError: a connection named in ``connection_ids`` has no file,
            or none of the connections has the ``flow`` asked for.
    """
    files = {path.stem: path for path in connection_files(connections_dir)}
    wanted = list(dict.fromkeys(connection_ids)) if connection_ids else sorted(files)
    unknown = [c for c in wanted if c not in files]
    if unknown:
        raise CaseFileError(f"no connection file for {', '.join(unknown)} in {connections_dir}")
    store = TemplateStore(connections_dir)
    found = Discovery()
    flow_seen = flow is None
    for connection_id in wanted:
        path = files[connection_id]
        try:
            connection = load_with(path, store)
        except ConnectionFileError as exc:
            found.cases.append(_broken(connections_dir, connection_id, f"does not load: {exc}"))
            continue
        flow_seen = flow_seen or flow in connection.flows
        cases = _connection_cases(connections_dir, connection, _templates_of(path))
        cases = [c for c in cases if flow is None or c.flow == flow]
        found.cases += cases
        covered = {c.flow for c in cases}
        found.uncovered += [
            (connection_id, name)
            for name in connection.flows
            if name not in covered and (flow is None or name == flow)
        ]
    if not flow_seen:
        raise CaseFileError(f"none of the connections tested has a flow {flow!r}")
    return found


def _broken(connections_dir: Path, connection_id: str, error: str) -> Case:
    return Case(
        connection_id=connection_id,
        flow="-",
        name="-",
        folder=connections_dir / f"{connection_id}{CASES_SUFFIX}",
        input_path=None,
        spec=CaseSpec(),
        error=f"connection {connection_id} {error}",
    )


def _templates_of(path: Path) -> list[str]:
    """The templates a connection file extends, nearest first (``extends`` may chain)."""
    chain: list[str] = []
    current = path
    while True:
        try:
            name = read_mapping(current).get("extends")
        except ConnectionFileError:
            return chain
        if not isinstance(name, str) or name in chain:
            return chain
        chain.append(name)
        candidates = [path.parent / f"{name}{suffix}" for suffix in (".yaml", ".yml")]
        current = next((c for c in candidates if c.is_file()), candidates[0])
        if not current.is_file():
            return chain


def _connection_cases(
    connections_dir: Path, connection: ConnectionConfig, templates: list[str]
) -> list[Case]:
    """The connection's cases: each template's (farthest first), overlaid by nearer ones."""
    # (flow, case) -> the folders that hold it, nearest last, each with its owner
    layers: dict[tuple[str, str], list[tuple[str, Path]]] = {}
    owners = [*reversed(templates), connection.id]
    for owner in owners:
        root = connections_dir / f"{owner}{CASES_SUFFIX}"
        if not root.is_dir():
            continue
        for flow_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for case_dir in sorted(p for p in flow_dir.iterdir() if p.is_dir()):
                layers.setdefault((flow_dir.name, case_dir.name), []).append((owner, case_dir))
    own_root = connections_dir / f"{connection.id}{CASES_SUFFIX}"
    return [
        _overlay(connection, flow, name, folders, own_root / flow / name)
        for (flow, name), folders in sorted(layers.items())
    ]


def _overlay(
    connection: ConnectionConfig,
    flow: str,
    name: str,
    folders: list[tuple[str, Path]],
    own: Path,
) -> Case:
    """One case from its layers: the nearest ``case.yaml`` and the nearest ``input.*`` win."""
    spec_path: Path | None = None
    input_path: Path | None = None
    error: str | None = None
    for _, folder in folders:
        if (folder / CASE_FILE).is_file():
            spec_path = folder / CASE_FILE
        inputs = sorted(p for p in folder.iterdir() if p.is_file() and p.stem == INPUT_STEM)
        if len(inputs) > 1:
            error = f"{folder}: more than one input file ({', '.join(p.name for p in inputs)})"
        if inputs:
            input_path = inputs[0]
    first_owner = folders[0][0]
    template = first_owner if first_owner != connection.id else None
    spec = CaseSpec()
    try:
        spec = read_spec(spec_path)
    except CaseFileError as exc:
        error = error or str(exc)
    if input_path is None and error is None:
        error = f"{own}: no input file (input.<ext>) here or in a template's case of that name"
    if flow not in connection.flows and error is None:
        known = ", ".join(sorted(connection.flows))
        error = f"{own.parent}: connection {connection.id} has no flow {flow!r} (flows: {known})"
    return Case(
        connection_id=connection.id,
        flow=flow,
        name=name,
        folder=own,
        input_path=input_path,
        spec=spec,
        template=template,
        connection=connection,
        error=error,
    )
