"""Config-time placeholders are filled; delivery-time ones survive only in file names."""

from __future__ import annotations

import pytest

from koppel.config.placeholders import PlaceholderIssue, PlaceholderResolver, resolve_document


@pytest.fixture
def resolver() -> PlaceholderResolver:
    return PlaceholderResolver(
        values={"prefix": "acme", "connection_id": "itsperfect_acme"},
        unset=frozenset({"relation_id"}),
    )


RENDER = [
    ("/{prefix}/orders", "x.folder", "/acme/orders"),
    ("{prefix}_order_{document_key}.xml", "x.filename", "acme_order_{document_key}.xml"),
    ("{connection_id}_{flow}_{message_id}", "x.filename", "itsperfect_acme_{flow}_{message_id}"),
    # Escaped braces stay escaped in a delivery-time template, and are unescaped elsewhere.
    ("{{literal}}_{document_key}", "x.filename", "{{literal}}_{document_key}"),
    ("{{literal}}", "x.folder", "{literal}"),
    ("no placeholders", "x.folder", "no placeholders"),
]


@pytest.mark.parametrize(("text", "path", "expected"), RENDER)
def test_render(resolver: PlaceholderResolver, text: str, path: str, expected: str) -> None:
    deferred = path.endswith("filename")
    assert resolver.render(text, path, deferred=deferred) == expected
    assert resolver.issues == []


ISSUES = [
    ("/{warehouse}", "x.folder", "unknown placeholder {warehouse}; known here: connection_id, pre"),
    ("/{relation_id}", "x.folder", "uses {relation_id} but the connection sets no relation_id"),
    ("/{document_key}", "x.folder", "{document_key} is only known at delivery time"),
    ("{prefix:>10}.xml", "x.filename", "may not carry a format spec or conversion"),
    ("/{prefix", "x.folder", "invalid placeholder syntax"),
    ("{}", "x.folder", "unknown placeholder {}"),
]


@pytest.mark.parametrize(("text", "path", "message"), ISSUES)
def test_issue(resolver: PlaceholderResolver, text: str, path: str, message: str) -> None:
    resolver.render(text, path, deferred=path.endswith("filename"))
    [issue] = resolver.issues
    assert issue.field == path
    assert message in issue.message


def test_vars_resolve_first_and_feed_flows() -> None:
    document = {
        "prefix": "acme",
        "vars": {"sftp_conn_id": "sftp_{prefix}"},
        "flows": {"orders": {"source": {"conn_id": "{sftp_conn_id}", "tags": ["{prefix}"]}}},
        "name": "{not resolved outside vars and flows}",
    }
    resolved, issues = resolve_document(document, "itsperfect_acme")
    assert issues == []
    assert resolved["vars"] == {"sftp_conn_id": "sftp_acme"}
    assert resolved["flows"]["orders"]["source"] == {"conn_id": "sftp_acme", "tags": ["acme"]}
    assert resolved["name"] == "{not resolved outside vars and flows}"
    assert document["vars"] == {"sftp_conn_id": "sftp_{prefix}"}


def test_issue_path_is_dotted_through_lists() -> None:
    _, issues = resolve_document({"flows": {"orders": {"items": ["ok", "{nope}"]}}}, "c")
    assert issues == [
        PlaceholderIssue(
            "flows.orders.items.1", "unknown placeholder {nope}; known here: connection_id"
        )
    ]
