"""The integration centre through Airflow's real api-server app, with a real PostgreSQL store.

The api-server app is built the way ``airflow api-server`` builds it
(``airflow.api_fastapi.app.create_app``), with the Koppel plugin module
loaded by Airflow's plugin manager from a plugins folder and the simple auth
manager's users; tokens are minted by that auth manager, as its login does.
The replay runs the IPSoft <-> Le New Black orders flow against their
emulators, as ``tests/integration/test_inbox.py`` does through the CLI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from koppel.hooks.lenewblack import LeNewBlackHook, api_path
from koppel.pipeline.portal_changes import order_source_name
from koppel.sandbox.ipsoft import IPSoftServer, Product
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.sandbox.lenewblack.seed import demo_order_skus
from koppel.store import MessageStatus, MessageStore
from tests.fixtures.centre_auth import MERCHANT_USER
from tests.fixtures.lenewblack import LENEWBLACK_CONN_ID, NOORDZEE_MERCHANT

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_FILE = PROJECT_ROOT / "plugins" / "koppel_centre_plugin.py"
SITE = "http://testserver"
#: A connection of this module's own: the metadata DB is shared by the session, and an
#: earlier test's run of an example DAG must not show in this overview.
CONNECTION, FLOW = "ipsoft_centre", "orders"
DAG_ID = f"{CONNECTION}__{FLOW}"
PORTAL_MERCHANT = (
    NOORDZEE_MERCHANT
    + """\
flows:
  orders: {retries: 0}
