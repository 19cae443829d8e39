"""Where Koppel finds its configuration files.

Read from the environment at call time, never at import time, so tests and the
demo can point a process at their own folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from koppel import INCLUDE_DIR


def connections_dir() -> Path:
    """The folder of connection files: ``KOPPEL_CONNECTIONS_DIR`` or ``include/connections``."""
    return Path(os.environ.get("KOPPEL_CONNECTIONS_DIR") or INCLUDE_DIR / "connections")
