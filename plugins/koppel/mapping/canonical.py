"""Canonical dotted paths (``buyer.address.city``, ``lines.0.sku``) on models and documents.

The loader uses the class side to reject a mapping that names a field the
canonical model does not have; the writer uses the instance side to fetch
values, where a missing intermediate object simply means "no value".
"""

from __future__ import annotations

import types
from typing import Union, get_args, get_origin

from pydantic import BaseModel


def _unwrap_optional(annotation: object) -> object:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def model_class(annotation: object) -> type[BaseModel] | None:
    """The model class an annotation (possibly optional) stands for, or None."""
    candidate = _unwrap_optional(annotation)
    if isinstance(candidate, type) and issubclass(candidate, BaseModel):
        return candidate
    return None


def list_item(annotation: object) -> object | None:
    """The item type of a (possibly optional) ``list[...]`` annotation, or None."""
    candidate = _unwrap_optional(annotation)
    if get_origin(candidate) is list:
        item: object = get_args(candidate)[0]
        return item
    return None


def field_annotation(model: type[BaseModel], dotted: str, *, allow_index: bool) -> object:
    """The annotation of the field at ``dotted`` below ``model``.

    Args:
        model: Where the path starts.
        dotted: Field names separated by dots; with ``allow_index`` a number
            selects one item of a list.
        allow_index: Whether list indexes may appear in the path.

    Raises:
        ValueError: Naming the first segment that does not exist.
    """
    current: object = model
    for segment in dotted.split("."):
        item = list_item(current)
        if allow_index and segment.isdigit() and item is not None:
            current = item
            continue
        owner = model_class(current)
        if owner is None:
            raise ValueError(f"{segment!r} is below a field that is not an object")
        info = owner.model_fields.get(segment)
        if info is None:
            raise ValueError(f"{owner.__name__} has no field {segment!r}")
        current = info.annotation
    return current


def required_fields(model: type[BaseModel]) -> set[str]:
    """Names of the fields a document of ``model`` cannot be built without."""
    return {name for name, info in model.model_fields.items() if info.is_required()}


def value_at(document: object, dotted: str) -> object:
    """The value at ``dotted`` in a document; None when any step along the way is missing."""
    current: object = document
    for segment in dotted.split("."):
        if current is None:
            return None
        if isinstance(current, list):
            index = int(segment)
            current = current[index] if index < len(current) else None
        else:
            current = getattr(current, segment, None)
    return current