"""
)
#: The hostile corpus's markup injections: each must reach the page as text only.
INJECTIONS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(document.cookie)>')


def _clear_plugin_caches() -> None:
    from airflow import plugins_manager

    for cached in (
        plugins_manager._get_plugins,
        plugins_manager._get_ui_plugins,
        plugins_manager.get_fastapi_plugins,
        plugins_manager.get_flask_plugins,
    ):
        cached.cache_clear()


@dataclass
class Centre:
    """The api-server app with the plugin mounted, and a token per user."""

    client: TestClient
    tokens: dict[str, str]

    def get(self, path: str, user: str | None = None, **kwargs: Any) -> Response:
        response: Response = self.client.get(path, headers=self._auth(user), **kwargs)
        return response

    def csrf(self, user: str) -> str:
        response = self.get("/koppel/api/csrf", user)
        assert response.status_code == 200, response.text
        return str(response.json()["csrf_token"])

    def post_json(
        self,
        path: str,
        user: str | None,
        body: dict[str, Any] | None = None,
        *,
        csrf: str | None = None,
        origin: str | None = SITE,
    ) -> Response:
        headers = self._auth(user)
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        if origin is not None:
            headers["Origin"] = origin
        response: Response = self.client.post(path, json=body or {}, headers=headers)
        return response

    def post_form(
        self,
        path: str,
        user: str,
        fields: dict[str, str],
        *,
        origin: str | None = SITE,
        referer: str | None = None,
    ) -> Response:
        """A browser's form post: the ``_token`` cookie, the page's Origin or Referer."""
        headers = {k: v for k, v in (("Origin", origin), ("Referer", referer)) if v}
        self.client.cookies.set("_token", self.tokens[user])
        try:
            response: Response = self.client.post(
                path, data=fields, headers=headers, follow_redirects=False
            )
            return response
        finally:
            self.client.cookies.clear()

    def _auth(self, user: str | None) -> dict[str, str]:
        return {} if user is None else {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture
def centre(
    airflow_db: Path,
    store_conn_id: str,
    connections_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Centre]:
    from airflow import settings
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER", "tests.fixtures.centre_auth.OneMerchantAuthManager"
    )
    monkeypatch.setenv(
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
        f"viewer:viewer,operator:op,{MERCHANT_USER}:viewer",
    )
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "centre-test-jwt-secret-" + "x" * 64)
    monkeypatch.setenv("AIRFLOW__API__SECRET_KEY", "centre-test-secret-key")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy(PLUGIN_FILE, plugins)
    monkeypatch.setattr(settings, "PLUGINS_FOLDER", str(plugins))
    shutil.copy(
        PROJECT_ROOT / "include" / "connections" / "_ipsoft_lenewblack.yaml", connections_dir
    )
    (connections_dir / f"{CONNECTION}.yaml").write_text(PORTAL_MERCHANT)
    _clear_plugin_caches()
    try:
        app = create_app()
        manager = get_auth_manager()
        tokens = {
            name: manager.generate_jwt(SimpleAuthManagerUser(username=name, role=role))
            for name, role in (("viewer", "VIEWER"), ("operator", "OP"), (MERCHANT_USER, "VIEWER"))
        }
        yield Centre(TestClient(app, base_url=SITE), tokens)
    finally:
        _clear_plugin_caches()


@pytest.fixture
def portal(
    ipsoft_server: IPSoftServer, lenewblack_server: LeNewBlackServer
) -> tuple[IPSoftServer, LeNewBlackServer]:
    lenewblack_server.seed_demo()
    for sku in demo_order_skus():
        ipsoft_server.state.put(Product(article_id=f"A-{sku}", name=sku, sku=sku))
    return ipsoft_server, lenewblack_server


#: Its customer LNB-4711 has no IPSoft reference yet: the order is held.
HELD_ORDER = "LNB-100046"


def _receive_order(store: MessageStore, reference: str = HELD_ORDER) -> int:
    order = LeNewBlackHook(LENEWBLACK_CONN_ID).get_bytes(api_path("orders", reference))
    return store.receive(
        connection_id=CONNECTION,
        flow=FLOW,
        source_name=order_source_name("/api/v1/orders", reference),
        payload=order,
    ).message_id


def _endpoints(message_id: int) -> list[tuple[str, str]]:
    gets = ["/", "/messages", f"/messages/{message_id}", f"/messages/{message_id}/edit"]
    gets += ["/api/csrf", "/api/messages", f"/api/messages/{message_id}"]
    posts = [f"/messages/{message_id}/edit", f"/messages/{message_id}/replay", "/messages/replay"]
    posts += [f"/api/messages/{message_id}/edit", f"/api/messages/{message_id}/replay"]
    posts += ["/api/messages/replay"]
    return [("GET", f"/koppel{p}") for p in gets] + [("POST", f"/koppel{p}") for p in posts]


def test_every_endpoint_needs_an_airflow_login(centre: Centre, store: MessageStore) -> None:
    message_id = store.receive(
        connection_id=CONNECTION, flow=FLOW, source_name="/in/a.json", payload=b"{}"
    ).message_id
    for method, path in _endpoints(message_id):
        anonymous = centre.client.request(method, path, headers={"Origin": SITE})
        assert anonymous.status_code in {401, 403}, (method, path, anonymous.text)
        forged = centre.client.request(
            method, path, headers={"Origin": SITE, "Authorization": "Bearer not.a.jwt"}
        )
        assert forged.status_code in {401, 403}, (method, path, forged.text)
        centre.client.cookies.set("_token", "not.a.jwt")
        with_cookie = centre.client.request(method, path, headers={"Origin": SITE})
        centre.client.cookies.clear()
        assert with_cookie.status_code in {401, 403}, (method, path)
    assert store.edits(message_id) == []
    assert store.get(message_id).status is MessageStatus.RECEIVED


def test_a_page_opened_without_a_login_sends_the_browser_to_airflow_s_login(
    centre: Centre, store: MessageStore
) -> None:
    page = centre.client.get("/koppel/messages?status=rejected")
    assert page.status_code == 401
    assert page.headers["content-type"].startswith("text/html")
    back = "next=http%3A%2F%2Ftestserver%2Fkoppel%2Fmessages%3Fstatus%3Drejected"
    assert f'<meta http-equiv="refresh" content="0; url=/auth/login?{back}">' in page.text
    centre.client.cookies.set("_token", "expired.or.forged")
    forged = centre.client.get("/koppel/")
    centre.client.cookies.clear()
    assert forged.status_code == 403
    assert "Log in to Airflow first" in forged.text
    missing = centre.get("/koppel/messages/999999999", "viewer")
    assert (missing.status_code, "404: no message 999999999" in missing.text) == (404, True)
    api = centre.client.get("/koppel/api/messages")
    assert (api.status_code, api.json()) == (401, {"detail": "Not authenticated"})


def test_viewer_reads_everything_but_may_not_edit_or_replay(
    centre: Centre, store: MessageStore, portal: tuple[IPSoftServer, LeNewBlackServer]
) -> None:
    message_id = _receive_order(store)
    run_id = "scheduled__2026-11-29T06:00:00+00:00"
    store.update(message_id, run_id=run_id)

    overview = centre.get("/koppel/", "viewer")
    assert overview.status_code == 200, overview.text
    assert "Noordzee Mode" in overview.text
    assert f'href="/dags/{DAG_ID}"' in overview.text  # trigger it with its Params in Airflow
    assert "not parsed yet" in overview.text  # no DAG in this Airflow's metadata DB
    assert '<span class="status received">received 1</span>' in overview.text  # day and week
    listed = centre.get("/koppel/api/messages", "viewer", params={"connection": CONNECTION})
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["items"]] == [message_id]
    assert listed.json()["total"] == 1
    page = centre.get(f"/koppel/messages/{message_id}", "viewer")
    assert page.status_code == 200
    assert HELD_ORDER in page.text
    assert "Replay now" not in page.text  # no buttons for a viewer
    run_link = f"/dags/{DAG_ID}/runs/scheduled__2026-11-29T06%3A00%3A00%2B00%3A00"
    assert f'href="{run_link}"' in page.text  # into Airflow's grid
    assert f'href="{run_link}/tasks/process"' in page.text  # and the task's log
    assert centre.get(f"/koppel/messages/{message_id}/edit", "viewer").status_code == 403

    token = centre.csrf("viewer")
    edit = centre.post_json(
        f"/koppel/api/messages/{message_id}/edit", "viewer", {"payload": "{}"}, csrf=token
    )
    replay = centre.post_json(f"/koppel/api/messages/{message_id}/replay", "viewer", csrf=token)
    bulk = centre.post_json(
        "/koppel/api/messages/replay", "viewer", {"filters": {"status": "received"}}, csrf=token
    )
    assert (edit.status_code, replay.status_code) == (403, 403)
    assert f"permission to trigger DAG {DAG_ID}" in edit.json()["detail"]
    assert bulk.status_code == 200
    assert bulk.json()["outcomes"] == [
        {
            "message_id": message_id,
            "passed": False,
            "status": None,
            "lines": [],
            "error": f"not allowed to trigger DAG {DAG_ID}",
        }
    ]
    assert store.edits(message_id) == []
    assert store.get(message_id).status is MessageStatus.RECEIVED  # nothing ran
    assert portal[0].state.orders == {}


def test_the_list_filters_and_pages_fifty_at_a_time_with_the_total(
    centre: Centre, store: MessageStore
) -> None:
    ids = [
        store.receive(
            connection_id=CONNECTION,
            flow=FLOW,
            source_name=f"/api/v1/orders/PO-{n:03d}",
            payload=b"{}",
        ).message_id
        for n in range(53)
    ]
    store.receive(connection_id="other", flow=FLOW, source_name="/in/x.json", payload=b"{}")

    first = centre.get("/koppel/messages", "viewer", params={"connection": CONNECTION})
    shown = [int(i) for i in re.findall(r'<td><a href="/koppel/messages/(\d+)">', first.text)]
    assert shown == ids[::-1][:50]
    assert "53 messages match; showing 50." in first.text
    next_link = re.search(r'<a rel="next" href="([^"]+)">', first.text)
    assert next_link is not None
    second = centre.get(next_link.group(1).replace("&amp;", "&"), "viewer")
    shown = [int(i) for i in re.findall(r'<td><a href="/koppel/messages/(\d+)">', second.text)]
    assert shown == ids[2::-1]
    assert 'rel="next"' not in second.text

    api = centre.get("/koppel/api/messages", "viewer", params={"text": "po-007"}).json()
    assert ([m["id"] for m in api["items"]], api["total"]) == ([ids[7]], 1)
    api = centre.get(
        "/koppel/api/messages", "viewer", params={"limit": 2, "before": ids[10], "flow": FLOW}
    ).json()
    assert ([m["id"] for m in api["items"]], api["next_before_id"]) == ([ids[9], ids[8]], ids[8])
    bad = centre.get("/koppel/messages", "viewer", params={"status": "lost"})
    assert bad.status_code == 400


def test_a_user_limited_to_some_dags_sees_only_their_messages(
    centre: Centre, store: MessageStore, connections_dir: Path
) -> None:
    """A role reaching one merchant's DAGs: the list, its total, pages and bulk replay say so."""
    other = PORTAL_MERCHANT.replace("Noordzee Mode", "Other Mode").replace("noordzee", "other")
    (connections_dir / "ipsoft_other.yaml").write_text(other)
    own = store.receive(
        connection_id=CONNECTION, flow=FLOW, source_name="/api/v1/orders/OWN-1", payload=b"{}"
    ).message_id
    foreign = store.receive(
        connection_id="ipsoft_other", flow=FLOW, source_name="/api/v1/orders/OWN-2", payload=b"{}"
    ).message_id

    listed = centre.get("/koppel/api/messages", MERCHANT_USER, params={"text": "OWN-"}).json()
    assert ([m["id"] for m in listed["items"]], listed["total"]) == ([own], 1)
    page = centre.get("/koppel/messages", MERCHANT_USER, params={"text": "own-"}).text
    assert "1 message matches; showing 1." in page
    assert f'href="/koppel/messages/{own}"' in page
    assert f'href="/koppel/messages/{foreign}"' not in page
    assert centre.get(f"/koppel/messages/{foreign}", MERCHANT_USER).status_code == 403
    assert centre.get(f"/koppel/api/messages/{foreign}", MERCHANT_USER).status_code == 403
    assert centre.get(f"/koppel/messages/{own}", MERCHANT_USER).status_code == 200
    overview = centre.get("/koppel/", MERCHANT_USER).text
    assert f"{CONNECTION}</small>" in overview
    assert "ipsoft_other</small>" not in overview  # another merchant's flows
    assert "ipsoft_other</small>" in centre.get("/koppel/", "viewer").text
    bulk = centre.post_json(
        "/koppel/api/messages/replay",
        MERCHANT_USER,
        {"filters": {"text": "OWN-"}},
        csrf=centre.csrf(MERCHANT_USER),
    )
    assert [o["message_id"] for o in bulk.json()["outcomes"]] == [own]  # refused: a viewer
    everyone = centre.get("/koppel/api/messages", "viewer", params={"text": "OWN-"}).json()
    assert everyone["total"] == 2


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(
    centre: Centre, store: MessageStore
) -> None:
    message_id = store.receive(
        connection_id=CONNECTION, flow=FLOW, source_name="/in/a.json", payload=b"{}"
    ).message_id
    path = f"/koppel/messages/{message_id}/edit"
    token = centre.csrf("operator")
    fixed = {"payload": '{"fixed": true}'}

    refused = {
        "no token": centre.post_form(path, "operator", fixed),
        "another user's token": centre.post_form(
            path, "operator", {**fixed, "csrf_token": centre.csrf("viewer")}
        ),
        "a forged token": centre.post_form(path, "operator", {**fixed, "csrf_token": "1.abc"}),
        "another origin": centre.post_form(
            path, "operator", {**fixed, "csrf_token": token}, origin="https://evil.example"
        ),
        "no origin or referer": centre.post_form(
            path, "operator", {**fixed, "csrf_token": token}, origin=None
        ),
        "another site's referer": centre.post_form(
            path,
            "operator",
            {**fixed, "csrf_token": token},
            origin=None,
            referer="https://evil.example/koppel/",
        ),
    }
    for why, response in refused.items():
        assert response.status_code == 403, why
    assert "Origin" in refused["another origin"].json()["detail"]
    assert "CSRF" in refused["no token"].json()["detail"]
    api = centre.post_json(
        f"/koppel/api/messages/{message_id}/replay", "operator", csrf=token, origin=None
    )
    assert api.status_code == 403
    assert store.edits(message_id) == []

    accepted = centre.post_form(
        path, "operator", {**fixed, "csrf_token": token}, origin=None, referer=f"{SITE}/koppel/"
    )
    assert accepted.status_code == 303, accepted.text
    assert len(store.edits(message_id)) == 1


