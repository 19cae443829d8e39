"""Triggering a flow from the integration centre, through Airflow's real api-server app.

The app, the plugin and the simple auth manager's users are
``test_centre_api``'s ``centre`` fixture. The flows' DAGs are parsed from
connection files of this module's own and written to the session's metadata
DB the way the DAG processor writes them (``sync_bag_to_db``), so the form
reads the params Airflow serialized and a trigger makes a real ``DagRun`` row.
Connection ids of their own keep these DAGs and runs out of the other
centre tests' overview (the metadata DB is the session's).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.fixtures.lenewblack import NOORDZEE_MERCHANT
from tests.integration import test_centre_api
from tests.integration.test_centre_api import SITE, Centre

#: ``test_centre_api``'s app with the plugin, its users ``viewer`` and ``operator``.
centre = test_centre_api.centre

PORTAL, FILES = "ipsoft_trigger", "itsperfect_trigger"
#: Its param ``references`` (null | array of strings): "Export now: only these orders".
ORDERS_DAG = f"{PORTAL}__orders"
#: Its param ``resend`` (boolean).
STOCK_DAG = f"{PORTAL}__stock"
#: Its params ``only_files`` (null | array of strings) and ``max_files`` (integer, minimum 1).
FILES_DAG = f"{FILES}__orders"
FILE_MERCHANT = """\
extends: _itsperfect_monta
name: Trigger Moda
prefix: triggermoda
relation_id: "27811"
channels:
  B2C: {origin: triggermoda-webshop}
vars:
  sftp_conn_id: sftp_triggermoda
"""


@pytest.fixture
def flows(centre: Centre, connections_dir: Path) -> Centre:
    """This module's flows' DAGs in Airflow's metadata DB, as the DAG processor writes them.

    The portal merchant's flows are switched on; the file merchant's stay paused.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db

    from tests.fixtures.airflow_env import dag_bag

    (connections_dir / f"{PORTAL}.yaml").write_text(NOORDZEE_MERCHANT + "enabled: true\n")
    (connections_dir / f"{FILES}.yaml").write_text(FILE_MERCHANT)
    bag = dag_bag()
    assert not bag.import_errors, bag.import_errors
    ours = (f"{PORTAL}__", f"{FILES}__")
    bag.dags = {dag_id: dag for dag_id, dag in bag.dags.items() if dag_id.startswith(ours)}
    assert {ORDERS_DAG, STOCK_DAG, FILES_DAG} <= set(bag.dags)
    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    (bundle,) = [b for b in manager.get_all_dag_bundles() if b.name == "dags-folder"]
    sync_bag_to_db(bag, bundle.name, bundle.version)
    return centre


def _runs(dag_id: str) -> dict[str, dict[str, Any]]:
    """The DAG's runs in the metadata DB, by run id."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return {
            run.run_id: {
                "conf": run.conf,
                "run_type": _text(run.run_type),
                "state": _text(run.state),
                "triggering_user_name": run.triggering_user_name,
                "triggered_by": _text(run.triggered_by),
            }
            for run in session.scalars(select(DagRun).where(DagRun.dag_id == dag_id))
        }


def _text(value: Any) -> str:
    """An enum column's value as text (some are plain strings)."""
    return str(getattr(value, "value", value))


def _paused(dag_id: str) -> bool:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        model = session.get(DagModel, dag_id)
        assert model is not None
        return bool(model.is_paused)


