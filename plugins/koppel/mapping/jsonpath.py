"""A small, strict path syntax for JSON mappings: dotted keys with array indexes.

Grammar: ``$`` (the current value itself), or ``[$.]key[.key...]`` where each
key may be followed by indexes, e.g. ``customer.erp_reference``,
``$.orders``, ``lines[0].sku``. There are no wildcards or filters: a
mapping's ``record`` and ``each`` name an array and take every item, so a
path never stands for more than one value. A key cannot contain ``.``,
``[`` or ``]``.

Resolving is strict about shape and lenient about absence: a key that is not
there (or is ``null``) means "no value", as an XPath that matches nothing
does, but a key asked of an array, or an index of an object, is an error,
since the document then is not the shape the mapping was written for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEY = r"[^.\[\]\s]+"
_SEGMENT = re.compile(rf"^({_KEY})((?:\[\d+\])*)$")
_INDEX = re.compile(r"\[(\d+)\]")

Step = str | int


class JsonPathError(ValueError):
    """A value along a path has the wrong shape; ``where`` is the path up to it."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


def join_path(base: str, step: Step) -> str:
    """``base`` extended by one key or index, in the notation problems use (``a.b[0]``)."""
    if isinstance(step, int):
        return f"{base}[{step}]"
    return f"{base}.{step}" if base else step


def kind_of(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "number"


@dataclass(frozen=True)
class JsonPath:
    """A compiled path: the text as written and its steps (keys and indexes)."""

    text: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        """Compile ``text``.

        Raises:
            ValueError: Naming the part that does not follow the grammar.
        """
        body = text.strip()
        if body == "$":
            return cls(text, ())
        body = body.removeprefix("$.")
        steps: list[Step] = []
        for segment in body.split("."):
            match = _SEGMENT.match(segment)
            if match is None:
                raise ValueError(f"{segment!r} is not a key (optionally followed by [n])")
            steps.append(match.group(1))
            steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
        return cls(text, tuple(steps))

    def resolve(self, value: object, base: str) -> tuple[object, str]:
        """The value this path names below ``value`` (at wire path ``base``), with its wire path.

        Returns:
            The value (None when a key or index is absent) and the wire path
            of where it is or would be.

        Raises:
            JsonPathError: When a key is asked of a non-object or an index of a non-array.
        """
        current, where = value, base
        for step in self.steps:
            if current is None:
                where = join_path(where, step)
                continue
            if isinstance(step, int):
                if not isinstance(current, list):
                    raise JsonPathError(where, f"expected an array, got {kind_of(current)}")
                current = current[step] if step < len(current) else None
            else:
                if not isinstance(current, dict):
                    raise JsonPathError(where, f"expected an object, got {kind_of(current)}")
                current = current.get(step)
            where = join_path(where, step)
        return current, where
