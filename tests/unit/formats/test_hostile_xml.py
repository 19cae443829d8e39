"""Hostile and malformed XML: refused with one clear problem; nothing expanded or fetched."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from koppel.formats import XmlDocumentError, default_registry, parse_xml

SECRET = "koppel-secret-7f3a9c"


def _refusal(data: bytes, **kwargs: int) -> XmlDocumentError:
    with pytest.raises(XmlDocumentError) as caught:
        parse_xml(data, source="hostile.xml", **kwargs)
    assert caught.value.problem.file == "hostile.xml"
    return caught.value


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


class _CountingHandler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = b'<!ENTITY leak "fetched">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def dtd_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving a DTD; it records every request it gets."""
    requests: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/evil.dtd", requests
    finally:
        server.shutdown()
        server.server_close()


def test_xxe_to_a_local_file_is_refused_and_never_read(secret_file: Path) -> None:
    data = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE Orders [<!ENTITY xxe SYSTEM "file://{secret_file}">]>\n'
        "<Orders>&xxe;</Orders>\n"
    ).encode()
    error = _refusal(data)
    assert error.problem.code == "xml.doctype"
    assert error.problem.line == 2
    assert SECRET not in str(error)
    assert SECRET not in error.problem.model_dump_json()


def test_xxe_through_a_format_yields_only_a_problem(secret_file: Path) -> None:
    data = (
        f'<!DOCTYPE Orders [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
        '<Orders xmlns="urn:koppel:itsperfect:order:1"><Order><OrderNumber>&xxe;</OrderNumber>'
        "</Order></Orders>"
    ).encode()
    result = default_registry().get("itsperfect.order").read(data, source="xxe.xml")
    assert result.documents == []
    assert [p.code for p in result.problems] == ["xml.doctype"]
    assert all(SECRET not in p.model_dump_json() for p in result.problems)


def test_billion_laughs_is_refused_before_expansion() -> None:
    entities = "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>\n'
        "<lolz>&lol9;</lolz>"
    ).encode()
    assert _refusal(data).problem.code == "xml.doctype"


def test_external_dtd_over_the_network_is_never_fetched(
    dtd_server: tuple[str, list[str]],
) -> None:
    url, requests = dtd_server
    data = f'<?xml version="1.0"?>\n<!DOCTYPE Orders SYSTEM "{url}">\n<Orders>&leak;</Orders>'
    assert _refusal(data.encode()).problem.code == "xml.doctype"
    assert requests == []


def test_doctype_hidden_after_comments_and_in_utf16_is_found() -> None:
    data = (
        '<?xml version="1.0" encoding="UTF-16"?>\n<!-- hi -->\n'
        '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    )
    error = _refusal(data.encode("utf-16"))
    assert error.problem.code == "xml.doctype"
    assert error.problem.line == 3


def test_doctype_text_inside_a_prolog_comment_is_not_a_doctype() -> None:
    tree = parse_xml(b"<!-- <!DOCTYPE x> -->\n<a>ok</a>", source="comment.xml")
    assert tree.getroot().text == "ok"


def test_a_50_mb_file_is_refused_by_size_before_parsing() -> None:
    data = b"<a>" + b"x" * (50 * 1024 * 1024) + b"</a>"
    error = _refusal(data)
    assert error.problem.code == "xml.too_large"
    assert str(len(data)) in error.problem.message


def test_the_size_limit_is_configurable() -> None:
    assert _refusal(b"<a>0123456789</a>", max_bytes=10).problem.code == "xml.too_large"
    assert parse_xml(b"<a>0123456789</a>", source="ok.xml", max_bytes=17).getroot().tag == "a"


def test_latin1_bytes_under_a_utf8_declaration_are_an_encoding_error() -> None:
    data = '<?xml version="1.0" encoding="UTF-8"?>\n<a>\n<b>café</b></a>'.encode("latin-1")
    error = _refusal(data)
    assert error.problem.code == "xml.encoding"
    assert error.problem.line == 3


def test_an_unknown_declared_encoding_is_an_encoding_error() -> None:
    error = _refusal(b'<?xml version="1.0" encoding="no-such-codec"?><a/>')
    assert error.problem.code == "xml.encoding"


def test_truncated_xml_is_a_syntax_error_with_its_line() -> None:
    error = _refusal(b'<?xml version="1.0"?>\n<Orders>\n  <Order>\n    <OrderNumber>12')
    assert error.problem.code == "xml.syntax"
    assert error.problem.line == 4
    assert "OrderNumber" in error.problem.message


@pytest.mark.parametrize("data", [b"", b"   \n\t"])
def test_an_empty_file_is_a_syntax_error(data: bytes) -> None:
    error = _refusal(data)
    assert error.problem.code == "xml.syntax"
    assert error.problem.line == 1


def test_a_valid_document_keeps_source_lines() -> None:
    tree = parse_xml(b'<?xml version="1.0"?>\n<a>\n  <b>1</b>\n</a>\n', source="ok.xml")
    (b,) = tree.getroot()
    assert b.sourceline == 3


def test_nesting_deeper_than_256_levels_is_refused_in_our_words() -> None:
    data = b'<?xml version="1.0"?>\n' + b"<a>\n" * 300 + b"</a>" * 300
    error = _refusal(data)
    assert error.problem.code == "xml.too_deep"
    assert error.problem.message == "elements are nested deeper than the limit of 256 levels"
    assert error.problem.line == 258  # the 257th <a>, after the declaration line
    assert "XML_PARSE_HUGE" not in str(error)


def test_256_levels_of_nesting_are_allowed() -> None:
    parse_xml(b"<a>" * 256 + b"</a>" * 256, source="deep.xml")


def test_a_too_deep_document_read_by_a_format_yields_only_that_problem() -> None:
    data = b'<Orders xmlns="urn:koppel:itsperfect:order:1">' + b"<Order>" * 300
    result = default_registry().get("itsperfect.order").read(data, source="deep.xml")
    assert [(p.code, p.line) for p in result.problems] == [("xml.too_deep", 1)]


_TEN_MILLION_AND_ONE = b"x" * 10_000_001


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"<a>" + _TEN_MILLION_AND_ONE + b"</a>",
            "a text is longer than the limit of 10,000,000 bytes",
        ),
        (
            b'<a b="' + _TEN_MILLION_AND_ONE + b'"/>',
            "an attribute value, CDATA section or processing instruction is longer than "
            "the limit of 10,000,000 bytes",
        ),
        (
            b"<a><![CDATA[" + _TEN_MILLION_AND_ONE + b"]]></a>",
            "an attribute value, CDATA section or processing instruction is longer than "
            "the limit of 10,000,000 bytes",
        ),
        (
            b"<a><!--" + _TEN_MILLION_AND_ONE + b"--></a>",
            "a comment is longer than the limit of 10,000,000 bytes",
        ),
        (
            b"<" + b"a" * 50_001 + b"/>",
            "an element or attribute name is longer than the limit of 50,000 bytes",
        ),
    ],
    ids=["text", "attribute", "cdata", "comment", "name"],
)
def test_a_value_beyond_the_parser_limits_is_refused_in_our_words(
    data: bytes, message: str
) -> None:
    # Each fits the default 10 MiB file limit, so the parser's own limit is what refuses it.
    error = _refusal(data)
    assert (error.problem.code, error.problem.message, error.problem.line) == (
        "xml.too_long",
        message,
        1,
    )
    assert "XML_PARSE_HUGE" not in str(error)
