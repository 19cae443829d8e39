"""What a platform template asks of a new merchant, and the merchant file that answers it.

Seed 000 onboarded a merchant by copying another one's settings and changing
prefixes and ids by hand, which is how a forgotten id ends up pointing at the
wrong merchant. Here the platform template itself says what a merchant must
give, so nothing is copied from a neighbour:

* ``prefix`` and ``relation_id`` are needed when the template uses
  ``{prefix}`` / ``{relation_id}`` in a value, documents the placeholder in its
  comments (a template's header is where it says what a merchant sets), or
  writes a format whose mapping takes the value from the delivery context;
* ``channels`` are needed when a format the template writes takes ``origin``
  (or ``channel``) from the delivery context: Monta must know which webshop an
  order belongs to (``koppel.pipeline.context.delivery_context``);
* a ``{var}`` a template uses without a default under ``vars:`` must be given.

Everything here is pure: no Airflow, no network, no writing.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from koppel.config.base import IDENTIFIER
from koppel.config.connection import DAG_ID_SEPARATOR
from koppel.config.loader import connection_files
from koppel.config.placeholders import (
    CONFIG_TIME_NAMES,
    DELIVERY_TIME_NAMES,
    PlaceholderResolver,
    template_names,
)
from koppel.config.problems import ConnectionFileError
from koppel.config.templates import TemplateStore
from koppel.config.yaml_files import YAML_SUFFIXES, read_mapping
from koppel.documents import Channel
from koppel.errors import ConfigError, MappingError
from koppel.formats import FormatRegistry, default_registry
from koppel.mapping.definition import WriteNode

#: Delivery-context keys (``koppel.pipeline.context``) and the setting that supplies each.
CONTEXT_SETTINGS = {"origin": "channels", "channel": "channels", "relation_id": "relation_id"}
#: The origin an example merchant gives each channel (``<prefix>-webshop``), used when the
#: command names only the channel; IT's Perfect's own channel codes are webshop and wholesale.
DEFAULT_ORIGIN_SUFFIX = {Channel.B2C: "webshop", Channel.B2B: "wholesale"}

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_COMMENT_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_VAR_LINE = re.compile(r"^\s+([A-Za-z_][A-Za-z0-9_]*)\s*:")
_PLAIN_SCALAR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.@'-]*(?<! )$")


class OnboardingError(ConfigError):
    """The command was called wrongly: a missing or unusable option (exit 2)."""


@dataclass(frozen=True)
class Requirement:
    """One setting a platform needs from each merchant, and why it is needed."""

    setting: str
    """``prefix``, ``relation_id``, ``channels`` or ``vars.<name>``."""
    reason: str

    @property
    def option(self) -> str:
        """The command-line option that gives it."""
        if self.setting.startswith("vars."):
            return f"--var {self.setting.removeprefix('vars.')}=..."
        return "--" + self.setting.replace("_", "-")


@dataclass(frozen=True)
class Platform:
    """A platform template as a new merchant sees it.

    Attributes:
        name: the template's file name without ``_`` and suffix (``itsperfect_monta``).
        path: the template file.
        document: the template merged over its own ``extends`` chain.
        requirements: what every merchant of the platform must set, with the reason.
        var_defaults: the template's ``vars`` as written (placeholders unfilled).
        var_comments: the comment lines above each var in the template, to repeat them
            in the merchant file so its reader knows what each Airflow connection is.
    """

    name: str
    path: Path
    document: dict[str, Any]
    requirements: tuple[Requirement, ...]
    var_defaults: dict[str, str]
    var_comments: dict[str, list[str]] = field(default_factory=dict)

    @property
    def template(self) -> str:
        """The value of ``extends`` in a merchant file: ``_<platform>``."""
        return self.path.stem

    @property
    def id_prefix(self) -> str:
        """What a merchant id of this platform starts with: the platform's first word.

        Every example merchant is named so (``itsperfect_acme``, ``crm_adviesgroep``,
        ``scsn_techparts``): the id says which platform a merchant file belongs to.
        """
        return self.name.split("_", 1)[0] + "_"

    def needs(self, setting: str) -> bool:
        """Whether merchants of this platform must set ``setting``."""
        return any(r.setting == setting for r in self.requirements)

    def systems(self) -> tuple[str, str]:
        """The names of the template's source and target systems, for the file's header."""
        systems = self.document.get("systems") or {}
        return (
            str((systems.get("source") or {}).get("name", "source")),
            str((systems.get("target") or {}).get("name", "target")),
        )


@dataclass(frozen=True)
class MerchantSettings:
    """What the consultant gave for one new merchant (after parsing the options)."""

    connection_id: str
    name: str
    prefix: str | None = None
    relation_id: str | None = None
    channels: dict[Channel, str] = field(default_factory=dict)
    """Channel -> its origin (the merchant's channel setting on the far side)."""
    vars: dict[str, str] = field(default_factory=dict)
    """Vars the consultant set; the template's defaults fill the others."""
    alert_emails: tuple[str, ...] = ()


def platform_names(directory: Path) -> list[str]:
    """The platforms of a connections folder: its ``_<name>.yaml`` templates, sorted."""
    return sorted(
        path.stem.removeprefix("_")
        for path in directory.iterdir()
        if path.name.startswith("_") and path.suffix in YAML_SUFFIXES and path.is_file()
    )


def read_platform(
    directory: Path, name: str, *, registry: FormatRegistry | None = None
) -> Platform:
    """The platform template ``_<name>`` of ``directory`` with what it needs of a merchant.

    Args:
        directory: the connections folder holding the template.
        name: the platform, with or without its leading ``_``.
        registry: the wire formats, to see which delivery-context values the
            template's output formats take (default: the project's).

    Raises:
        OnboardingError: no such template (the known ones are listed), or it is broken.
    """
    name = name.removeprefix("_")
    path = next(
        (directory / f"_{name}{s}" for s in YAML_SUFFIXES if (directory / f"_{name}{s}").is_file()),
        None,
    )
    if path is None:
        known = ", ".join(platform_names(directory)) or "none"
        raise OnboardingError(f"no platform template _{name}.yaml in {directory}; known: {known}")
    try:
        document = TemplateStore(directory).expand(path, read_mapping(path))
    except ConnectionFileError as exc:
        raise OnboardingError(f"platform template {path} is broken: {exc}") from exc
    text = path.read_text(encoding="utf-8")
    raw_vars = document.get("vars") or {}
    var_defaults = (
        {str(k): str(v) for k, v in raw_vars.items()} if isinstance(raw_vars, dict) else {}
    )
    contexts = written_contexts(document, registry or default_registry())
    requirements = _requirements(document, text, var_defaults, contexts)
    return Platform(
        name=name,
        path=path,
        document=document,
        requirements=requirements,
        var_defaults=var_defaults,
        var_comments=_var_comments(text),
    )


def written_contexts(
    document: Mapping[str, Any], registry: FormatRegistry
) -> dict[str, frozenset[str]]:
    """For each format the template writes, the delivery-context keys its mapping reads.

    A format the registry does not know (or cannot load) counts as reading none:
    ``koppel lint`` reports it, on the merchant file written next.
    """
    result: dict[str, frozenset[str]] = {}
    for _, _, name in _written_formats(document):
        try:
            result[name] = format_context_keys(registry.get(name).definition.write)
        except (ConfigError, MappingError, AttributeError):
            result[name] = frozenset()
    return result


def format_context_keys(write: WriteNode | None) -> frozenset[str]:
    """Every ``context:`` key a mapping's ``write:`` tree reads."""

    def walk(node: WriteNode) -> Iterator[str]:
        if node.context_key is not None:
            yield node.context_key
        for child in node.children:
            yield from walk(child)

    return frozenset(walk(write)) if write is not None else frozenset()


def _requirements(
    document: Mapping[str, Any],
    text: str,
    var_defaults: Mapping[str, str],
    written_contexts: Mapping[str, frozenset[str]],
) -> tuple[Requirement, ...]:
    """What a merchant must set, in the order the options are documented."""
    found: dict[str, str] = {}
    for where, names in _used_placeholders(document):
        for name in names:
            if name in ("prefix", "relation_id"):
                found.setdefault(name, f"the template uses {{{name}}} in {where}")
            elif name not in {*CONFIG_TIME_NAMES, *DELIVERY_TIME_NAMES, *var_defaults}:
                found.setdefault(f"vars.{name}", f"the template uses {{{name}}} in {where}")
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            for name in _COMMENT_PLACEHOLDER.findall(line):
                if name in ("prefix", "relation_id"):
                    found.setdefault(name, f"the template's comments document {{{name}}}")
    for flow_name, role, format_name in _written_formats(document):
        for key in sorted(written_contexts.get(format_name, frozenset())):
            setting = CONTEXT_SETTINGS.get(key)
            if setting is not None:
                found.setdefault(
                    setting,
                    f"flow {flow_name} writes {format_name} ({role}), which takes {key} "
                    f"from the connection",
                )
    order = ["prefix", "relation_id", "channels"]
    ranked = sorted(found, key=lambda s: (order.index(s) if s in order else len(order), s))
    return tuple(Requirement(setting, found[setting]) for setting in ranked)


def _used_placeholders(document: Mapping[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """``(dotted field, placeholder names)`` for every string under ``vars`` and ``flows``."""

    def walk(value: Any, path: str) -> Iterator[tuple[str, list[str]]]:
        if isinstance(value, str):
            try:
                names = template_names(value)
            except ValueError:
                return  # unbalanced braces: the loader reports them
            if names:
                yield path, names
        elif isinstance(value, Mapping):
            for key, item in value.items():
                yield from walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, f"{path}.{index}")

    for section in ("vars", "flows"):
        if section in document:
            yield from walk(document[section], section)


def _written_formats(document: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """``(flow, role, format)`` of every endpoint a flow writes to (its target and reply)."""
    flows = document.get("flows")
    if not isinstance(flows, Mapping):
        return
    for flow_name, flow in flows.items():
        if not isinstance(flow, Mapping):
            continue
        for role in ("target", "reply"):
            endpoint = flow.get(role)
            if isinstance(endpoint, Mapping) and isinstance(endpoint.get("format"), str):
                yield str(flow_name), role, endpoint["format"]


def _var_comments(text: str) -> dict[str, list[str]]:
    """The comment lines directly above each key of the top-level ``vars:`` block."""
    comments: dict[str, list[str]] = {}
    inside = False
    pending: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            pending = []
            continue
        if not line[0].isspace():
            if line.startswith("#"):
                continue
            inside = line.rstrip() == "vars:"
            pending = []
            continue
        if not inside:
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
        elif match := _VAR_LINE.match(line):
            comments[match.group(1)] = pending
            pending = []
    return comments


# --- checking the options -------------------------------------------------------------


def settings_problems(platform: Platform, settings: MerchantSettings, directory: Path) -> list[str]:
    """Everything wrong with the options, each naming the option; empty when they are usable.

    Refuses what would be silently ignored as well as what is missing: a
    ``--relation-id`` for a platform that has none would suggest Monta knows it.
    """
    problems = _id_problems(platform, settings.connection_id, directory)
    for requirement in platform.requirements:
        if requirement.setting.startswith("vars."):
            var = requirement.setting.removeprefix("vars.")
            if not settings.vars.get(var):
                problems.append(f"{requirement.option} is required ({requirement.reason})")
        elif not getattr(settings, requirement.setting):
            problems.append(
                f"{requirement.option} is required for platform {platform.name} "
                f"({requirement.reason})"
            )
    for setting in ("relation_id", "channels"):
        if getattr(settings, setting) and not platform.needs(setting):
            option = "--" + setting.replace("_", "-")
            problems.append(f"{option}: platform {platform.name} does not use a {setting}")
    if settings.prefix is not None and not _PREFIX.match(settings.prefix):
        problems.append(
            f"--prefix {settings.prefix!r} may hold only letters, digits, '_' and '-', "
            "starting with a letter or digit"
        )
    if settings.relation_id is not None and not settings.relation_id.isdigit():
        problems.append(f"--relation-id {settings.relation_id!r} must be a number (Monta's id)")
    if not settings.name.strip() or any(ord(c) < 32 for c in settings.name):
        problems.append("--name must be one line of text")
    known_vars = set(platform.var_defaults) | {
        r.setting.removeprefix("vars.")
        for r in platform.requirements
        if r.setting.startswith("vars.")
    }
    for var in sorted(set(settings.vars) - known_vars):
        known = ", ".join(sorted(known_vars)) or "none"
        problems.append(f"--var {var}: platform {platform.name} has no such var; known: {known}")
    problems += _prefix_taken(platform, settings, directory)
    return problems


def _id_problems(platform: Platform, connection_id: str, directory: Path) -> list[str]:
    """The id must be a valid connection id, named after the platform, and not taken."""
    if not IDENTIFIER.match(connection_id) or DAG_ID_SEPARATOR in connection_id:
        return [
            f"--id {connection_id!r} must be lower-case letters, digits and single "
            "underscores, starting with a letter (it becomes the file name and the DAG ids)"
        ]
    problems = []
    rest = connection_id.removeprefix(platform.id_prefix)
    if rest == connection_id or not rest:
        problems.append(
            f"--id {connection_id!r}: a merchant of platform {platform.name} is called "
            f"{platform.id_prefix}<name>, as the others are"
        )
    for suffix in YAML_SUFFIXES:
        existing = directory / f"{connection_id}{suffix}"
        if existing.exists():
            problems.append(f"--id {connection_id!r}: {existing} exists already; not overwritten")
    return problems


def _prefix_taken(platform: Platform, settings: MerchantSettings, directory: Path) -> list[str]:
    """Two merchants of one platform with one prefix would read each other's folders."""
    if not settings.prefix:
        return []
    wanted = settings.prefix.lower()
    problems = []
    for path in connection_files(directory):
        try:
            document = read_mapping(path)
        except ConnectionFileError:
            continue  # a broken neighbour is lint's business, not this merchant's
        if document.get("extends") == platform.template and (
            str(document.get("prefix", "")).lower() == wanted
        ):
            problems.append(f"--prefix {settings.prefix!r} is already used by {path}")
    return problems


def default_name(connection_id: str, platform: Platform) -> str:
    """A display name from the id when ``--name`` is not given: ``itsperfect_jacky_lux`` ->
    ``Jacky Lux``."""
    rest = connection_id.removeprefix(platform.id_prefix) or connection_id
    return " ".join(word.capitalize() for word in rest.split("_") if word)


def parse_channels(text: str, prefix: str | None) -> dict[Channel, str]:
    """``B2C,B2B`` or ``B2C=acme-shop,B2B=acme-trade``: each channel with its origin.

    A channel without an origin gets the example merchants' ``<prefix>-webshop`` /
    ``<prefix>-wholesale``.

    Raises:
        OnboardingError: an unknown channel, one named twice, or an empty origin.
    """
    channels: dict[Channel, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        code, _, origin = item.partition("=")
        try:
            channel = Channel(code.strip().upper())
        except ValueError:
            known = ", ".join(c.value for c in Channel)
            raise OnboardingError(f"--channels: unknown channel {code!r}; known: {known}") from None
        if channel in channels:
            raise OnboardingError(f"--channels: {channel} is named twice")
        if "=" in item and not origin.strip():
            raise OnboardingError(f"--channels: {channel}= needs an origin after '='")
        channels[channel] = (
            origin.strip() or f"{prefix or 'merchant'}-{DEFAULT_ORIGIN_SUFFIX[channel]}"
        )
    if not channels:
        raise OnboardingError("--channels names no channel; give e.g. B2C,B2B")
    return channels


def parse_vars(items: Sequence[str]) -> dict[str, str]:
    """``--var key=value`` options as a mapping.

    Raises:
        OnboardingError: an item without ``=`` or with an empty key, or a key named twice.
    """
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OnboardingError(f"--var {item!r} must be key=value")
        if key in result:
            raise OnboardingError(f"--var {key} is given twice")
        result[key] = value.strip()
    return result


# --- the merchant file ----------------------------------------------------------------


def merchant_vars(platform: Platform, settings: MerchantSettings) -> dict[str, str]:
    """Every var of the platform with the merchant's value: given, else the template's
    default with ``{prefix}``, ``{relation_id}`` and ``{connection_id}`` filled in."""
    values = {"connection_id": settings.connection_id}
    if settings.prefix:
        values["prefix"] = settings.prefix
    if settings.relation_id:
        values["relation_id"] = settings.relation_id
    resolver = PlaceholderResolver(values=values)
    result = {
        name: resolver.render(default, f"vars.{name}", deferred=False)
        for name, default in platform.var_defaults.items()
    }
    return {**result, **settings.vars}


def render_merchant(platform: Platform, settings: MerchantSettings) -> str:
    """The merchant's connection file: a short header, then only what is its own.

    Written by hand rather than dumped, so that it reads like the example
    merchants (flow-style channels, the template's comment above each var).
    ``enabled`` is left out: the merchant's DAGs start paused, as seed 000's
    connections were created disabled, until someone switches them on.
    """
    source, target = platform.systems()
    header = (
        f"{settings.name}: {source} -> {target}. Everything not set here comes from the "
        f"platform template {platform.path.name}. Flows start paused (enabled: false by "
        "default) until switched on here or per flow. Written by `koppel new`."
    )
    lines = [
        *(f"# {line}" for line in textwrap.wrap(header, width=86)),
        f"extends: {platform.template}",
        f"name: {_scalar(settings.name)}",
    ]
    if settings.prefix:
        lines.append(f"prefix: {_scalar(settings.prefix)}")
    if settings.relation_id:
        lines.append(f"relation_id: {json.dumps(settings.relation_id)}")
    if settings.channels:
        lines.append("channels:")
        lines += [
            f"  {channel.value}: {{origin: {_scalar(origin)}}}"
            for channel, origin in settings.channels.items()
        ]
    values = merchant_vars(platform, settings)
    if values:
        lines.append("vars:")
        for name, value in values.items():
            lines += [f"  # {comment}" for comment in platform.var_comments.get(name, [])]
            lines.append(f"  {name}: {_scalar(value)}")
    if settings.alert_emails:
        lines.append(f"alert_emails: [{', '.join(_scalar(a) for a in settings.alert_emails)}]")
    return "\n".join(lines) + "\n"


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when it reads back as the same string, else quoted.

    A JSON string is a valid YAML double-quoted scalar, so ``json.dumps`` quotes
    anything (``#``, ``: ``, ``yes``, ``0123``) safely.
    """
    if _PLAIN_SCALAR.match(value):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)
