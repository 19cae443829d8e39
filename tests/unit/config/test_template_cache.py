"""A process reads a template once for all the files extending it, and again once it changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from koppel.config import ConnectionFileError, load_connection, templates
from koppel.config.templates import TemplateStore

TEMPLATE = (
    "platform: cached\ndescription: {description}\n"
    "systems:\n  source: {{name: A, kind: erp}}\n  target: {{name: B, kind: wms}}\n"
)


def _write_template(folder: Path, description: str) -> Path:
    path = folder / "_base.yaml"
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(TEMPLATE.format(description=description))
    # A rewrite within the filesystem's timestamp granularity must still look new.
    os.utime(path, ns=(before + 10**9, before + 10**9))
    return path


def test_the_template_is_parsed_once_across_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_template(tmp_path, "first")
    for name in ("one", "two"):
        (tmp_path / f"{name}.yaml").write_text(f"extends: _base\nname: {name}\n")
    reads: list[Path] = []
    real = templates.read_mapping

    def counted(path: Path) -> dict[str, Any]:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(templates, "read_mapping", counted)
    assert load_connection(tmp_path / "one.yaml").description == "first"
    assert load_connection(tmp_path / "two.yaml").description == "first"
    assert reads == [tmp_path / "_base.yaml"]


def test_a_changed_template_is_read_again(tmp_path: Path) -> None:
    _write_template(tmp_path, "first")
    connection = tmp_path / "shop.yaml"
    connection.write_text("extends: _base\nname: Shop\n")
    assert load_connection(connection).description == "first"
    _write_template(tmp_path, "second")
    assert load_connection(connection).description == "second"


def test_a_broken_template_fixed_loads(tmp_path: Path) -> None:
    template = _write_template(tmp_path, "first")
    template.write_text("platform: [unclosed\n")
    os.utime(template, ns=(1, 1))
    connection = tmp_path / "shop.yaml"
    connection.write_text("extends: _base\nname: Shop\n")
    with pytest.raises(ConnectionFileError, match="YAML syntax error"):
        load_connection(connection)
    _write_template(tmp_path, "fixed")
    assert load_connection(connection).description == "fixed"


def test_a_cached_template_is_never_changed_through_a_connection(tmp_path: Path) -> None:
    _write_template(tmp_path, "first")
    store = TemplateStore(tmp_path)
    merged = store.expand(tmp_path / "a.yaml", {"extends": "_base"})
    merged["systems"]["source"]["name"] = "changed"
    again = TemplateStore(tmp_path).expand(tmp_path / "b.yaml", {"extends": "_base"})
    assert again["systems"]["source"]["name"] == "A"
