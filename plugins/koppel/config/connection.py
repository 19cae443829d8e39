"""One connection: a merchant's link between two systems, with its flows.

A connection is what one ``include/connections/<id>.yaml`` file describes
after its platform template is merged in and its placeholders are filled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from koppel.config.base import IDENTIFIER, ConfigModel
from koppel.config.flows import FlowConfig, FlowName
from koppel.config.ledger import ledger_accounts
from koppel.config.placeholders import CONFIG_TIME_NAMES, DELIVERY_TIME_NAMES
from koppel.documents import Channel
from koppel.errors import ConfigError
from koppel.rules.financial_mutation import LedgerAccounts

#: Separator between connection id and flow in a DAG id (fixed: ARCHITECTURE.md).
DAG_ID_SEPARATOR = "__"

_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_FLOW_NAMES = frozenset(FlowName)


def _known_flow(name: str) -> str:
    """A flow key must be one of :class:`FlowName`; the key stays a plain ``str`` for callers."""
    if name not in _FLOW_NAMES:
        known = ", ".join(FlowName)
        raise ValueError(f"unknown flow {name!r}; known flows: {known}")
    return name


#: Key of ``flows:``, checked against the known flows.
FlowKey = Annotated[str, AfterValidator(_known_flow)]


class SystemRef(ConfigModel):
    """A system on one side of a connection, e.g. IT's Perfect (an ERP)."""

    name: str
    kind: Literal["erp", "wms", "portal", "webshop", "crm", "pos", "network"]


class Systems(ConfigModel):
    """The two systems a connection links."""

    source: SystemRef
    target: SystemRef


class ChannelSettings(ConfigModel):
    """Per sales channel settings: IT's Perfect keeps one origin per channel (seed 000)."""

    origin: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, data: Any) -> Any:
        """``B2B:`` with nothing after it is a half-finished channel, not a default one."""
        if data is None:
            raise ValueError("channel has no settings; give at least its origin")
        return data


class ConnectionConfig(ConfigModel):
    """A fully resolved connection: template merged, placeholders filled.

    Attributes:
        id: the file name without extension; also the first half of DAG ids.
        enabled: flows start paused unless this or the flow says ``true``.
        vars: free config-time values usable as ``{name}`` placeholders.
    """

    id: str
    path: Path
    name: str
    platform: str
    description: str | None = None
    systems: Systems
    prefix: str | None = None
    relation_id: str | None = None
    channels: dict[Channel, ChannelSettings] = Field(default_factory=dict)
    enabled: bool = False
    vars: dict[str, str] = Field(default_factory=dict)
    flows: dict[FlowKey, FlowConfig] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    owner: str = "koppel"
    alert_emails: list[str] = Field(default_factory=list)
    alert_webhook_conn_id: str | None = None
    """Airflow HTTP connection of a chat webhook (Slack, Teams, Mattermost) for failure alerts."""
    ledger_accounts: dict[str, Any] | None = None
    """The chart financial mutations post to (``koppel.config.ledger``); None when none post."""

    @model_validator(mode="before")
    @classmethod
    def _name_flows(cls, data: Any) -> Any:
        """Give each flow its key as ``name``, so the key is written only once."""
        if not isinstance(data, dict) or not isinstance(data.get("flows"), dict):
            return data
        flows = {
            key: {"name": key, **flow} if isinstance(flow, dict) else flow
            for key, flow in data["flows"].items()
        }
        return {**data, "flows": flows}

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not IDENTIFIER.match(value) or DAG_ID_SEPARATOR in value:
            raise ValueError(
                f"connection id {value!r} (the file name) must be lower-case letters, digits "
                f"and single underscores, starting with a letter"
            )
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"platform {value!r} must be a lower-case identifier")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is not None and not _PREFIX.match(value):
            raise ValueError(f"prefix {value!r} may hold only letters, digits, '_' and '-'")
        return value

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = set(CONFIG_TIME_NAMES) | DELIVERY_TIME_NAMES
        for key in value:
            if not IDENTIFIER.match(key) or key in reserved:
                raise ValueError(
                    f"var name {key!r} must be an identifier other than {sorted(reserved)}"
                )
        return value

    @field_validator("flows")
    @classmethod
    def _flow_keys(cls, value: dict[str, FlowConfig]) -> dict[str, FlowConfig]:
        for key, flow in value.items():
            if flow.name != key:
                raise ValueError(f"flow {key!r} says name {flow.name!r}; leave name out")
        return value

    @field_validator("ledger_accounts")
    @classmethod
    def _ledger_accounts(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                ledger_accounts(value, where="ledger_accounts")
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("ledger_accounts: ")) from exc
        return value

    def accounts(self) -> LedgerAccounts:
        """The connection's ledger accounts, typed.

        Raises:
            ConfigError: the connection maps no accounts (checked on load when a
                flow posts financial mutations).
        """
        if self.ledger_accounts is None:
            raise ConfigError(f"connection {self.id!r} maps no ledger_accounts")
        return ledger_accounts(self.ledger_accounts, where=f"{self.path}: ledger_accounts")

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL.match(address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value

    def dag_id(self, flow: str) -> str:
        """The DAG id of one of this connection's flows: ``<connection id>__<flow>``.

        Raises:
            ConfigError: when the connection has no such flow.
        """
        if flow not in self.flows:
            raise ConfigError(f"connection {self.id!r} has no flow {flow!r}")
        return f"{self.id}{DAG_ID_SEPARATOR}{flow}"
