"""The HTTP side of one SOAP call, without the server's state.

What lies between an HTTP request and :class:`~.service.IPSoftService`:
checking HTTP Basic credentials, reading the envelope with Koppel's hardened
parser, logging the call's values, checking the answer against the contract
before it is sent, and serving the WSDL with this server's address. Also the
threaded, quiet WSGI server classes the endpoint runs on.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from lxml import etree

from koppel.formats.xml import XmlDocumentError, parse_xml
from koppel.sandbox.ipsoft.service import IPSoftService
from koppel.sandbox.ipsoft.soap import (
    IPS_NS,
    SCHEMA_DIR,
    SOAP_ENV_NS,
    FaultError,
    check,
    envelope,
)

_MAX_REQUEST_BYTES = 5 * 1024 * 1024


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request, so a delayed answer never blocks the next call."""

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    """No access log on stderr: tests assert on :attr:`IPSoftServer.calls` instead."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def wsdl_document(url: str) -> bytes:
    """The project's WSDL with the service address pointing at ``url``."""
    tree = parse_xml((SCHEMA_DIR / "ipsoft.wsdl").read_bytes(), source="ipsoft.wsdl")
    for address in tree.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"):
        address.set("location", url)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


def authorized(header: str, username: str, password: str) -> bool:
    """Whether an ``Authorization`` header carries exactly these Basic credentials."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), username.encode()) and hmac.compare_digest(
        given.encode(), password.encode()
    )


def read_request(environ: dict[str, Any]) -> tuple[str, etree._Element]:
    """The operation and its request element, parsed with the hardened parser."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > _MAX_REQUEST_BYTES:
        raise FaultError("INVALID_REQUEST", f"request of {length} bytes is too large")
    data = environ["wsgi.input"].read(length)
    try:
        tree = parse_xml(data, source="request", max_bytes=_MAX_REQUEST_BYTES)
    except XmlDocumentError as exc:
        raise FaultError("INVALID_REQUEST", str(exc.problem)) from exc
    body = tree.getroot().find(f"{{{SOAP_ENV_NS}}}Body")
    request = body[0] if body is not None and len(body) else None
    if request is None or not isinstance(request.tag, str):
        raise FaultError("INVALID_REQUEST", "not a SOAP 1.1 envelope with a request in its Body")
    name = etree.QName(request)
    operation = name.localname.removesuffix("Request")
    if name.namespace != IPS_NS or not name.localname.endswith("Request"):
        raise FaultError("INVALID_REQUEST", f"unknown operation element {request.tag}")
    return operation, request


def request_args(request: etree._Element) -> dict[str, str]:
    """The request's leaf values by local name (first occurrence wins), for the call log."""
    args: dict[str, str] = {}
    for element in request.iterdescendants():
        if len(element) == 0 and isinstance(element.tag, str):
            args.setdefault(etree.QName(element).localname, (element.text or "").strip())
    return args


def answer(
    service: IPSoftService, schema: etree.XMLSchema, operation: str, request: etree._Element
) -> bytes:
    """Run the operation and check the answer against the contract before sending it."""
    try:
        response = service.handle(operation, request)
    except FaultError:
        raise
    except Exception as exc:
        raise FaultError("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", server=True) from exc
    problems = check(response, schema, operation)
    if problems:
        message = "emulator answer violates ipsoft.xsd: " + "; ".join(problems)
        raise FaultError("INTERNAL_ERROR", message, server=True)
    return envelope(response)
