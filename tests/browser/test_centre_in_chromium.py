"""The integration centre in a real browser: headless Chromium on ``make airflow``.

Starts ``make airflow``'s launcher on a new home, so the demo's flows run once
in Airflow standalone and fill the store, then drives Debian's ``chromium``
through ``chromium-driver`` (Selenium, no browser download) as an operator
would: log in on Airflow's own login page, open the overview, filter the
messages to a rejected order, read its problem, correct the payload, replay
it and see it delivered, with the file in the warehouse's folder. A file
named and written as an injection goes through the same flow and its page
shows it as text. Each page is saved as a screenshot under
``$KOPPEL_ARTIFACTS_DIR/browser`` (default ``.artifacts/browser``).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

from koppel.local_airflow_demo import DEMO_DAGS
from koppel.sandbox.partner_files import drop_file
from tests.fixtures.local_airflow import Launcher, running_launcher

pytestmark = [pytest.mark.dagrun, pytest.mark.integration]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: How long the demo's six flows may take on a busy CI machine.
DEMO_SECONDS = 900
WAIT_SECONDS = 60
ACME_ORDERS = "itsperfect_acme__orders"
#: The demo's order with a quantity written as a word (``xsd``): fixed by hand below.
BAD_ORDER = "order_100237.xml"
#: The hostile corpus's markup injections, as a file's name and its content.
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(document.cookie)>'
HOSTILE_NAME = "order_<img src=x onerror=alert(1)>.xml"
HOSTILE_PAYLOAD = f"<Order><Note>{SCRIPT}</Note><Ref>{IMG}</Ref>".encode()

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    WHY = "needs Debian's chromium and chromium-driver (.ci/run installs them)"
    if os.environ.get("CI"):
        pytest.fail(WHY, pytrace=False)  # in CI these tests must run, never skip
    pytest.skip(WHY, allow_module_level=True)


def _artifacts() -> Path:
    folder = Path(os.environ.get("KOPPEL_ARTIFACTS_DIR", PROJECT_ROOT / ".artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    with running_launcher(tmp_path_factory.mktemp("centre_browser")) as started:
        deadline = time.monotonic() + DEMO_SECONDS
        while "demo: done" not in started.output():
            assert started.process.poll() is None, started.output()[-4000:]
            assert time.monotonic() < deadline, started.output()[-4000:]
            time.sleep(2)
        yield started


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1440,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Operator:
    """A person at the browser: clicks, reads, and keeps a screenshot of each page."""

    def __init__(self, driver: WebDriver, launcher: Launcher) -> None:
        self.driver = driver
        self.launcher = launcher
        self.wait = WebDriverWait(driver, WAIT_SECONDS)
        self.shots = _artifacts()

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))

    def heading(self) -> str:
        return str(self.wait.until(seen.presence_of_element_located((By.TAG_NAME, "h1"))).text)

    def click(self, by: str, value: str) -> None:
        self.wait.until(seen.element_to_be_clickable((by, value))).click()

    def log_in(self) -> None:
        self.driver.get(f"{self.launcher.url}/koppel/")
        # The centre sends a browser without a login to Airflow's own login page.
        user = self.wait.until(seen.element_to_be_clickable((By.NAME, "username")))
        assert "/auth/login" in self.driver.current_url
        self.shot("00_airflow_login")
        user.send_keys("admin")
        self.driver.find_element(By.NAME, "password").send_keys(self.launcher.password)
        self.click(By.XPATH, "//button[@type='submit']")
        self.wait.until(seen.url_contains("/koppel/"))
        assert self.heading() == "Connections and flows"

    def no_script_ran(self) -> None:
        try:
            alert = self.driver.switch_to.alert
        except NoAlertPresentException:
            return
        raise AssertionError(f"a script ran: alert {alert.text!r}")


def _inbound(launcher: Launcher, dag_id: str) -> Path:
    """Where the stand-in SFTP server keeps ``dag_id``'s inbound folder."""
    from koppel.config import load_all
    from koppel.config.endpoint import FileEndpoint
    from koppel.settings import connections_dir

    for connection in load_all(connections_dir()).connections:
        for name, flow in connection.flows.items():
            if f"{connection.id}__{name}" == dag_id and isinstance(flow.source, FileEndpoint):
                return launcher.home / "sandbox" / "sftp" / flow.source.folder.lstrip("/")
    raise AssertionError(f"no file flow {dag_id}")


