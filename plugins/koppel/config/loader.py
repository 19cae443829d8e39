"""Loading connection files: read, merge the template, fill placeholders, validate.

This runs at every DAG parse for every connection file, so it does no network
and imports nothing from Airflow. Each file is loaded on its own: a broken file
becomes a :class:`ConnectionFileError` listing every problem in it, and never
stops the others from loading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from koppel.config.connection import ChannelSettings, ConnectionConfig, SystemRef, Systems
from koppel.config.document_types import document_type_problems
from koppel.config.endpoint import ApiEndpoint, FileEndpoint
from koppel.config.flows import FlowConfig
from koppel.config.masking import secret_fields
from koppel.config.options import option_problems
from koppel.config.placeholders import resolve_document
from koppel.config.problems import ConfigProblem, ConnectionFileError, problems_from_validation
from koppel.config.templates import TemplateStore
from koppel.config.yaml_files import YAML_SUFFIXES, read_mapping

_MODELS: tuple[type[BaseModel], ...] = (
    ConnectionConfig,
    FlowConfig,
    FileEndpoint,
    ApiEndpoint,
    Systems,
    SystemRef,
    ChannelSettings,
)
#: Fields the loader fills in itself, never from the file.
_DERIVED_KEYS = frozenset({"id", "path"})
#: Every key a connection file may use, to suggest the right one for a typo.
KNOWN_KEYS = frozenset(name for model in _MODELS for name in model.model_fields)


@dataclass
class LoadResult:
    """What :func:`load_all` found: the connections that loaded and the files that did not."""

    connections: list[ConnectionConfig] = field(default_factory=list)
    errors: list[ConnectionFileError] = field(default_factory=list)


def connection_files(directory: Path) -> list[Path]:
    """Connection files of a folder, sorted: YAML files not starting with ``_``."""
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix in YAML_SUFFIXES and not path.name.startswith("_") and path.is_file()
    )


def load_connection(path: Path, *, templates_dir: Path | None = None) -> ConnectionConfig:
    """Load one connection file; templates are looked up next to it unless told otherwise.

    Raises:
        ConnectionFileError: listing every problem found in the file or its templates.
    """
    return load_with(path, TemplateStore(templates_dir or path.parent))


def load_all(directory: Path) -> LoadResult:
    """Load every connection file of ``directory``, each template parsed once."""
    store = TemplateStore(directory)
    result = LoadResult()
    for path in connection_files(directory):
        try:
            result.connections.append(load_with(path, store))
        except ConnectionFileError as exc:
            result.errors.append(exc)
    return result


def load_with(path: Path, store: TemplateStore) -> ConnectionConfig:
    """Load one connection file against a shared template store (see :func:`load_connection`)."""
    try:
        merged = store.expand(path, read_mapping(path))
    except ConnectionFileError as exc:
        raise ConnectionFileError(path, exc.problems) from exc
    problems = _secret_problems(path, merged) + [
        ConfigProblem(str(path), key, f"{key} is taken from the file name; remove this key")
        for key in _DERIVED_KEYS & merged.keys()
    ]
    document, issues = resolve_document(merged, path.stem)
    problems += [ConfigProblem(str(path), issue.field, issue.message) for issue in issues]
    try:
        config = ConnectionConfig.model_validate({**document, "id": path.stem, "path": path})
    except ValidationError as exc:
        problems += problems_from_validation(str(path), exc, KNOWN_KEYS)
        raise ConnectionFileError(path, _unique(problems)) from exc
    problems += option_problems(config)
    problems += document_type_problems(config)
    if problems:
        raise ConnectionFileError(path, _unique(problems))
    return config


def _secret_problems(path: Path, document: dict[str, Any]) -> list[ConfigProblem]:
    """Credentials belong in Airflow connections; a secret-looking value in YAML is an error."""
    return [
        ConfigProblem(
            str(path),
            name,
            "looks like a secret: keep credentials in the Airflow connection, not in YAML",
        )
        for name in secret_fields(document)
    ]


def _unique(problems: Iterable[ConfigProblem]) -> list[ConfigProblem]:
    """Problems in order of discovery, each once."""
    return list(dict.fromkeys(problems))
