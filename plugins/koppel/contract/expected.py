"""The pinned outcome of a case: ``expected.yaml`` and the documents in ``expected/``.

``expected.yaml`` holds the message's status, its problems (severity, code,
field, file and line are compared; the message text is kept for the reader
but not compared, so rewording a message breaks no case) and the outputs in
the order the flow stored them, each naming its document under ``expected/``
(``<role>-<n>.<ext>``: ``target-1.xml``, ``reply-1.xml``).
"""

from __future__ import annotations

import shutil
from typing import Any

import yaml

from koppel.contract.cases import EXPECTED_DIR, EXPECTED_FILE, Case
from koppel.contract.compare import diff, document_diff
from koppel.contract.runner import CaseOutcome, Output
from koppel.documents import Problem

#: The keys a problem is compared by, in the order they are written.
PROBLEM_KEYS = ("severity", "code", "field", "file", "line")


def _problem(problem: Problem) -> dict[str, Any]:
    entry: dict[str, Any] = {"severity": problem.severity.value, "code": problem.code}
    for key in ("field", "file", "line"):
        value = getattr(problem, key)
        if value is not None:
            entry[key] = value
    entry["message"] = problem.message
    return entry


def output_files(outputs: list[Output]) -> list[str]:
    """Each output's file under the case folder: ``expected/<role>-<n>.<ext>``, n per role."""
    counts: dict[str, int] = {}
    names = []
    for output in outputs:
        counts[output.role] = counts.get(output.role, 0) + 1
        names.append(f"{EXPECTED_DIR}/{output.role}-{counts[output.role]}.{output.extension}")
    return names


def summary(outcome: CaseOutcome) -> dict[str, Any]:
    """What ``expected.yaml`` holds for an outcome."""
    return {
        "status": outcome.status,
        "problems": [_problem(p) for p in outcome.problems],
        "outputs": [
            {"role": o.role, "name": o.name, "file": f}
            for o, f in zip(outcome.outputs, output_files(outcome.outputs), strict=True)
        ],
    }


def _compared(data: Any) -> Any:
    """``expected.yaml`` as compared: problems without their texts, unknown keys dropped."""
    if not isinstance(data, dict):
        return data
    problems = data.get("problems") or []
    return {
        "status": data.get("status"),
        "problems": [
            {k: p[k] for k in PROBLEM_KEYS if k in p} if isinstance(p, dict) else p
            for p in problems
        ],
        "outputs": data.get("outputs") or [],
    }


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def compare(case: Case, outcome: CaseOutcome) -> str:
    """What differs between the pinned outcome and ``outcome``, as text; empty when equal.

    Raises:
        FileNotFoundError: the case has no pinned outcome yet.
    """
    path = case.folder / EXPECTED_FILE
    try:
        pinned = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return f"{path}: not YAML: {exc}\n"
    actual = summary(outcome)
    parts = []
    if _compared(pinned) != _compared(actual):
        parts.append(
            diff(
                _dump(_compared(pinned)),
                _dump(_compared(actual)),
                expected_name=str(path),
                actual_name=f"{case.label} (this run)",
            )
        )
    expected_files = [o.get("file") for o in (_compared(pinned).get("outputs") or [])]
    for output, name in zip(outcome.outputs, output_files(outcome.outputs), strict=True):
        if name not in expected_files:
            continue  # a new output: the summary's diff shows it
        document = case.folder / name
        if not document.is_file():
            parts.append(f"{document}: missing\n")
            continue
        parts.append(
            document_diff(
                document.read_bytes(),
                output.payload,
                output.extension,
                expected_name=str(document),
                actual_name=f"{output.name} (this run)",
            )
        )
    return "".join(parts)


def pin(case: Case, outcome: CaseOutcome) -> None:
    """Write ``outcome`` as the case's pinned outcome, replacing what was pinned before."""
    case.folder.mkdir(parents=True, exist_ok=True)
    documents = case.folder / EXPECTED_DIR
    if documents.is_dir():
        shutil.rmtree(documents)
    for output, name in zip(outcome.outputs, output_files(outcome.outputs), strict=True):
        target = case.folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(output.payload)
    header = (
        f"# Pinned outcome of {case.label}: written by `koppel test {case.connection_id} "
        "--update`.\n# Problems are compared by severity, code, field, file and line; "
        "their messages are for the reader.\n"
    )
    (case.folder / EXPECTED_FILE).write_text(header + _dump(summary(outcome)), encoding="utf-8")