def test_an_edit_keeps_the_original_and_records_who_when_and_the_diff(
    centre: Centre, store: MessageStore, portal: tuple[IPSoftServer, LeNewBlackServer]
) -> None:
    message_id = _receive_order(store)
    received = store.get(message_id).payload
    form = centre.get(f"/koppel/messages/{message_id}/edit", "operator")
    assert form.status_code == 200
    assert "Store the corrected copy" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    document = json.loads(received)
    document["remarks"] = "deliver to the back door"
    corrected = json.dumps(document, indent=2)

    stored = centre.post_form(
        f"/koppel/messages/{message_id}/edit",
        "operator",
        {"payload": corrected, "csrf_token": token.group(1)},
    )

    assert stored.status_code == 303
    assert stored.headers["location"] == f"/koppel/messages/{message_id}"
    (edit,) = store.edits(message_id)
    assert edit.edited_by == "operator"
    assert edit.payload == corrected.encode()
    assert edit.original_checksum == store.get_summary(message_id).checksum
    assert f"--- message {message_id} (received)" in edit.diff
    assert f"+++ message {message_id} (edited by operator)" in edit.diff
    assert "deliver to the back door" in edit.diff
    assert store.received_payload(message_id) == received  # the original is kept
    assert store.get(message_id).payload == corrected.encode()
    page = centre.get(f"/koppel/messages/{message_id}", "operator")
    assert f"Edit {edit.id} by <strong>operator</strong>" in page.text
    assert "payload as received" in page.text
    assert f"payload of edit {edit.id} (processed)" in page.text
    shown = centre.get(f"/koppel/api/messages/{message_id}", "viewer").json()
    assert shown["edits"][0]["edited_by"] == "operator"
    assert shown["message"]["edit_id"] == edit.id

    again = centre.post_json(
        f"/koppel/api/messages/{message_id}/edit",
        "operator",
        {"payload": corrected},
        csrf=centre.csrf("operator"),
    )
    assert (again.status_code, again.json()["edit"]) == (200, None)  # the same bytes: no edit
    assert len(store.edits(message_id)) == 1


