"""Hardened JSON parsing: every JSON body from outside goes through :func:`parse_json`.

The same stance as :mod:`koppel.formats.xml`: a byte limit checked before
parsing, strict UTF-8 (RFC 8259), and every refusal a
:class:`JsonDocumentError` carrying one problem with the line and column.
Numbers with a fraction become :class:`~decimal.Decimal`, never float, so
``49.95`` stays ``49.95``; ``NaN`` and ``Infinity`` (which Python's json
accepts, JSON does not) are refused, as are duplicate keys: with two values
for one key there is no telling which one the sender meant.
"""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any, NoReturn

from koppel.documents import Problem
from koppel.errors import FatalSyncError
from koppel.formats.xml import DEFAULT_MAX_BYTES


class JsonDocumentError(FatalSyncError):
    """A body that must not or cannot be parsed; ``problem`` says why and where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _DuplicateKeyError(ValueError):
    pass


def _refuse(code: str, message: str, source: str, line: int | None = None) -> JsonDocumentError:
    return JsonDocumentError(Problem(code=code, message=message, file=source, line=line))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _decode(data: bytes, source: str) -> str:
    try:
        return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"bytes at offset {exc.start} are not valid UTF-8"
        raise _refuse("json.encoding", message, source, line) from exc


def parse_json(data: bytes, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> object:
    """Parse an untrusted JSON body or refuse it with one problem.

    Args:
        data: The raw bytes as received.
        source: Name of the file or message, recorded on the problem.
        max_bytes: Larger bodies are refused before parsing.

    Returns:
        The parsed value: dicts, lists, str, int, Decimal, bool and None.

    Raises:
        JsonDocumentError: With code ``json.too_large``, ``json.encoding``,
            ``json.duplicate_key`` or ``json.syntax``.
    """
    if len(data) > max_bytes:
        message = f"document is {len(data)} bytes, more than the limit of {max_bytes}"
        raise _refuse("json.too_large", message, source)
    text = _decode(data, source)
    if not text.strip():
        raise _refuse("json.syntax", "document is empty", source, 1)
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        message = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise _refuse("json.syntax", message, source, exc.lineno) from exc
    except _DuplicateKeyError as exc:
        raise _refuse("json.duplicate_key", str(exc), source) from exc
    except (ValueError, RecursionError) as exc:
        # NaN/Infinity, integers beyond Python's digit limit, absurd nesting.
        raise _refuse("json.syntax", str(exc) or type(exc).__name__, source) from exc
