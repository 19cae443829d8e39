"""Where Koppel finds its configuration files.

Read from the environment at call time, never at import time, so tests and the
demo can point a process at their own folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from koppel import INCLUDE_DIR, PROJECT_ROOT
from koppel.errors import ConfigError


def connections_dir() -> Path:
    """The folder of connection files: ``KOPPEL_CONNECTIONS_DIR`` or ``include/connections``."""
    return Path(os.environ.get("KOPPEL_CONNECTIONS_DIR") or INCLUDE_DIR / "connections")


#: Where this workplace keeps the published Peppol BIS 3 rules, next to the project.
DEFAULT_PEPPOL_RULES_DIR = PROJECT_ROOT.parent / "shared" / "standards" / "peppol-bis3"


def peppol_rules_dir() -> Path:
    """The folder of the compiled Peppol BIS 3 rules: ``KOPPEL_PEPPOL_RULES_DIR`` or the default.

    The rules are OpenPEPPOL's published work, updated twice a year, so the
    project does not copy them: the folder (holding ``xslt/PEPPOLBIS-T01.xslt``
    and its siblings) is installed beside it and named here. The default is
    :data:`DEFAULT_PEPPOL_RULES_DIR` (``<project root>/../shared/standards/peppol-bis3``).

    Raises:
        ConfigError: The folder does not exist, named with the setting, so the
            fix is obvious.
    """
    folder = Path(os.environ.get("KOPPEL_PEPPOL_RULES_DIR") or DEFAULT_PEPPOL_RULES_DIR)
    if not folder.is_dir():
        raise ConfigError(
            f"KOPPEL_PEPPOL_RULES_DIR: the Peppol BIS 3 rules folder {folder} does not exist"
        )
    return folder