def _run(launcher: Launcher, dag_id: str) -> None:
    from koppel.local_airflow_demo import AirflowApi, run_once

    api = AirflowApi(launcher.url, "admin", launcher.password)
    assert run_once(api, dag_id) in {"success", "failed"}


def test_an_operator_fixes_a_rejected_order_and_replays_it_in_chromium(
    launcher: Launcher, browser: WebDriver
) -> None:
    me = Operator(browser, launcher)
    for dag_id in DEMO_DAGS:
        assert f"demo: {dag_id} " in launcher.output()
    me.log_in()
    _read_the_overview(me)
    message_url = _open_the_rejected_order(me)
    _correct_the_quantity(me, message_url)
    _replay_and_see_it_delivered(me, message_url)
    monta = launcher.home / "sandbox" / "sftp" / "acme" / "monta" / "orders"
    delivered = [f for f in monta.rglob("*") if f.is_file() and b"IP-2025-9002" in f.read_bytes()]
    assert len(delivered) == 1
    assert b"<Quantity>two</Quantity>" not in delivered[0].read_bytes()
    me.no_script_ran()


def _read_the_overview(me: Operator) -> None:
    """Every flow, the demo's rejected orders counted and linked; the same inside Airflow's UI."""
    browser = me.driver
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) >= 30
    acme = browser.find_element(
        By.XPATH, "//tr[td/small[text()='itsperfect_acme'] and starts-with(td[2], 'orders')]"
    )
    assert acme.find_element(By.CSS_SELECTOR, "a.rejected").text == "2"
    assert "success" in acme.text or "failed" in acme.text  # the demo run, with a link into it
    me.shot("01_overview")
    # Under Airflow's "Koppel" menu entry, the centre in Airflow's own page.
    browser.get(f"{me.launcher.url}/plugin/koppel")
    frame = me.wait.until(seen.presence_of_element_located((By.TAG_NAME, "iframe")))
    browser.switch_to.frame(frame)
    assert me.heading() == "Connections and flows"
    browser.switch_to.default_content()
    me.shot("02_overview_in_airflow")


def _open_the_rejected_order(me: Operator) -> str:
    """Filter the list to Acme's rejected orders, open the one with a word for a quantity."""
    browser = me.driver
    browser.get(f"{me.launcher.url}/koppel/messages")
    browser.find_element(By.NAME, "connection").send_keys("itsperfect_acme")
    browser.find_element(By.NAME, "flow").send_keys("orders")
    Select(browser.find_element(By.NAME, "status")).select_by_value("rejected")
    me.click(By.XPATH, "//button[text()='Filter']")
    me.wait.until(seen.url_contains("status=rejected"))
    assert browser.find_element(By.CLASS_NAME, "total").text == "2 messages match; showing 2."
    me.shot("03_rejected_orders")
    row = browser.find_element(By.XPATH, f"//tr[td[contains(., '{BAD_ORDER}')]]")
    row.find_element(By.CSS_SELECTOR, "td a").click()
    assert me.heading().endswith("rejected")
    problems = browser.find_element(By.CSS_SELECTOR, "table.problems").text
    assert "xsd.invalid" in problems
    assert "/Orders/Order/Lines/Line[1]/Quantity" in problems  # the field
    assert f"{BAD_ORDER}:" in problems  # the file and line
    assert "'two' is not a valid value" in problems
    me.shot("04_rejected_message")
    return str(browser.current_url)


