"""Problems found in connection files, and the error that carries them.

Every problem names the file and the dotted field (``flows.orders.schedule``)
so that a broken connection can be fixed without reading a traceback; all
problems of a file are collected before raising, so one lint run shows them
all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from koppel.config.masking import MASK, looks_secret, mask_in
from koppel.errors import ConfigError

_MAX_SHOWN = 60


@dataclass(frozen=True, order=True)
class ConfigProblem:
    """One thing wrong with a connection file.

    Attributes:
        file: the file at fault (a template when the problem is in a template).
        field: dotted path of the field, ``""`` for the file as a whole.
        message: what is wrong, never showing a secret value.
    """

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '(file)'}: {self.message}"


class ConnectionFileError(ConfigError):
    """A connection file cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, path: Path, problems: Sequence[ConfigProblem]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{path}: invalid connection file\n{lines}")


def problems_from_validation(
    file: str, error: ValidationError, known_keys: Iterable[str]
) -> list[ConfigProblem]:
    """Turn pydantic's errors into problems with dotted fields and masked values.

    Errors below an invalid dict key (``flows.order``) are dropped: once the key
    is wrong, complaints about its contents are noise.
    """
    details = error.errors(include_url=False)
    bad_keys = [_loc(d["loc"][:-1]) for d in details if d["loc"][-1:] == ("[key]",)]
    keys = sorted(set(known_keys))
    problems = []
    for detail in details:
        field = _loc(detail["loc"])
        if detail["loc"][-1:] != ("[key]",) and any(field.startswith(f"{k}.") for k in bad_keys):
            continue
        problems.append(ConfigProblem(file, field, _message(detail, field, keys)))
    return problems


_TRANSPORTS = frozenset({"sftp", "ftp", "soap", "http"})
#: Endpoint fields whose pydantic location carries the union's tag (``source.sftp.folder``).
_ENDPOINT_FIELDS = frozenset({"source", "target", "reply"})


def _loc(loc: tuple[int | str, ...]) -> str:
    """``('flows', 'orders', 'source', 'sftp', 'folder')`` -> ``flows.orders.source.folder``.

    Pydantic names the chosen member of a tagged union (the endpoint's
    transport) in the location; the user wrote no such key, so it is dropped.
    """
    parts: list[str] = []
    for part in loc:
        if part == "[key]" or (parts and parts[-1] in _ENDPOINT_FIELDS and part in _TRANSPORTS):
            continue
        parts.append(str(part))
    return ".".join(parts)


def _message(detail: ErrorDetails, field: str, known_keys: Sequence[str]) -> str:
    """A readable message for one pydantic error, suggesting a key for typos."""
    key = field.rsplit(".", 1)[-1]
    if detail["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, known_keys, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key!r}{hint}"
    message = detail["msg"].removeprefix("Value error, ")
    value = detail.get("input")
    if looks_secret(field):
        return mask_in(message, value) + (f" (got {MASK})" if value is not None else "")
    if isinstance(value, bool) and detail["type"] == "string_type":
        shown = str(value).lower()
        return f"{message} (got {shown}: YAML reads yes/no/on/off as booleans; quote it)"
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        shown = repr(value)
        if shown not in message and detail["type"] != "missing":
            message += f" (got {shown[:_MAX_SHOWN]})"
    return message
