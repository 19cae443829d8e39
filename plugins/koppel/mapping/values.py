"""Conversions between wire text and canonical values, one per value type.

Both directions live side by side so that what a format writes it can read
back unchanged. Money goes through :class:`~decimal.Decimal` only, never
float, and decimals are written without exponents (``1E+1`` is not valid
``xs:decimal``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum

from koppel.mapping.definition import Conversion, ValueType

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def _to_decimal(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not a decimal number") from exc
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _parse_int(text: str, conversion: Conversion) -> int:
    number = _to_decimal(text)
    if number != number.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number")
    return int(number)


def _parse_date(text: str, conversion: Conversion) -> date:
    """An ISO date; an ISO timestamp (JSON APIs send ``created_at``) gives its date as written."""
    if conversion.format:
        return datetime.strptime(text, conversion.format).date()
    if "T" in text:
        return datetime.fromisoformat(text).date()
    return date.fromisoformat(text)


def _parse_datetime(text: str, conversion: Conversion) -> datetime:
    if conversion.format:
        return datetime.strptime(text, conversion.format)
    return datetime.fromisoformat(text)


def _parse_bool(text: str, conversion: Conversion) -> bool:
    lowered = text.lower()
    if lowered not in _TRUE | _FALSE:
        raise ValueError(f"{text!r} is not a boolean (true/false/1/0)")
    return lowered in _TRUE


_PARSERS: dict[ValueType, Callable[[str, Conversion], object]] = {
    "str": lambda text, _: text,
    "decimal": lambda text, _: _to_decimal(text),
    "int": _parse_int,
    "date": _parse_date,
    "datetime": _parse_datetime,
    "bool": _parse_bool,
}


def parse_text(text: str, conversion: Conversion) -> object:
    """The canonical value for wire ``text``.

    Raises:
        ValueError: When the text is not a valid value of the type.
    """
    return _PARSERS[conversion.type](text, conversion)


def _format_decimal(value: object, places: int | None) -> str:
    number = value if isinstance(value, Decimal) else _to_decimal(str(value))
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return format(number, "f")


def _format_temporal(value: object, conversion: Conversion) -> str:
    if not isinstance(value, date):
        raise ValueError(f"{value!r} is not a date or datetime")
    if conversion.type == "date" and isinstance(value, datetime):
        value = value.date()
    return value.strftime(conversion.format) if conversion.format else value.isoformat()


def format_value(value: object, conversion: Conversion) -> str:
    """The wire text for a canonical ``value``.

    Raises:
        ValueError: When the value cannot be written as the type, e.g. 1.5 as int.
    """
    kind = conversion.type
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool) and kind in ("str", "bool"):
        return "true" if value else "false"
    if kind == "decimal":
        return _format_decimal(value, conversion.places)
    if kind == "int":
        number = _to_decimal(str(value))
        if number != number.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        return str(int(number))
    if kind in ("date", "datetime"):
        return _format_temporal(value, conversion)
    if kind == "bool":
        return "true" if _parse_bool(str(value), conversion) else "false"
    return str(value)


class UnknownLookupValueError(ValueError):
    """A wire value that the mapping's lookup table does not list."""


def read_value(
    text: str, conversion: Conversion, lookups: Mapping[str, Mapping[str, str]]
) -> object:
    """A wire value translated through its lookup (if any), then parsed to its type.

    Raises:
        UnknownLookupValueError: the lookup table has no entry for ``text``.
        ValueError: the (translated) text is not a valid value of the type.
    """
    if conversion.lookup is not None:
        table = lookups[conversion.lookup]
        if text not in table:
            raise UnknownLookupValueError(
                f"unknown value {text!r} in lookup {conversion.lookup!r}; known: {sorted(table)}"
            )
        text = table[text]
    return parse_text(text, conversion)
