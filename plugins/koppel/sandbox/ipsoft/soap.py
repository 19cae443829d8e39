"""The contract's XML vocabulary: namespaces, element helpers, envelopes and faults.

Everything that reads or writes IPSoft XML goes through these few helpers, so
the namespace, the text form of values (booleans, UTC times, dates) and the
SOAP 1.1 envelope and fault layout are decided in one place. :func:`check`
validates against the project's ``ipsoft.xsd``, which both the requests and
the answers must satisfy.
"""

from __future__ import annotations

import copy
from datetime import date, datetime

from lxml import etree

from koppel import INCLUDE_DIR
from koppel.formats.schema import validate
from koppel.sandbox.ipsoft.clock import utc

IPS_NS = "urn:koppel:ipsoft:erp:1"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SCHEMA_DIR = INCLUDE_DIR / "schemas" / "ipsoft"


class FaultError(Exception):
    """A SOAP fault to answer: an IPSoft error code, a message, and whose fault it is."""

    def __init__(self, code: str, message: str, *, server: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.server = server


def q(name: str) -> str:
    """The qualified tag of an element in the IPSoft namespace."""
    return f"{{{IPS_NS}}}{name}"


def add(parent: etree._Element, name: str, value: object) -> etree._Element | None:
    """Append ``<ips:name>value</ips:name>``; ``None`` values are left out (optional elements)."""
    if value is None:
        return None
    child = etree.SubElement(parent, q(name))
    child.text = _xml_text(value)
    return child


def _xml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def text(element: etree._Element, name: str) -> str | None:
    """The text of child ``name`` (``""`` when empty), or ``None`` when it is absent."""
    child = element.find(q(name))
    return None if child is None else (child.text or "")


def required(element: etree._Element, name: str) -> str:
    """The stripped text of a child the XSD requires."""
    value = text(element, name)
    if value is None:  # the XSD was checked first; this only guards the handler's assumptions
        raise FaultError("INVALID_REQUEST", f"{name} is missing")
    return value.strip()


def envelope(payload: etree._Element) -> bytes:
    """``payload`` as the Body of a SOAP 1.1 envelope, serialized."""
    root = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soap": SOAP_ENV_NS, "ips": IPS_NS})
    etree.SubElement(root, f"{{{SOAP_ENV_NS}}}Body").append(payload)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def fault_envelope(fault: FaultError) -> bytes:
    """A SOAP 1.1 fault carrying IPSoft's error code and message in its detail."""
    element = etree.Element(f"{{{SOAP_ENV_NS}}}Fault", nsmap={"soap": SOAP_ENV_NS})
    etree.SubElement(element, "faultcode").text = "soap:Server" if fault.server else "soap:Client"
    etree.SubElement(element, "faultstring").text = fault.message
    error = etree.SubElement(etree.SubElement(element, "detail"), q("Error"), nsmap={"ips": IPS_NS})
    add(error, "ErrorCode", fault.code)
    add(error, "Message", fault.message)
    return envelope(element)


def check(element: etree._Element, schema: etree.XMLSchema, operation: str) -> list[str]:
    """Validate one element (a request or response, out of its envelope) against the XSD."""
    problems = validate(etree.ElementTree(copy.deepcopy(element)), schema, source=operation)
    return [f"{problem.field or ''} {problem.message}".strip() for problem in problems]
