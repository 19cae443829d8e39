"""What a writer needs to know beyond the document: the connection's side of the deal."""

from __future__ import annotations

import re

from koppel.config import ConnectionConfig, FileEndpoint, FlowConfig
from koppel.documents import CanonicalModel, Problem
from koppel.documents.keys import document_key

_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def delivery_context(
    connection: ConnectionConfig, flow: FlowConfig, document: CanonicalModel
) -> tuple[dict[str, str], list[Problem]]:
    """Values a mapping may write that are not in the document (origin code, relation id).

    A document for a channel the connection has no settings for is a problem,
    not a guess: Monta must know which webshop (origin) an order belongs to.
    """
    context = {
        "connection_id": connection.id,
        "flow": flow.name,
        "prefix": connection.prefix or "",
        "relation_id": connection.relation_id or "",
    }
    problems: list[Problem] = []
    channel = getattr(document, "channel", None)
    if channel is not None and connection.channels:
        settings = connection.channels.get(channel)
        if settings is None:
            configured = ", ".join(sorted(str(c) for c in connection.channels))
            problems.append(
                Problem(
                    code="channel.not_configured",
                    message=(
                        f"document {document_key(document)} is for channel {channel}, but "
                        f"connection {connection.id} only has settings for {configured}"
                    ),
                    field="channel",
                )
            )
        else:
            context["channel"] = str(channel)
            context["origin"] = settings.origin
    return context, problems


def target_filename(
    endpoint: FileEndpoint, key: str | None, message_id: int, flow: FlowConfig
) -> str:
    """The outbound file name from the endpoint's ``filename`` template, safe on any server."""
    safe_key = _UNSAFE_FILENAME_CHARS.sub("_", key or f"message-{message_id}")
    return endpoint.render_filename(
        document_key=safe_key, message_id=str(message_id), flow=flow.name
    )
