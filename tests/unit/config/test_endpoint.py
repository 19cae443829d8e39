"""Endpoint defaults and outbound file naming."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from koppel.config import ApiEndpoint, FileEndpoint
from koppel.errors import FatalSyncError

BASE: dict[str, Any] = {
    "transport": "sftp",
    "conn_id": "sftp_acme",
    "folder": "/acme/monta/orders/",
    "format": "monta.order",
}


def test_side_folders_default_under_the_folder() -> None:
    endpoint = FileEndpoint.model_validate(BASE)
    assert endpoint.folder == "/acme/monta/orders"
    assert endpoint.archive_folder == "/acme/monta/orders/archive"
    assert endpoint.error_folder == "/acme/monta/orders/error"
    assert endpoint.pattern == "*.xml"
    assert endpoint.stable_seconds == 2.0
    assert endpoint.done_suffix is None


def test_side_folders_can_be_set() -> None:
    endpoint = FileEndpoint.model_validate({**BASE, "archive_folder": "/archive/acme"})
    assert endpoint.archive_folder == "/archive/acme"
    assert endpoint.error_folder == "/acme/monta/orders/error"


INVALID = [
    ({"folder": "/acme/../etc"}, "folder", "must not contain '.', '..'"),
    ({"error_folder": "errors"}, "error_folder", "must be an absolute path"),
    ({"format": "Monta-Order"}, "format", "dotted lower-case name"),
    ({"format": "monta"}, "format", "dotted lower-case name"),
    ({"transport": "scp"}, "transport", "Input should be 'sftp' or 'ftp'"),
    ({"filename": "out/{document_key}.xml"}, "filename", "plain file name"),
    ({"filename": "{prefix}.xml"}, "filename", "unknown placeholder(s) ['prefix']"),
    ({"done_suffix": ""}, "done_suffix", "non-empty file suffix"),
    ({"conn_id": "sftp acme"}, "conn_id", "not a valid Airflow connection id"),
    ({"stable_seconds": -1}, "stable_seconds", "greater than or equal to 0"),
]


@pytest.mark.parametrize(("change", "field", "message"), INVALID)
def test_invalid(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FileEndpoint.model_validate({**BASE, **change})
    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert message in error["msg"]


def test_render_filename() -> None:
    endpoint = FileEndpoint.model_validate({**BASE, "filename": "acme_{flow}_{document_key}.xml"})
    name = endpoint.render_filename(document_key="SO-1", message_id="m1", flow="orders")
    assert name == "acme_orders_SO-1.xml"


def test_render_filename_refuses_paths() -> None:
    endpoint = FileEndpoint.model_validate(BASE)
    with pytest.raises(FatalSyncError, match="unsafe"):
        endpoint.render_filename(document_key="../../etc/passwd", message_id="m", flow="orders")


API = {"transport": "http", "conn_id": "lenewblack", "format": "lenewblack.product"}


def test_an_http_resource_is_filled_from_the_record() -> None:
    endpoint = ApiEndpoint.model_validate(
        {**API, "operation": "/api/v1/price-lists/:price_list_id/prices/:sku"}
    )
    assert endpoint.resource_params() == ["price_list_id", "sku"]
    path = endpoint.render_resource({"price_list_id": "WHOLESALE-EUR", "sku": "JL DRESS/1"})
    assert path == "/api/v1/price-lists/WHOLESALE-EUR/prices/JL%20DRESS%2F1"


@pytest.mark.parametrize("record", [{}, {"sku": ""}, {"sku": ".."}])
def test_a_resource_without_its_field_is_refused(record: dict[str, str]) -> None:
    endpoint = ApiEndpoint.model_validate({**API, "operation": "/api/v1/products/:sku"})
    with pytest.raises(FatalSyncError, match=":sku"):
        endpoint.render_resource(record)
