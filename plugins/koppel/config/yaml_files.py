"""Reading one YAML file into a mapping, fast and safely.

The DAG factory reads hundreds of these files at every parse, so this uses
libyaml's ``CSafeLoader`` (ten times faster than the pure-Python loaders) and
never expands environment variables in the text: a value is exactly what the
file says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from koppel.config.problems import ConfigProblem, ConnectionFileError

#: Suffixes of connection and template files.
YAML_SUFFIXES = (".yaml", ".yml")


def read_mapping(path: Path) -> dict[str, Any]:
    """Parse ``path`` and return its top-level mapping.

    Raises:
        ConnectionFileError: when the file cannot be read, is not valid YAML
            (the message gives line and column), or is not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(path, f"cannot read file: {exc}") from exc
    try:
        document = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        raise _error(path, _describe_yaml_error(exc)) from exc
    if not isinstance(document, dict):
        got = "nothing (empty file)" if document is None else f"a {type(document).__name__}"
        raise _error(path, f"top level must be a mapping of settings, got {got}")
    return document


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    """``YAML syntax error at line 4, column 9: ...`` (1-based, as editors count)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context:
        start = getattr(exc, "context_mark", None)
        begun = f" at line {start.line + 1}, column {start.column + 1}" if start else ""
        problem += f" ({context}{begun})"
    return f"YAML syntax error{where}: {problem}"


def _error(path: Path, message: str) -> ConnectionFileError:
    return ConnectionFileError(path, [ConfigProblem(str(path), "", message)])
