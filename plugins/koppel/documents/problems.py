"""Problems found in a document: what is wrong, where, and how bad.

Rules and validators return problems instead of raising, so that every check
runs and the user sees the whole list at once; the engine decides the outcome
(an error rejects the message, a warning is shown but lets it through).
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    """How a problem affects the message."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    """A decision worth recording (a line removed for backorder), not a fault."""


class Problem(BaseModel):
    """One finding on a message: the rule that found it and the place it points at."""

    model_config = ConfigDict(frozen=True)

    code: str
    """Stable identifier of the rule or check, e.g. ``xml.syntax`` or ``xsd.invalid``."""
    message: str
    severity: Severity = Severity.ERROR
    file: str | None = None
    line: int | None = None
    field: str | None = None
    """Path of the field at fault: an XPath in a wire document or a canonical field path."""

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        at = f" [{self.field}]" if self.field else ""
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.severity.value} {self.code}{at}: {self.message}"


def has_errors(problems: list[Problem]) -> bool:
    """True when any problem rejects the message."""
    return any(p.severity is Severity.ERROR for p in problems)


#: Problems stored per message by default; a hostile file can carry hundreds of thousands.
PROBLEM_LIMIT = 100

#: Code of the one problem that counts those :func:`cap_problems` left out.
TRUNCATED = "problems.truncated"

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def cap_problems(problems: list[Problem], limit: int = PROBLEM_LIMIT) -> list[Problem]:
    """The first ``limit`` problems and, when some are left out, one problem counting them.

    A file with thousands of errors would otherwise cost storage, e-mail and
    report space in proportion to whatever a partner sends; the first ones
    show what is wrong, the count shows how much. The summary carries the
    severity of the worst problem left out, so capping never turns a
    rejection into a pass. Summaries of an earlier cap are kept (after the
    other problems) and never counted, so capping twice loses no count.
    """
    findings = [p for p in problems if p.code != TRUNCATED]
    if len(findings) <= limit:
        return list(problems)
    summaries = [p for p in problems if p.code == TRUNCATED]
    return [*findings[:limit], *summaries, _summary(findings[limit:], limit)]


def _summary(dropped: list[Problem], limit: int) -> Problem:
    """One ``problems.truncated`` problem saying how many of which codes were not stored."""
    codes = Counter(p.code for p in dropped)
    by_code = ", ".join(f"{count:,} {code}" for code, count in codes.most_common())
    files = {p.file for p in dropped}
    return Problem(
        code=TRUNCATED,
        message=(
            f"… and {len(dropped):,} more problems were not stored ({by_code}); "
            f"only the first {limit:,} are kept"
        ),
        severity=max((p.severity for p in dropped), key=_RANK.__getitem__),
        file=files.pop() if len(files) == 1 else None,
    )
