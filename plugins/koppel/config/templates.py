"""Platform templates: ``extends`` chains and the deep merge of a file over its template.

A merchant file says ``extends: _itsperfect_monta`` and only what differs.
Templates may extend other templates, up to :data:`MAX_DEPTH` levels, so a
platform can share a base between variants without becoming a maze. Merging
is a deep merge of mappings in which the more specific file wins; lists are
replaced, never concatenated, so a merchant can shorten a template's list.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from koppel.config.problems import ConfigProblem, ConnectionFileError
from koppel.config.yaml_files import YAML_SUFFIXES, read_mapping

#: Most templates one connection may stack on top of each other.
MAX_DEPTH = 4

_TEMPLATE_NAME = re.compile(r"^_[a-z0-9][a-z0-9_]*$")

#: A template as cached: parsed, broken, or absent.
_Parsed = tuple[Path, dict[str, Any]] | ConnectionFileError | None
#: A file's identity and version: inode, size and modification time in nanoseconds.
_Version = tuple[int, int, int]
#: Templates read by this process, by path, with the version they were read at.
#: Every connection file of a platform extends the same template, and a process
#: that builds many connections' DAGs (a DagBag over the DAGs folder, ``koppel
#: lint``) parses it once; a changed file has a new version and is read again.
_READ: dict[Path, tuple[_Version, tuple[Path, dict[str, Any]] | ConnectionFileError]] = {}


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """A new mapping: ``overlay`` over ``base``, recursing into mappings only.

    Containers from ``base`` are copied, so a cached template is never shared
    with (or changed through) the connections built from it.
    """
    merged = {key: _copy(value) for key, value in base.items()}
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = _copy(value)
    return merged


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


class TemplateStore:
    """The templates of one folder, each parsed once however many files extend it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._parsed: dict[str, _Parsed] = {}

    def expand(self, path: Path, document: dict[str, Any]) -> dict[str, Any]:
        """``document`` merged over its chain of templates, without ``extends``.

        Raises:
            ConnectionFileError: for a missing or broken template, a cycle, or a
                chain deeper than :data:`MAX_DEPTH`; problems name the file
                holding the offending ``extends``.
        """
        chain = [document]
        seen = [path.stem]
        current_path, current = path, document
        while "extends" in current:
            name = self._check_extends(current_path, current["extends"], seen)
            current_path, current = self._load(current_path, name)
            chain.append(current)
            seen.append(name)
        merged: dict[str, Any] = {}
        for layer in reversed(chain):
            merged = deep_merge(merged, {k: v for k, v in layer.items() if k != "extends"})
        return merged

    def _check_extends(self, path: Path, name: Any, seen: list[str]) -> str:
        """Validate one ``extends`` value against naming, cycles and depth."""
        if not isinstance(name, str) or not _TEMPLATE_NAME.match(name):
            raise _problem(path, f"extends {name!r} must name a template (name starts with _)")
        if name in seen:
            cycle = " -> ".join([*seen, name])
            raise _problem(path, f"templates extend each other in a cycle: {cycle}")
        if len(seen) > MAX_DEPTH:
            chain = " -> ".join(seen)
            raise _problem(path, f"templates nest deeper than {MAX_DEPTH} levels: {chain}")
        return name

    def _load(self, extender: Path, name: str) -> tuple[Path, dict[str, Any]]:
        """The parsed template ``name``, from the cache or the folder."""
        if name not in self._parsed:
            self._parsed[name] = self._read(name)
        entry = self._parsed[name]
        if isinstance(entry, ConnectionFileError):
            raise entry
        if entry is None:
            raise _problem(extender, f"template {name!r} not found in {self.directory}")
        return entry

    def _read(self, name: str) -> _Parsed:
        for suffix in YAML_SUFFIXES:
            candidate = self.directory / f"{name}{suffix}"
            try:
                status = candidate.stat()
            except OSError:
                continue
            if not stat.S_ISREG(status.st_mode):
                continue
            version = (status.st_ino, status.st_size, status.st_mtime_ns)
            cached = _READ.get(candidate)
            if cached is not None and cached[0] == version:
                return cached[1]
            parsed: tuple[Path, dict[str, Any]] | ConnectionFileError
            try:
                parsed = candidate, read_mapping(candidate)
            except ConnectionFileError as exc:
                parsed = exc
            _READ[candidate] = (version, parsed)
            return parsed
        return None


def _problem(path: Path, message: str) -> ConnectionFileError:
    return ConnectionFileError(path, [ConfigProblem(str(path), "extends", message)])
