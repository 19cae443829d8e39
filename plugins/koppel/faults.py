"""Named crash points, so that "recoverable after a SIGKILL at any step" is tested, not argued.

Every step that changes something outside one database transaction (a file
renamed on a server, an order created in an ERP, a status stored, an alert
sent) calls :func:`failpoint` with its name right after it. A fault-injection
test or the chaos benchmark sets ``KOPPEL_FAILPOINT`` to ``NAME`` (or
``NAME:N`` for the N-th time that point is reached) and the process kills
itself there with SIGKILL: no ``finally``, no rollback, no clean-up, exactly
as a worker dies when the machine loses power. Unset, a failpoint costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

#: The environment variable that arms one failpoint: ``NAME`` or ``NAME:N``.
ENV_VAR = "KOPPEL_FAILPOINT"

_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    """Die here, at once and without clean-up, if ``KOPPEL_FAILPOINT`` names this point."""
    armed = os.environ.get(ENV_VAR)
    if not armed:
        return
    point, _, nth = armed.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