def _correct_the_quantity(me: Operator, message_url: str) -> None:
    """Edit a copy: the quantity as a number. The original is kept, the diff recorded."""
    browser = me.driver
    me.click(By.LINK_TEXT, "Edit a copy of the payload")
    payload = me.wait.until(seen.presence_of_element_located((By.NAME, "payload")))
    corrected = str(payload.get_attribute("value")).replace(
        "<Quantity>two</Quantity>", "<Quantity>2</Quantity>"
    )
    payload.clear()
    payload.send_keys(corrected)
    me.shot("05_edit")
    me.click(By.XPATH, "//button[text()='Store the corrected copy']")
    me.wait.until(seen.url_to_be(message_url))
    diff = browser.find_element(By.CSS_SELECTOR, "pre.diff").text
    assert "<Quantity>two</Quantity>" in diff
    assert "<Quantity>2</Quantity>" in diff
    assert "by admin" in browser.find_element(By.CSS_SELECTOR, "section.edit").text
    assert "payload as received" in browser.find_element(By.TAG_NAME, "body").text


def _replay_and_see_it_delivered(me: Operator, message_url: str) -> None:
    """Replay now: every check runs again and the order goes to the warehouse."""
    browser = me.driver
    me.click(By.XPATH, "//button[text()='Replay now']")
    outcome = me.wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "section.outcome")))
    assert "delivered" in outcome.find_element(By.TAG_NAME, "h2").text, outcome.text
    assert "/acme/monta/orders/" in outcome.text
    me.shot("06_replayed")
    browser.get(message_url)
    assert me.heading().endswith("delivered")
    outputs = browser.find_element(By.XPATH, "//h2[starts-with(., 'Outputs')]/following::table[1]")
    assert "delivered" in outputs.text
    me.shot("07_delivered")


def test_a_hostile_file_s_page_shows_its_markup_as_text(
    launcher: Launcher, browser: WebDriver
) -> None:
    me = Operator(browser, launcher)
    drop_file(_inbound(launcher, ACME_ORDERS), HOSTILE_NAME, HOSTILE_PAYLOAD)
    _run(launcher, ACME_ORDERS)
    me.log_in()

    browser.get(f"{launcher.url}/koppel/messages?text=onerror&status=rejected")
    row = browser.find_element(By.XPATH, "//tr[td[contains(., 'onerror')]]")
    assert HOSTILE_NAME in row.text  # the name, as text
    row.find_element(By.CSS_SELECTOR, "td a").click()
    assert me.heading().endswith("rejected")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert SCRIPT in page
    assert IMG in page
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.CSS_SELECTOR, "main script") == []
    me.shot("08_hostile_file")
    me.no_script_ran()


def test_an_operator_triggers_a_flow_with_its_params_form(
    launcher: Launcher, browser: WebDriver
) -> None:
    me = Operator(browser, launcher)
    me.log_in()
    row = browser.find_element(
        By.XPATH, "//tr[td/small[text()='itsperfect_acme'] and starts-with(td[2], 'orders')]"
    )
    row.find_element(By.LINK_TEXT, "Trigger…").click()
    assert me.heading() == f"Trigger {ACME_ORDERS}"
    only = me.wait.until(seen.presence_of_element_located((By.NAME, "param-only_files")))
    only.send_keys("order_1002*.xml")
    me.shot("09_trigger_form")
    me.click(By.XPATH, "//button[text()='Trigger now']")
    me.wait.until(seen.url_contains("/runs/"))
    run_id = browser.find_element(By.CSS_SELECTOR, "p.triggered strong").text
    me.shot("10_triggered")
    grid = browser.find_element(By.LINK_TEXT, "Follow it in Airflow's grid")
    assert str(grid.get_attribute("href")).startswith(f"{launcher.url}/dags/{ACME_ORDERS}/runs/")
    run = launcher.api("GET", f"/api/v2/dags/{ACME_ORDERS}/dagRuns/{quote(run_id, safe='')}")
    assert run["conf"] == {"only_files": ["order_1002*.xml"]}
    assert (run["run_type"], run["triggering_user_name"]) == ("manual", "admin")
