"""One exception tree for the whole project.

Every error Koppel raises on purpose derives from :class:`KoppelError`, so a
caller can tell our failures from bugs. Sync errors say whether a retry can
help: a transport hiccup is retriable, a broken document is not.
"""

from __future__ import annotations


class KoppelError(Exception):
    """Root of every error Koppel raises on purpose."""


class ConfigError(KoppelError):
    """A connection file, template or mapping is invalid."""


class MappingError(KoppelError):
    """A mapping definition cannot be applied (a bug in the mapping, not the data)."""


class SyncError(KoppelError):
    """Something went wrong while moving documents."""

    retriable: bool = False


class RetriableSyncError(SyncError):
    """A transient failure (network, timeout): the same step may succeed later."""

    retriable = True


class FatalSyncError(SyncError):
    """A failure that will not go away by retrying (bad credentials, missing folder)."""


class TransportError(RetriableSyncError):
    """A file server, SOAP service or HTTP API could not be reached or refused an operation."""


class StoreError(KoppelError):
    """The message store cannot be reached or is not migrated."""
