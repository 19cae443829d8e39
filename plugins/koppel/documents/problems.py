"""Problems found in a document: what is wrong, where, and how bad.

Rules and validators return problems instead of raising, so that every check
runs and the user sees the whole list at once; the engine decides the outcome
(an error rejects the message, a warning is shown but lets it through).
"""

from __future__ import annotations

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
