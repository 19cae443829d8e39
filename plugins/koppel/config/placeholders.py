"""Placeholders in connection files: ``{prefix}``, ``{relation_id}``, ``{connection_id}``, vars.

A template is written once for a platform, with the merchant-specific parts
as placeholders; they are filled in when a merchant's file is loaded. Two
kinds of names exist:

* config-time names (``prefix``, ``relation_id``, ``connection_id`` and every
  key of ``vars``) are known when the file is loaded and are resolved then;
* delivery-time names (``document_key``, ``message_id``, ``flow``) are known
  only when a file is written. They may appear only in ``filename`` fields,
  which therefore stay ``str.format`` templates after loading (literal braces
  stay escaped as ``{{``/``}}``).

Parsing uses :class:`string.Formatter` so escapes work exactly as in
``str.format``; attribute access, indexing and format specs are refused to
keep templates plain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

#: Names filled in when a connection file is loaded.
CONFIG_TIME_NAMES = ("prefix", "relation_id", "connection_id")
#: Names filled in only when an outbound file is named.
DELIVERY_TIME_NAMES = frozenset({"document_key", "message_id", "flow"})
#: Keys whose string values are delivery-time templates.
DELIVERY_TEMPLATE_KEYS = frozenset({"filename"})

_FORMATTER = Formatter()


@dataclass(frozen=True)
class PlaceholderIssue:
    """A placeholder that cannot be resolved, at a dotted field path."""

    field: str
    message: str


def template_names(text: str) -> list[str]:
    """Names of the placeholders in ``text`` (``{{`` escapes excluded).

    Raises:
        ValueError: when the braces are unbalanced.
    """
    return [name for _, name, _, _ in _FORMATTER.parse(text) if name is not None]


@dataclass
class PlaceholderResolver:
    """Resolves the config-time placeholders of one connection, collecting issues.

    Attributes:
        values: config-time names with their values.
        unset: config-time names the connection leaves empty, so a use of one
            is reported as "not set" rather than "unknown".
    """

    values: Mapping[str, str]
    unset: frozenset[str] = frozenset()
    issues: list[PlaceholderIssue] = field(default_factory=list)

    def resolve(self, value: Any, path: str) -> Any:
        """Return ``value`` with placeholders filled in every string inside it."""
        if isinstance(value, str):
            deferred = path.rsplit(".", 1)[-1] in DELIVERY_TEMPLATE_KEYS
            return self.render(value, path, deferred=deferred)
        if isinstance(value, Mapping):
            return {key: self.resolve(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, f"{path}.{index}") for index, item in enumerate(value)]
        return value

    def render(self, text: str, path: str, *, deferred: bool) -> str:
        """Fill one string; when ``deferred``, keep delivery-time names and escapes."""
        if "{" not in text and "}" not in text:
            return text
        try:
            parts = list(_FORMATTER.parse(text))
        except ValueError as exc:
            self.issues.append(PlaceholderIssue(path, f"invalid placeholder syntax: {exc}"))
            return text
        out: list[str] = []
        for literal, name, spec, conversion in parts:
            out.append(literal.replace("{", "{{").replace("}", "}}") if deferred else literal)
            if name is not None:
                out.append(self._replacement(name, bool(spec or conversion), path, deferred))
        return "".join(out)

    def _replacement(self, name: str, formatted: bool, path: str, deferred: bool) -> str:
        """The text that replaces ``{name}``; the placeholder itself when it cannot be filled."""
        if formatted:
            self._issue(path, f"placeholder {{{name}}} may not carry a format spec or conversion")
        elif name in self.values:
            return self.values[name]
        elif deferred and name in DELIVERY_TIME_NAMES:
            return f"{{{name}}}"
        elif name in self.unset:
            self._issue(path, f"uses {{{name}}} but the connection sets no {name}")
        elif name in DELIVERY_TIME_NAMES:
            self._issue(path, f"{{{name}}} is only known at delivery time: use it in a filename")
        else:
            known = ", ".join(sorted(self.values))
            self._issue(path, f"unknown placeholder {{{name}}}; known here: {known}")
        return f"{{{name}}}"

    def _issue(self, path: str, message: str) -> None:
        self.issues.append(PlaceholderIssue(path, message))


def resolve_document(
    document: Mapping[str, Any], connection_id: str
) -> tuple[dict[str, Any], list[PlaceholderIssue]]:
    """Resolve placeholders in the ``vars`` and ``flows`` of a merged connection document.

    Vars are resolved first, against the config-time names only, so that a var
    such as ``sftp_conn_id: sftp_{prefix}`` can itself be used in flows.
    """
    base = {"connection_id": connection_id}
    for name in ("prefix", "relation_id"):
        if document.get(name) is not None:
            # A value of the wrong type is reported by validation; filling it in
            # here avoids a second, misleading "sets no prefix" problem.
            base[name] = str(document[name])
    unset = frozenset(CONFIG_TIME_NAMES) - base.keys()
    resolver = PlaceholderResolver(values=base, unset=unset)
    result = dict(document)
    raw_vars = document.get("vars")
    if isinstance(raw_vars, Mapping):
        resolved_vars = resolver.resolve(raw_vars, "vars")
        result["vars"] = resolved_vars
        scalars = {k: str(v) for k, v in resolved_vars.items() if isinstance(v, (str, int, float))}
        resolver.values = {**scalars, **base}
    if "flows" in document:
        result["flows"] = resolver.resolve(document["flows"], "flows")
    return result, resolver.issues