def test_a_held_order_replayed_after_its_master_data_is_fixed_is_delivered_once(
    centre: Centre, store: MessageStore, portal: tuple[IPSoftServer, LeNewBlackServer]
) -> None:
    ipsoft, lenewblack = portal
    message_id = _receive_order(store)
    token = centre.csrf("operator")

    first = centre.post_json(f"/koppel/api/messages/{message_id}/replay", "operator", csrf=token)
    assert first.status_code == 200, first.text
    outcome = first.json()
    assert (outcome["passed"], outcome["status"]) == (False, "held")
    assert any("has no ERP customer reference" in line for line in outcome["lines"])
    assert ipsoft.state.orders == {}
    held = centre.get("/koppel/messages", "viewer", params={"status": "held"})
    assert f'href="/koppel/messages/{message_id}"' in held.text

    lenewblack.state.customers["LNB-4711"].body["erp_reference"] = "C10047"
    bulk = centre.post_form(
        "/koppel/messages/replay",
        "operator",
        # "Every order held for one customer": the list's filters, posted by its form.
        {"status": "held", "problem_text": "studio noor", "csrf_token": token},
    )

    assert bulk.status_code == 200, bulk.text
    assert "Replayed 1 message" in bulk.text
    assert f"({DAG_ID}, was held): delivered" in bulk.text
    assert f"delivered -&gt; CreateOrder/{HELD_ORDER} (sent now)" in bulk.text
    assert list(ipsoft.state.orders) == [HELD_ORDER]
    assert ipsoft.state.orders[HELD_ORDER].customer_number == "C10047"
    assert store.get(message_id).status is MessageStatus.DELIVERED

    again = centre.post_json(f"/koppel/api/messages/{message_id}/replay", "operator", csrf=token)
    assert again.json()["status"] == "delivered"
    assert len([c for c in ipsoft.calls if c[0] == "CreateOrder"]) == 1
    page = centre.get(f"/koppel/messages/{message_id}", "viewer").text
    assert f"CreateOrder/{HELD_ORDER}" in page  # its output, with the delivery attempt
    assert "#1 delivered at" in page
    assert "(a replay, not an Airflow run)" in page


