"""How a well-behaved partner puts a file in a folder: complete under a temporary name, renamed.

Koppel picks up only complete files; the demo, the partner stand-ins and the
tests drop their files this way so that a run starting at any moment never
sees half of one.
"""

from __future__ import annotations

from pathlib import Path


def drop_file(folder: Path, name: str, payload: bytes) -> None:
    """Write ``payload`` to ``folder/name`` via ``.<name>.part``, replacing a file of that name."""
    temporary = folder / f".{name}.part"
    temporary.write_bytes(payload)
    temporary.replace(folder / name)
