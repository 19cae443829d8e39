"""Canonical JSON as a wire format: what ``koppel parse`` prints can be read back.

A canonical document needs no mapping file: its JSON is the pydantic model's
own dump (``model_dump(mode="json")``), so the class is its schema. That makes
``koppel parse`` output a file every command taking ``--format`` accepts
(``koppel post --format canonical.order``), and gives tests and operators a
way to hand Koppel a document without first writing it in a partner's format.

The bytes still come from outside: they take the same hardened JSON parse as
every partner body (size limit, strict UTF-8, no duplicate keys, no NaN), and
pydantic's errors become :class:`~koppel.documents.Problem`s naming the JSON
path, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from koppel.documents import CanonicalModel, Order, Problem, cap_problems
from koppel.formats.jsondoc import JsonDocumentError, parse_json
from koppel.formats.registry import Format, ReadResult
from koppel.formats.xml import DEFAULT_MAX_BYTES
from koppel.mapping import MappingDefinition

#: Prefix of every canonical format's name: ``canonical.<table>``.
PREFIX = "canonical."

#: The canonical classes readable as JSON, by table name; the format is ``canonical.<table>``.
CANONICAL_CLASSES: dict[str, type[CanonicalModel]] = {"order": Order}

#: Code of a canonical document pydantic refuses (a wrong type, a missing or unknown field).
INVALID = "canonical.invalid"


def _json_path(location: Sequence[int | str], prefix: str) -> str:
    """A pydantic error location as a JSON path (``$[0].lines[2].quantity``)."""
    path = prefix
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


class CanonicalFormat(Format):
    """One canonical class read from and written as its own JSON: one object or a list of them.

    A subclass of :class:`~koppel.formats.registry.Format` so that every caller
    typed on formats (the pipeline, the CLI) takes it unchanged; its
    definition is synthesized (no mapping file, no schema file, no Schematron
    rules) and every method that would use the mapping is replaced.
    """

    def __init__(self, table: str, document_class: type[CanonicalModel]) -> None:
        name = PREFIX + table
        definition = MappingDefinition(
            name=name,
            description=f"Koppel's canonical {document_class.__name__} as JSON "
            "(what `koppel parse` prints): one object or a list",
            document_class=document_class,
            schema="",
            namespaces={},
            lookups={},
            source=Path(__file__),
            syntax="json",
        )
        super().__init__(definition, Path(__file__))

    @property
    def can_read(self) -> bool:
        """Always True: the class reads its own dump."""
        return True

    @property
    def can_write(self) -> bool:
        """Always True: the class dumps itself."""
        return True

    @property
    def writes_batches(self) -> bool:
        """False: one document a file (:meth:`write_many` still writes a list when asked)."""
        return False

    def read(self, data: bytes, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
        """Parse one object or a list of objects and validate each with the canonical class.

        Args:
            data: The raw bytes as received.
            source: Name of the file or message, recorded on each problem.
            max_bytes: Larger documents are refused unread.

        Returns:
            The valid documents, and a problem per pydantic error with its JSON
            path as field; an invalid object yields no document, the others
            still do (as a mapping format drops only the record at fault).
        """
        try:
            body = parse_json(data, source=source, max_bytes=max_bytes)
        except JsonDocumentError as exc:
            return ReadResult(problems=[exc.problem])
        if isinstance(body, dict):
            items: list[tuple[str, object]] = [("$", body)]
        elif isinstance(body, list):
            items = [(f"$[{index}]", item) for index, item in enumerate(body)]
        else:
            message = f"expected a JSON object or a list of objects, got {type(body).__name__}"
            return ReadResult(problems=[Problem(code=INVALID, message=message, file=source)])
        documents: list[CanonicalModel] = []
        problems: list[Problem] = []
        for prefix, item in items:
            if not isinstance(item, dict):
                message = f"expected a JSON object, got {type(item).__name__}"
                problems.append(Problem(code=INVALID, message=message, file=source, field=prefix))
                continue
            try:
                documents.append(self.document_class.model_validate(item))
            except ValidationError as exc:
                problems += [
                    Problem(
                        code=INVALID,
                        message=error["msg"],
                        file=source,
                        field=_json_path(error["loc"], prefix),
                    )
                    for error in exc.errors(include_url=False, include_input=False)
                ]
        return ReadResult(documents=documents, problems=cap_problems(problems))

    def write(self, document: CanonicalModel, *, context: Mapping[str, str]) -> bytes:
        """The document's own JSON (decimals as strings); ``context`` is not needed."""
        return document.model_dump_json(indent=2).encode()

    def write_many(
        self, documents: Sequence[CanonicalModel], *, context: Mapping[str, str]
    ) -> bytes:
        """A JSON list of the documents, as ``koppel parse`` prints them."""
        dumped = [document.model_dump(mode="json") for document in documents]
        return json.dumps(dumped, indent=2, ensure_ascii=False).encode()

    def validate(self, data: bytes, *, source: str) -> list[Problem]:
        """Problems of a payload read back as this class (our output before it leaves)."""
        return self.read(data, source=source).problems
