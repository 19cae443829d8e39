"""``make airflow``'s first morning: the demo's flows run once, so the centre opens with messages.

On a new Airflow home the partner stand-ins drop ``make demo``'s files (good
orders, a cut-off file, a quantity written as a word, the SCSN orders for
every outcome of the import checks) and serve the portal's and webshop's
orders (one of each held). Switching those flows on and triggering each once,
through Airflow's REST API as a user would, stores the demo's messages with
the Airflow runs that made them: the integration centre then shows delivered,
rejected and held messages with links into those runs.

The flows run one after another: a later one (orders) reads what an earlier
one (stock) delivered, and a laptop's Airflow runs them without piling up.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

#: The demo's flows, in the order they run: each has files or records waiting on a new home.
DEMO_DAGS = (
    "itsperfect_acme__stock",
    "itsperfect_acme__orders",
    "itsperfect_bellamoda__orders",
    "scsn_techparts__orders",
    "ipsoft_noordzee__orders",
    "webshop_koffiebar__orders",
)
#: How long one flow's runs may take before the next one is started anyway.
RUN_TIMEOUT = 300.0
#: Run states that end a run.
FINISHED = frozenset({"success", "failed"})


class AirflowApi:
    """Airflow's REST API (``/api/v2``) with a user's token, as the launcher needs it."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.token = self._token(username, password)

    def _token(self, username: str, password: str) -> str:
        answer = self._call("POST", "/auth/token", {"username": username, "password": password})
        return str(answer["access_token"])

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request to ``/api/v2/<path>``; its JSON answer."""
        return self._call(method, f"/api/v2{path}", body, token=self.token)

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, *, token: str | None = None
    ) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


def run_once(api: AirflowApi, dag_id: str, *, timeout: float = RUN_TIMEOUT) -> str:
    """Switch ``dag_id`` on, trigger it, wait until its runs ended; the last run's state.

    Returns ``"timeout"`` when a run is still going after ``timeout`` seconds.
    """
    api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    api.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.call("GET", f"/dags/{dag_id}/dagRuns?order_by=-run_after")["dag_runs"]
        if runs and all(run["state"] in FINISHED for run in runs):
            return str(runs[0]["state"])
        time.sleep(2)
    return "timeout"


def run_demo_flows(
    api: AirflowApi,
    say: Callable[[str], None],
    stop: threading.Event,
    dag_ids: tuple[str, ...] = DEMO_DAGS,
) -> None:
    """Run each demo flow once, in order, saying how each ended; stop early on ``stop``.

    A flow that fails (a rejected file fails its run, after every file was
    handled) does not stop the rest. A flow Airflow does not know (its
    connection file removed) is skipped with a line saying so.
    """
    say(f"demo: running {len(dag_ids)} flows once, one after another")
    for dag_id in dag_ids:
        if stop.is_set():
            return
        try:
            state = run_once(api, dag_id)
        except OSError as exc:  # urllib's HTTPError and URLError are OSErrors
            say(f"demo: {dag_id} not run: {exc}")
            continue
        say(f"demo: {dag_id} {state}")
    say("demo: done; its messages are in the integration centre")
