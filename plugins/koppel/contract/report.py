"""Run many cases, say which pass, and (``--update``) pin what they do now."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from koppel.contract.cases import EXPECTED_FILE, Case, discover
from koppel.contract.expected import compare, pin
from koppel.contract.runner import CaseOutcome, run_case
from koppel.formats import FormatRegistry


@dataclass(frozen=True)
class CaseResult:
    """One case's verdict: passed, and if not, why (a diff or an error)."""

    case: Case
    passed: bool
    diff: str = ""
    updated: bool = False
    """``--update`` wrote its pinned outcome this run."""

    @property
    def name(self) -> str:
        """The case as output names it: ``itsperfect_acme orders/xsd_violation``."""
        return self.case.label


@dataclass
class CasesReport:
    """What :func:`run_cases` found, case by case, and the flows without cases."""

    results: list[CaseResult] = field(default_factory=list)
    uncovered: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """How many cases passed (an updated case passes)."""
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        """How many cases failed."""
        return sum(not r.passed for r in self.results)

    @property
    def updated(self) -> int:
        """How many pinned outcomes ``--update`` wrote."""
        return sum(r.updated for r in self.results)

    def summary(self) -> str:
        """The last line of ``koppel test``: ``5 passed, 1 failed``."""
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        if self.uncovered:
            parts.append(f"{len(self.uncovered)} flow(s) without cases")
        return ", ".join(parts)


def check(case: Case, outcome: CaseOutcome) -> tuple[str, bool]:
    """Why ``outcome`` fails ``case`` (empty: it passes), and whether ``--update`` may fix it.

    A case that did not run, or whose hand-written ``expect`` does not hold,
    is not something to pin: only a difference from the pinned outcome is.
    """
    if outcome.error is not None:
        return f"{outcome.error}\n", False
    broken = _expectation_problems(case, outcome)
    if broken:
        return broken, False
    if not (case.folder / EXPECTED_FILE).is_file():
        return (
            f"no expected outcome yet for {case.connection_id}: run "
            f"`koppel test {case.connection_id} --update`\n",
            True,
        )
    return compare(case, outcome), True


def _expectation_problems(case: Case, outcome: CaseOutcome) -> str:
    expect = case.spec.expect
    lines = []
    if expect.status is not None and outcome.status != expect.status.value:
        lines.append(f"expect.status: {expect.status.value}, but the message is {outcome.status}")
    codes = {p.code for p in outcome.problems}
    missing = [code for code in expect.problems if code not in codes]
    if missing:
        found = ", ".join(sorted(codes)) or "none"
        lines.append(f"expect.problems: no {', '.join(missing)} among the problems ({found})")
    if not lines:
        return ""
    where = f" (from template {case.template})" if case.template else ""
    return "".join(f"{line}{where}\n" for line in lines)


def run_cases(
    connections_dir: Path,
    connection_ids: Iterable[str] | None = None,
    *,
    flow: str | None = None,
    update: bool = False,
    out: Callable[[str], object] = print,
    formats: FormatRegistry | None = None,
) -> CasesReport:
    """Run the cases of ``connection_ids`` (all connections: None), print a line per case.

    Args:
        connections_dir: The folder of connection files and their ``.cases``.
        connection_ids: The connections to test; all by default.
        flow: Only this flow's cases.
        update: Pin the outcome of each case that differs or has none (the
            difference is printed first).
        out: Where the lines go (``print``; a list's ``append`` in tests).
        formats: The formats to run with; the project's own by default.

    Raises:
        CaseFileError: a named connection has no file.
    """
    found = discover(connections_dir, connection_ids, flow=flow)
    report = CasesReport(uncovered=found.uncovered)
    for case in found.cases:
        outcome = run_case(case, formats)
        difference, pinnable = check(case, outcome)
        if not difference:
            result = CaseResult(case, passed=True)
            out(f"ok   {case.label}")
        elif update and pinnable:
            out(f"diff {case.label}")
            out(_indented(difference))
            pin(case, outcome)
            result = CaseResult(case, passed=True, diff=difference, updated=True)
            out(f"updated {case.label}: {case.folder}")
        else:
            result = CaseResult(case, passed=False, diff=difference)
            out(f"FAIL {case.label}")
            out(_indented(difference))
        report.results.append(result)
    for connection_id, name in found.uncovered:
        out(f"no cases: flow {name} of {connection_id}")
    out(report.summary())
    return report


def _indented(text: str) -> str:
    return "".join(f"    {line}" for line in text.rstrip("\n").splitlines(keepends=True))
