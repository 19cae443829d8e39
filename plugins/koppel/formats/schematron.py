"""Schematron rules compiled to XSLT 2.0 (the Peppol BIS 3 rules), run with SaxonC-HE.

Published Schematron rule sets ship compiled to XSLT 2.0, which lxml's XSLT 1.0
cannot run, so ``saxonche`` runs them. Compiling one stylesheet takes up to
1.4 s and validating a document 15 to 60 ms, so each stylesheet is compiled once
per process (:func:`load_rules` caches by path) and reused for every document.

SaxonC objects are not thread-safe and one process needs only one Saxon
processor, so one lock guards the processor, every compile and every
transformation.

Saxon never parses what a partner sent: the document is parsed by our
hardened parser (:func:`koppel.formats.xml.parse_xml`: no DTD, no entities, no
network) and Saxon gets only the root element re-serialized by lxml, which
carries no DOCTYPE, so Saxon has nothing to resolve or fetch.

The rules report in SVRL; each failed assert (and each successful report that
carries a flag) becomes one :class:`~koppel.documents.Problem` with the rule id
as its code.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path

from lxml import etree
from saxonche import PySaxonApiError, PySaxonProcessor

from koppel.documents import Problem, Severity
from koppel.errors import ConfigError
from koppel.formats.xml import XmlDocumentError, parse_xml
from koppel.settings import peppol_rules_dir

#: Code of the problem reported when the rules cannot be run on a document.
FAILED = "schematron.failed"

_SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
_FINDINGS = etree.XPath("//svrl:failed-assert | //svrl:successful-report[@flag]", namespaces=_SVRL)
_TEXT = etree.XPath("svrl:text", namespaces=_SVRL)
#: SVRL locations use XPath 2.0 wildcards (``/*:Order[namespace-uri()='…'][1]``);
#: in XPath 1.0, which lxml speaks, the step is ``*[local-name()='Order']``.
_WILDCARD_STEP = re.compile(r"\*:([\w.-]+)")

_LOCK = threading.Lock()
_RULES: dict[Path, SchematronRules] = {}


@cache
def _processor() -> PySaxonProcessor:
    """The process's one Saxon processor, made on first use; call with ``_LOCK`` held."""
    return PySaxonProcessor(license=False)


def _svrl_parser() -> etree.XMLParser:
    """A parser for Saxon's SVRL: our own output, but parsed as strictly as anything else."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class SchematronRules:
    """One compiled Schematron stylesheet; get it with :func:`load_rules`, which shares it.

    Attributes:
        path: The stylesheet file, which also names the rules in problems.
    """

    def __init__(self, path: Path) -> None:
        """Compile ``path``; call with ``_LOCK`` held (Saxon is not thread-safe)."""
        self.path = path
        try:
            compiler = _processor().new_xslt30_processor()
            self._executable = compiler.compile_stylesheet(stylesheet_file=str(path))
        except PySaxonApiError as exc:
            raise ConfigError(f"Schematron stylesheet {path} does not compile: {exc}") from exc

    def validate(self, document: bytes, *, source: str) -> list[Problem]:
        """Problems the rules find in ``document``, parsed first by our hardened parser.

        A document the parser refuses yields that refusal as the only problem:
        rules cannot judge what cannot be read.
        """
        try:
            tree = parse_xml(document, source=source)
        except XmlDocumentError as exc:
            return [exc.problem]
        return self.validate_tree(tree, source=source)

    def validate_tree(self, tree: etree._ElementTree, *, source: str) -> list[Problem]:
        """Problems the rules find in an already parsed document.

        The safe path for untrusted input: Saxon sees only the root element as
        lxml serializes it (no DOCTYPE, so no DTD or external entity to
        resolve). A transformation error is one ``schematron.failed`` problem,
        so the caller stores the message with a reason instead of crashing.
        """
        text = etree.tostring(tree.getroot(), encoding="unicode")
        try:
            with _LOCK:
                node = _processor().parse_xml(xml_text=text, encoding="UTF-8")
                svrl = self._executable.transform_to_string(xdm_node=node)
        except PySaxonApiError as exc:
            message = f"the rules {self.path.name} could not run: {' '.join(str(exc).split())}"
            return [Problem(code=FAILED, message=message, file=source)]
        report = etree.fromstring(svrl.encode("utf-8"), _svrl_parser())
        return [_problem(finding, tree, source) for finding in _FINDINGS(report)]


def _problem(finding: etree._Element, tree: etree._ElementTree, source: str) -> Problem:
    """One SVRL finding as a problem: rule id, flag as severity, location, text."""
    texts = _TEXT(finding)
    message = " ".join("".join(texts[0].itertext()).split()) if texts else ""
    location = finding.get("location")
    return Problem(
        code=finding.get("id") or f"schematron.{etree.QName(finding).localname}",
        message=message or f"rule test failed: {finding.get('test')}",
        severity=Severity.WARNING if finding.get("flag") == "warning" else Severity.ERROR,
        file=source,
        line=_line_of(location, tree),
        field=location,
    )


def _line_of(location: str | None, tree: etree._ElementTree) -> int | None:
    """The source line of the node an SVRL location points at, when lxml can find it."""
    if not location:
        return None
    try:
        found = tree.xpath(_WILDCARD_STEP.sub(r"*[local-name()='\1']", location))
    except etree.XPathError:
        return None
    if isinstance(found, list) and found:
        node = found[0]
        element = node.getparent() if isinstance(node, etree._ElementUnicodeResult) else node
        if isinstance(element, etree._Element):
            line: int | None = element.sourceline
            return line
    return None


def load_rules(path: Path) -> SchematronRules:
    """The compiled rules of ``path``, compiled on the first call in this process.

    Raises:
        ConfigError: The stylesheet is missing or does not compile.
    """
    key = path.resolve()
    with _LOCK:
        rules = _RULES.get(key)
        if rules is None:
            if not key.is_file():
                raise ConfigError(f"Schematron stylesheet {path} does not exist")
            rules = _RULES[key] = SchematronRules(key)
        return rules


def peppol_rules(transaction: str) -> SchematronRules:
    """The Peppol BIS 3 rules of a transaction: ``T01`` order, ``T76`` response, ``T16`` despatch.

    Raises:
        ConfigError: The rules folder or the transaction's stylesheet is
            missing, named with the setting ``KOPPEL_PEPPOL_RULES_DIR``.
    """
    path = peppol_rules_dir() / "xslt" / f"PEPPOLBIS-{transaction}.xslt"
    if not path.is_file():
        raise ConfigError(
            f"KOPPEL_PEPPOL_RULES_DIR: the Peppol BIS 3 rules file {path} does not exist"
        )
    return load_rules(path)
