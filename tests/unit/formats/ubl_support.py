"""What the UBL and Peppol format tests share: where the schemas are, the namespaces, the checks.

The six tests of ``ubl.order``, ``ubl.order_response``, ``ubl.despatch_advice``
and their Peppol BIS 3 variants read and write UBL 2.1 documents. They all
check a written document against the UBL 2.1 XSD (ours, and OASIS's when the
release is on this machine), read a document expecting exactly one of a kind,
ask the official Peppol rules what they find, and feed the format an XXE. Each
of those is one function here, so the six cannot drift apart in what
"valid" or "refused" means.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest
from lxml import etree

from koppel import INCLUDE_DIR
from koppel.documents import CanonicalModel, Problem, Severity, has_errors
from koppel.formats import Format
from koppel.formats.schema import load_schema, validate
from koppel.formats.schematron import peppol_rules
from tests.fixtures.peppol import NOT_FOUND, RULES_DIR

#: The OASIS UBL 2.1 release (its examples and XSDs), read in place, never copied.
OASIS = Path("/work/shared/standards/ubl-2.1")
needs_oasis = pytest.mark.skipif(not OASIS.is_dir(), reason="the OASIS UBL 2.1 release is absent")

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

_Document = TypeVar("_Document", bound=CanonicalModel)


def document_namespace(document: str) -> str:
    """The namespace of a UBL 2 document's root, e.g. ``Order`` or ``DespatchAdvice``."""
    return f"urn:oasis:names:specification:ubl:schema:xsd:{document}-2"


def ubl_namespaces(prefix: str, document: str) -> dict[str, str]:
    """The prefixes for XPath into a UBL document: its root's as ``prefix``, ``cac``, ``cbc``."""
    return {prefix: document_namespace(document), "cac": CAC, "cbc": CBC}


def bundled_xsd(document: str) -> Path:
    """The UBL 2.1 main schema of ``document`` that Koppel ships and validates with."""
    return INCLUDE_DIR / "schemas" / "ubl-2.1" / "maindoc" / f"UBL-{document}-2.1.xsd"


def oasis_xsd(document: str) -> Path:
    """The same schema from the OASIS release: a second opinion when it is present."""
    return OASIS / "xsd" / "maindoc" / f"UBL-{document}-2.1.xsd"


def read_one(
    fmt: Format,
    data: bytes,
    kind: type[_Document],
    source: str,
    *,
    warnings_allowed: bool = False,
) -> _Document:
    """Read ``data`` expecting exactly one ``kind`` of document and no problems.

    Args:
        fmt: The format under test.
        data: The document's bytes.
        kind: The canonical class the document must read into.
        source: The name the problems would carry.
        warnings_allowed: Accept warnings (a Peppol rule's advice), not only a clean read.
    """
    result = fmt.read(data, source=source)
    if warnings_allowed:
        assert not has_errors(result.problems), result.problems
    else:
        assert result.problems == []
    (document,) = result.documents
    assert isinstance(document, kind)
    return document


def xsd_problems(data: bytes, xsd: Path) -> list[str]:
    """What ``xsd`` finds wrong with ``data`` (empty when valid), as messages."""
    tree = etree.ElementTree(etree.fromstring(data))
    problems = validate(tree, load_schema(xsd), source="written.xml", format_name=xsd.stem)
    return [p.message for p in problems]


def assert_round_trips(
    fmt: Format, original: _Document, document: str, source: str = "written.xml"
) -> bytes:
    """Write ``original``, check it as the format, our XSD and (when present) OASIS's do,
    and read it back equal; the written bytes, for the caller's own checks."""
    written = fmt.write(original, context={})
    assert fmt.validate(written, source=source) == []
    assert xsd_problems(written, bundled_xsd(document)) == []
    if oasis_xsd(document).is_file():
        assert xsd_problems(written, oasis_xsd(document)) == []
    assert read_one(fmt, written, type(original), source) == original
    return written


def texts(data: bytes, path: str, namespaces: dict[str, str]) -> list[str]:
    """The text of every element at ``path`` (an XPath from the root) in ``data``."""
    found = etree.fromstring(data).xpath(f"{path}/text()", namespaces=namespaces)
    return [str(t) for t in found]


def rule_findings(transaction: str, data: bytes) -> list[tuple[str, Severity]]:
    """What the official Peppol rules of ``transaction`` (T01, T16, T76) say about ``data``,
    straight from the rules, not through the format: errors and warnings alike."""
    problems = peppol_rules(transaction).validate(data, source=f"{transaction}.xml")
    return [(p.code, p.severity) for p in problems]


def refusal(fmt: Format, data: bytes, source: str) -> list[Problem]:
    """The problems with which ``fmt`` refuses ``data``: no document, at least one error."""
    result = fmt.read(data, source=source)
    assert result.documents == []
    assert has_errors(result.problems)
    return result.problems


def xxe_document(document: str, target: str) -> bytes:
    """A UBL ``document`` whose ID is an external entity that would read ``target``."""
    return (
        f'<!DOCTYPE {document} [<!ENTITY xxe SYSTEM "{target}">]>'
        f'<{document} xmlns="{document_namespace(document)}" xmlns:cbc="{CBC}">'
        f"<cbc:ID>&xxe;</cbc:ID></{document}>"
    ).encode()


def assert_xxe_refused(fmt: Format, document: str, folder: Path) -> None:
    """An XXE reading a secret file in ``folder`` yields only the doctype problem, and the
    secret leaks into none of the problems."""
    secret = folder / "secret.txt"
    secret.write_text(f"koppel-secret-{fmt.name}", encoding="utf-8")
    result = fmt.read(xxe_document(document, f"file://{secret}"), source="xxe.xml")
    assert result.documents == []
    assert [p.code for p in result.problems] == ["xml.doctype"]
    assert all(f"koppel-secret-{fmt.name}" not in p.model_dump_json() for p in result.problems)


def skip_without_peppol_rules(tests: str) -> None:
    """Skip the calling test module, loudly, when the official Peppol rules are absent."""
    if RULES_DIR is None:
        pytest.skip(f"{NOT_FOUND} to run the {tests} tests", allow_module_level=True)