def test_a_hostile_payload_is_shown_as_text_never_as_markup(
    centre: Centre, store: MessageStore
) -> None:
    from koppel.documents import Problem

    script, img = INJECTIONS
    payload = f"<Order><Note>{script}</Note><Ref>{img}</Ref></Order>".encode()
    message_id = store.receive(
        connection_id=CONNECTION, flow=FLOW, source_name=f"/in/{script}.xml", payload=payload
    ).message_id
    store.update(
        message_id,
        status=MessageStatus.REJECTED,
        problems=[Problem(code="xml.syntax", message=f"bad value {img}", field=script)],
    )

    for path in (f"/koppel/messages/{message_id}", "/koppel/messages?status=rejected"):
        response = centre.get(path, "viewer")
        assert response.status_code == 200
        html = response.text
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&#34;&gt;&lt;img src=x onerror=alert(document.cookie)&gt;" in html
        assert "<script" not in html.lower()  # the pages carry no script of their own either
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "script-src" not in policy  # none allowed: default-src 'none' applies
        assert response.headers["x-content-type-options"] == "nosniff"


def test_airflow_s_plugin_manager_loads_the_koppel_plugin_without_import_errors(
    tmp_path: Path,
) -> None:
    """The real plugins folder, as ``airflow api-server`` and ``airflow plugins`` read it."""
    probe = (
        "import json\n"
        "from airflow import plugins_manager\n"
        "plugins, errors = plugins_manager._get_plugins()\n"
        "apps, _ = plugins_manager.get_fastapi_plugins()\n"
        "views, _ = plugins_manager._get_ui_plugins()\n"
        "print(json.dumps({'plugins': [p.name for p in plugins], 'errors': errors,\n"
        "  'apps': [a['url_prefix'] for a in apps], 'views': [v['name'] for v in views]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["errors"] == {}
    assert found["plugins"].count("koppel") == 1
    assert found["apps"].count("/koppel") == 1
    assert found["views"].count("Koppel") == 1
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "plugins", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"koppel"' in listed.stdout
