"""The live questions page in a real browser: Debian's Chromium driven by Playwright, against a
real daphne process on the test database (tests/live_daphne.py)."""

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections
from playwright.sync_api import expect, sync_playwright
from websockets.sync.client import connect

from mesh.models import Question
from tests import factories
from tests.live_daphne import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


def orm(function, *args, **kwargs):
    """Run database code off this thread: Playwright's sync API keeps an event loop here, and
    Django refuses synchronous queries next to a running loop."""

    def run():
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def browser_page():
    """A fresh Chromium page; the browser is closed at teardown."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed: run `make browser`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        context = browser.new_context(viewport={"width": 1100, "height": 800})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.fixture
def staff_owner(db):
    """An owner who can log in through the admin login (PBKDF2: the server's hasher)."""
    owner = factories.make_owner("ada", is_staff=True)
    hasher = PBKDF2PasswordHasher()
    owner.password = hasher.encode(PASSWORD, hasher.salt())
    owner.save(update_fields=["password"])
    return owner


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/questions/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/questions/")
    expect(page.locator("#connection-text")).to_have_text("Live")


def test_multi_select_free_text_and_answers_from_elsewhere(
    staff_owner, daphne_servers, browser_page
):
    """Multi-select sends a JSON array; free text sends the text; an answer given in another
    tab removes the question from the page."""
    directive = orm(factories.make_directive, staff_owner, title="Ops", reconcile_mode="manual")
    task, _ = orm(factories.make_task, staff_owner, directive, name="ops-bot")
    multi = orm(
        factories.make_question,
        task,
        question="Which regions?",
        choices=["eu, west", "us-east", "ap"],
        multi_select=True,
    )
    free = orm(factories.make_question, task, question="Any release notes to add?")
    elsewhere = orm(factories.make_question, task, question="Answered in another tab?")
    api_token = orm(factories.make_token, staff_owner)
    server = daphne_servers("browser")
    page = browser_page

    log_in(page, server.base_url)
    expect(page.locator("li.card")).to_have_count(3)
    expect(page).to_have_title("(3) Questions — Makima mesh")
    page.screenshot(path=str(ARTIFACTS / "questions-page-three.png"), full_page=True)

    multi_card = page.locator("li.card").filter(has_text="Which regions?")
    multi_card.get_by_label("eu, west").check()
    multi_card.get_by_label("ap").check()
    multi_card.get_by_role("button", name="Send selected").click()
    expect(multi_card).to_have_count(0)

    free_card = page.locator("li.card").filter(has_text="Any release notes to add?")
    free_card.get_by_label("Your answer").fill("Mention the new retry policy.")
    free_card.get_by_label("Your answer").press("Control+Enter")
    expect(free_card).to_have_count(0)

    with connect(
        f"{server.ws_url}/ws/v1/mesh/questions/",
        subprotocols=["makima.bearer", api_token],
        origin=server.base_url,
        open_timeout=10,
    ) as other_tab:
        assert json.loads(other_tab.recv(timeout=10))["type"] == "snapshot"
        other_tab.send(
            json.dumps({"type": "answer", "questionId": str(elsewhere.id), "response": "yes"})
        )
        assert json.loads(other_tab.recv(timeout=10))["type"] in {
            "answer.accepted",
            "question.answered",
        }
    expect(page.locator("li.card")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    expect(page).to_have_title("Questions — Makima mesh")

    stored = orm(
        lambda: {row.pk: row for row in Question.objects.filter(pk__in=[multi.pk, free.pk])}
    )
    assert json.loads(stored[multi.pk].response) == ["eu, west", "ap"]
    assert stored[free.pk].response == "Mention the new retry policy."


def test_connection_state_and_reconnect(staff_owner, daphne_servers, browser_page):
    """When the server goes away the page says so and reconnects by itself when it is back,
    picking up a question asked meanwhile from the fresh snapshot."""
    directive = orm(factories.make_directive, staff_owner, title="Ops", reconcile_mode="manual")
    task, _ = orm(factories.make_task, staff_owner, directive, name="night-bot")
    server = daphne_servers("browser")
    page = browser_page

    log_in(page, server.base_url)
    server.stop()
    expect(page.locator("#connection-text")).to_contain_text("Offline — reconnecting in")
    expect(page.get_by_role("button", name="Retry now")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "questions-page-offline.png"))

    orm(factories.make_question, task, question="Asked while you were offline?")
    server.restart()
    # The backoff (1 s doubling, with jitter) has reached a few seconds by now.
    expect(page.locator("#connection-text")).to_have_text("Live", timeout=30_000)
    expect(page.locator("li.card")).to_contain_text("Asked while you were offline?")
