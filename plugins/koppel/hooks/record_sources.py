"""The webshop's and the CRM's APIs: sources of orders, quotes and deals (seed 001).

Both follow the conventions of :mod:`koppel.hooks.json_api` and one more: a
record handed to the ERP is marked exported *per document type*, with the
number the ERP gave it (``POST /api/v1/<collection>/<reference>/exports``), so
one webshop order can go out as an order and later as its invoice, each once.
Listings take ``not_exported_as=<document type>`` to leave out what is done.
The contracts are in ``include/schemas/webshop/`` and ``include/schemas/crm/``.
"""

from __future__ import annotations

import json
from typing import ClassVar

from koppel.config import ApiEndpoint
from koppel.errors import ConfigError
from koppel.hooks.json_api import API_PREFIX, JsonApiError, JsonApiHook, api_path
from koppel.hooks.lenewblack import LeNewBlackHook


class WebshopError(JsonApiError):
    """The webshop refused a request (4xx)."""

    system: ClassVar[str] = "The webshop"


class CrmError(JsonApiError):
    """The CRM refused a request (4xx)."""

    system: ClassVar[str] = "The CRM"


class RecordSourceHook(JsonApiHook):
    """An API whose records are marked exported once per document type."""

    def mark_exported(
        self, collection: str, reference: str, document_type: str, erp_document_number: str
    ) -> None:
        """Record that ``reference`` became ERP document ``erp_document_number``; repeatable.

        Raises:
            JsonApiError: e.g. ``EXPORT_CONFLICT`` when the record was already
                exported as this type under another number.
        """
        body = json.dumps(
            {"document_type": document_type, "erp_document_number": erp_document_number}
        ).encode()
        self._request("POST", api_path(collection, reference, "exports"), body=body)

    def test_connection(self) -> tuple[bool, str]:
        """What the Airflow UI's "Test" button shows: one authenticated listing call."""
        collection = self.test_collection
        try:
            page = next(self.list_pages(collection, {}, page_size=1))
        except (JsonApiError, ConfigError) as exc:
            return False, str(exc)
        count = json.loads(page.body).get("total_count", "?")
        return True, f"Connected to {self.system}: {count} {collection}"

    #: The listing :meth:`test_connection` reads.
    test_collection: ClassVar[str] = "orders"


class WebshopHook(RecordSourceHook):
    """The webshop's API on the Airflow HTTP connection ``webshop_conn_id`` (token as password)."""

    conn_name_attr = "webshop_conn_id"
    default_conn_name = "webshop_default"
    hook_name = "Webshop"
    system: ClassVar[str] = "The webshop"
    error_class: ClassVar[type[JsonApiError]] = WebshopError


class CrmHook(RecordSourceHook):
    """The CRM's API on the Airflow HTTP connection ``crm_conn_id`` (token as password)."""

    conn_name_attr = "crm_conn_id"
    default_conn_name = "crm_default"
    hook_name = "CRM"
    system: ClassVar[str] = "The CRM"
    error_class: ClassVar[type[JsonApiError]] = CrmError
    test_collection: ClassVar[str] = "deals"


#: The hook of each HTTP source system, by the prefix of its formats (``webshop.order``).
SOURCE_HOOKS: dict[str, type[JsonApiHook]] = {
    "lenewblack": LeNewBlackHook,
    "webshop": WebshopHook,
    "crm": CrmHook,
}


def source_hook(endpoint: ApiEndpoint) -> JsonApiHook:
    """The hook for an HTTP source endpoint, chosen by its format's system.

    Raises:
        ConfigError: no HTTP source system reads that format.
    """
    system = endpoint.format.split(".", 1)[0]
    try:
        hook_class = SOURCE_HOOKS[system]
    except KeyError as exc:
        raise ConfigError(
            f"no HTTP source system reads format {endpoint.format!r}; known: "
            + ", ".join(SOURCE_HOOKS)
        ) from exc
    return hook_class(endpoint.conn_id)


def collection_of(operation: str) -> str:
    """The collection a source endpoint lists: ``/api/v1/orders`` -> ``orders``.

    Raises:
        ConfigError: the operation is not one collection under the API root.
    """
    name = operation.removeprefix(API_PREFIX).strip("/")
    if not name or "/" in name or ":" in name:
        raise ConfigError(f"HTTP source {operation!r} must name one collection: /api/v1/<name>")
    return name