def _form_token(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return token.group(1)


def test_a_viewer_may_neither_open_the_form_nor_trigger(flows: Centre) -> None:
    before = _runs(ORDERS_DAG)

    page = flows.get(f"/koppel/flows/{ORDERS_DAG}/trigger", "viewer")
    form = flows.post_form(
        f"/koppel/flows/{ORDERS_DAG}/trigger",
        "viewer",
        {"param-references": "LNB-1", "csrf_token": flows.csrf("viewer")},
    )
    api = flows.post_json(
        f"/koppel/api/flows/{ORDERS_DAG}/trigger",
        "viewer",
        {"conf": {"references": ["LNB-1"]}},
        csrf=flows.csrf("viewer"),
    )

    assert (page.status_code, form.status_code, api.status_code) == (403, 403, 403)
    assert f"not allowed to trigger DAG {ORDERS_DAG}" in api.json()["detail"]
    assert _runs(ORDERS_DAG) == before


def test_every_trigger_route_needs_an_airflow_login(flows: Centre) -> None:
    before = _runs(ORDERS_DAG)
    routes = [
        ("GET", f"/koppel/flows/{ORDERS_DAG}/trigger"),
        ("POST", f"/koppel/flows/{ORDERS_DAG}/trigger"),
        ("GET", f"/koppel/flows/{ORDERS_DAG}/runs/manual__2026-11-29T06%3A00%3A00%2B00%3A00"),
        ("POST", f"/koppel/api/flows/{ORDERS_DAG}/trigger"),
    ]
    for method, path in routes:
        anonymous = flows.client.request(
            method, path, headers={"Origin": SITE}, follow_redirects=False
        )
        assert anonymous.status_code in {401, 403}, (method, path, anonymous.text)
        forged = flows.client.request(
            method,
            path,
            headers={"Origin": SITE, "Authorization": "Bearer not.a.jwt"},
            follow_redirects=False,
        )
        assert forged.status_code in {401, 403}, (method, path, forged.text)
    assert _runs(ORDERS_DAG) == before


def test_the_form_shows_each_param_of_the_dag_airflow_serialized(flows: Centre) -> None:
    orders = flows.get(f"/koppel/flows/{ORDERS_DAG}/trigger", "operator")
    assert orders.status_code == 200, orders.text
    assert "Export now: only these orders" in orders.text  # the param's title
    assert "Order references such as LNB-100045" in orders.text  # and its description
    assert re.search(r'<textarea id="param-references" name="param-references"', orders.text)
    assert "is paused" not in orders.text  # switched on: the run starts at once

    stock = flows.get(f"/koppel/flows/{STOCK_DAG}/trigger", "operator")
    assert "Resend the run&#39;s data interval" in stock.text
    assert 'type="checkbox" id="param-resend" name="param-resend" value="true">' in stock.text

    files = flows.get(f"/koppel/flows/{FILES_DAG}/trigger", "operator")
    assert "Only these files" in files.text
    assert re.search(r'<input type="number" id="param-max_files" [^>]*min="1"', files.text)
    assert "This DAG is paused" in files.text  # a run waits until it is switched on
    assert "It is not switched on for you." in files.text

    unknown = flows.get("/koppel/flows/ipsoft_trigger__nothing/trigger", "operator")
    assert unknown.status_code == 404
    assert "has not been parsed (yet)" in unknown.text
    api = flows.post_json(
        "/koppel/api/flows/ipsoft_trigger__nothing/trigger",
        "operator",
        {"conf": {}},
        csrf=flows.csrf("operator"),
    )
    assert api.status_code == 404
    assert api.json()["detail"] == (
        "Airflow does not know DAG ipsoft_trigger__nothing: its file has not been parsed (yet)"
    )


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(flows: Centre) -> None:
    before = _runs(ORDERS_DAG)
    path = f"/koppel/flows/{ORDERS_DAG}/trigger"
    token = flows.csrf("operator")

    no_token = flows.post_form(path, "operator", {"param-references": "LNB-1"})
    foreign = flows.post_form(
        path,
        "operator",
        {"param-references": "LNB-1", "csrf_token": token},
        origin="https://evil.example",
    )
    api = flows.post_json(f"/koppel/api/flows/{ORDERS_DAG}/trigger", "operator", {"conf": {}})

    assert (no_token.status_code, foreign.status_code, api.status_code) == (403, 403, 403)
    assert "CSRF" in no_token.json()["detail"]
    assert _runs(ORDERS_DAG) == before


def test_a_bad_value_shows_the_form_again_naming_the_param(flows: Centre) -> None:
    before = _runs(FILES_DAG), _runs(ORDERS_DAG)
    path = f"/koppel/flows/{FILES_DAG}/trigger"
    token = _form_token(flows.get(path, "operator").text)

    too_few = flows.post_form(path, "operator", {"param-max_files": "0", "csrf_token": token})
    not_a_number = flows.post_form(
        path, "operator", {"param-max_files": "ten", "csrf_token": token}
    )
    markup = flows.post_form(
        path, "operator", {"param-max_files": "<script>alert(1)</script>", "csrf_token": token}
    )
    api_csrf = flows.csrf("operator")
    not_a_list = flows.post_json(
        f"/koppel/api/flows/{ORDERS_DAG}/trigger",
        "operator",
        {"conf": {"references": "LNB-1"}},
        csrf=api_csrf,
    )
    misspelt = flows.post_json(
        f"/koppel/api/flows/{ORDERS_DAG}/trigger",
        "operator",
        {"conf": {"refrences": ["LNB-1"]}},
        csrf=api_csrf,
    )

    assert too_few.status_code == 400
    assert "Invalid input for param max_files: 0 is less than the minimum of 1" in too_few.text
    assert 'value="0"' in too_few.text  # the form again, as it was posted
    assert not_a_number.status_code == 400
    assert "param max_files: &#39;ten&#39; is not a whole number" in not_a_number.text
    assert markup.status_code == 400
    assert "<script>alert" not in markup.text  # shown as text, in the message and the input
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup.text
    assert not_a_list.status_code == 400
    assert "Invalid input for param references" in not_a_list.json()["detail"]
    assert misspelt.status_code == 400
    assert misspelt.json()["detail"] == f"DAG {ORDERS_DAG} has no param refrences"
    assert (_runs(FILES_DAG), _runs(ORDERS_DAG)) == before


def test_two_lines_of_references_queue_one_manual_run_with_them(flows: Centre) -> None:
    before = _runs(ORDERS_DAG)
    path = f"/koppel/flows/{ORDERS_DAG}/trigger"
    token = _form_token(flows.get(path, "operator").text)

    posted = flows.post_form(
        path, "operator", {"param-references": "LNB-1\r\n LNB-2 \r\n\r\n", "csrf_token": token}
    )

    assert posted.status_code == 303, posted.text
    (run_id,) = set(_runs(ORDERS_DAG)) - set(before)
    assert _runs(ORDERS_DAG)[run_id] == {
        "conf": {"references": ["LNB-1", "LNB-2"]},
        "run_type": "manual",
        "state": "queued",
        "triggering_user_name": "operator",
        "triggered_by": "ui",
    }
    assert run_id.startswith("manual__")  # the run id Airflow makes
    assert posted.headers["location"] == f"/koppel/flows/{ORDERS_DAG}/runs/{quote(run_id)}"
    shown = flows.get(posted.headers["location"], "operator")
    assert shown.status_code == 200, shown.text
    assert f"Run <strong>{run_id}</strong> of DAG {ORDERS_DAG} is queued" in shown.text
    grid = f"/dags/{ORDERS_DAG}/runs/{quote(run_id, safe='')}"
    assert f'href="{grid}"' in shown.text  # into Airflow's grid
    assert "&#34;LNB-1&#34;, &#34;LNB-2&#34;" in shown.text
    assert "Trigger it again" in shown.text
    seen = flows.get(posted.headers["location"], "viewer")  # seeing a run needs read access only
    assert seen.status_code == 200
    assert f"Run <strong>{run_id}</strong>" in seen.text
    assert "Trigger it again" not in seen.text


def test_a_paused_dag_s_run_is_queued_and_the_dag_stays_paused(flows: Centre) -> None:
    before = _runs(FILES_DAG)
    answer = flows.post_json(
        f"/koppel/api/flows/{FILES_DAG}/trigger",
        "operator",
        {"conf": {"only_files": ["order_1234*.xml"], "max_files": 5}},
        csrf=flows.csrf("operator"),
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    (run_id,) = set(_runs(FILES_DAG)) - set(before)
    assert body == {"dag_id": FILES_DAG, "run_id": run_id, "state": "queued"}
    assert _runs(FILES_DAG)[run_id] == {
        "conf": {"only_files": ["order_1234*.xml"], "max_files": 5},
        "run_type": "manual",
        "state": "queued",
        "triggering_user_name": "operator",
        "triggered_by": "rest_api",
    }
    assert _paused(FILES_DAG)  # not switched on behind the user's back
    shown = flows.get(f"/koppel/flows/{FILES_DAG}/runs/{quote(run_id)}", "operator")
    assert "the run waits in the queue until the DAG is switched on" in shown.text


def test_the_api_twin_queues_the_same_run_as_the_form(flows: Centre) -> None:
    before = _runs(ORDERS_DAG)

    answer = flows.post_json(
        f"/koppel/api/flows/{ORDERS_DAG}/trigger",
        "operator",
        {"conf": {"references": ["LNB-1", "LNB-2"]}},
        csrf=flows.csrf("operator"),
        origin=SITE,
    )

    assert answer.status_code == 200, answer.text
    (run_id,) = set(_runs(ORDERS_DAG)) - set(before)
    assert answer.json() == {"dag_id": ORDERS_DAG, "run_id": run_id, "state": "queued"}
    assert _runs(ORDERS_DAG)[run_id] == {
        "conf": {"references": ["LNB-1", "LNB-2"]},
        "run_type": "manual",
        "state": "queued",
        "triggering_user_name": "operator",
        "triggered_by": "rest_api",
    }


def test_the_overview_offers_trigger_to_a_viewer_only_as_airflow_s_dag_page(
    flows: Centre, connections_dir: Path
) -> None:
    page = flows.get("/koppel/", "viewer")
    assert page.status_code == 200, page.text
    assert f'href="/dags/{ORDERS_DAG}"' in page.text  # the plain link into Airflow stays
    assert f"/koppel/flows/{ORDERS_DAG}/trigger" not in page.text


def test_the_overview_links_an_operator_to_the_trigger_form(flows: Centre) -> None:
    page = flows.get("/koppel/", "operator")
    assert page.status_code == 200, page.text
    assert f'href="/koppel/flows/{ORDERS_DAG}/trigger">Trigger…</a>' in page.text
    assert f'href="/dags/{ORDERS_DAG}"' in page.text
