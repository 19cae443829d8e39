"""Template chains and deep merge; secret detection and masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from koppel.config import ConnectionFileError, load_connection
from koppel.config.masking import looks_secret
from koppel.config.problems import problems_from_validation
from koppel.config.templates import MAX_DEPTH, deep_merge


def test_deep_merge_overlay_wins_and_lists_are_replaced() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    merged = deep_merge(base, {"a": {"y": [3]}, "c": None})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 1, "c": None}
    merged["a"]["x"] = 99
    assert base["a"]["x"] == 1


def _chain(directory: Path, depth: int) -> Path:
    """A connection on top of ``depth`` templates, the deepest holding the full platform."""
    (directory / f"_t{depth}.yaml").write_text(
        "platform: deep\nsystems:\n  source: {name: A, kind: erp}\n  target: {name: B, kind: wms}\n"
    )
    for level in range(1, depth):
        (directory / f"_t{level}.yaml").write_text(f"extends: _t{level + 1}\n")
    connection = directory / "deep.yaml"
    connection.write_text("extends: _t1\nname: Deep\n")
    return connection


def test_templates_may_nest_up_to_the_limit(tmp_path: Path) -> None:
    config = load_connection(_chain(tmp_path, MAX_DEPTH))
    assert config.platform == "deep"


def test_templates_nested_too_deep_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConnectionFileError) as caught:
        load_connection(_chain(tmp_path, MAX_DEPTH + 1))
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == (str(tmp_path / f"_t{MAX_DEPTH}.yaml"), "extends")
    assert f"deeper than {MAX_DEPTH} levels" in problem.message


def test_extends_must_name_a_template(tmp_path: Path) -> None:
    connection = tmp_path / "plain.yaml"
    connection.write_text("extends: ../secrets\nname: Plain\n")
    with pytest.raises(ConnectionFileError) as caught:
        load_connection(connection)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("extends", "extends '../secrets' must name a template (name starts with _)")
    ]


def test_secret_looking_var_is_refused_without_its_value(tmp_path: Path) -> None:
    connection = tmp_path / "typed.yaml"
    connection.write_text(
        "name: Typed\nplatform: p\nsystems:\n  source: {name: A, kind: erp}\n"
        "  target: {name: B, kind: wms}\nvars:\n  api_token: 123456789\n"
        "channels:\n  B2C: {origin: 987654321, options: {}}\n"
    )
    with pytest.raises(ConnectionFileError) as caught:
        load_connection(connection)
    text = str(caught.value)
    assert "123456789" not in text
    assert "vars.api_token: looks like a secret" in text


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("sftp_password", True),
        ("api-token", True),
        ("private_key", True),
        ("flows.orders.source.passphrase", True),
        ("sftp_conn_id", False),
        ("monkey", False),
        ("keyboard", False),
        ("folder", False),
    ],
)
def test_looks_secret(key: str, secret: bool) -> None:
    assert looks_secret(key) is secret


class _Credentials(BaseModel):
    api_key: str

    @field_validator("api_key")
    @classmethod
    def _echo(cls, value: str) -> str:
        raise ValueError(f"api key {value!r} is too short")


def test_validation_messages_mask_secret_inputs() -> None:
    with pytest.raises(ValidationError) as caught:
        _Credentials(api_key="hunter2")
    [problem] = problems_from_validation("f.yaml", caught.value, known_keys=[])
    assert (problem.field, problem.message) == ("api_key", "api key *** is too short (got ***)")
