"""The live questions page in a real browser: Debian's Chromium driven by Playwright, against a
real daphne process on the test database (tests/live_daphne.py)."""

import json
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect, sync_playwright
from websockets.sync.client import connect

from mesh.models import Question
from tests import factories
from tests.live_daphne import ARTIFACTS, off_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
# The page holds a card's outcome 5 s before it moves to History; these tests need not wait.
QUICK_OUTCOME = {"MESH_PAGE_OUTCOME_SECONDS": "0.2"}
# Headless Chromium shows no notifications: record them instead, and play a tab in the
# background (notifications are only for questions that arrive while you look elsewhere).
FAKE_NOTIFICATIONS = """
window.shownNotifications = [];
class FakeNotification {
  constructor(title, options) { window.shownNotifications.push({title, body: options.body}); }
  addEventListener() {}
  close() {}
}
FakeNotification.permission = "default";
FakeNotification.requestPermission = () => {
  FakeNotification.permission = "granted";
  return Promise.resolve("granted");
};
window.Notification = FakeNotification;
document.hasFocus = () => false;
"""


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
def page_owner(db):
    """An owner (not staff) who logs in at /accounts/login/ (PBKDF2: the server's hasher)."""
    owner = factories.make_owner("ada")
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


def test_question_appears_and_a_click_answers_the_blocked_ask(
    page_owner, daphne_servers, browser_page
):
    """A task's blocking ask shows up live (with a notification once allowed); clicking a
    choice returns it to the task."""
    directive = off_thread(
        factories.make_directive, page_owner, title="Ship the release", reconcile_mode="manual"
    )
    task, tool_key = off_thread(factories.make_task, page_owner, directive, name="release-bot")
    server = daphne_servers(
        "browser", MESH_BLOCK_WAIT_SECONDS="60", MESH_POLL_WAIT_SECONDS="60", **QUICK_OUTCOME
    )
    page = browser_page
    page.add_init_script(FAKE_NOTIFICATIONS)

    log_in(page, server.base_url)
    expect(page.locator("#empty")).to_be_visible()
    expect(page).to_have_title("Questions — Makima mesh")
    page.get_by_role("button", name="Enable notifications").click()
    expect(page.locator("#notify-state")).to_have_text("Notifications on")

    result: dict = {}

    def ask() -> None:
        response = httpx.post(
            f"{server.base_url}/api/v1/mesh/supervisor/questions",
            headers={"X-Makima-Tool-Key": tool_key},
            json={
                "question": "Which environment should the release go to?",
                "choices": ["staging", "production"],
                "context": "Build 4521 passed all checks.\nChangelog: 12 fixes, 2 features.",
            },
            timeout=90,
        )
        result["status"] = response.status_code
        result["body"] = response.json()

    asker = threading.Thread(target=ask)
    asker.start()

    card = page.locator("li.card").filter(has_text="Which environment should the release go to?")
    expect(card).to_be_visible(timeout=15_000)
    expect(card).to_contain_text("release-bot")
    expect(card).to_contain_text("Ship the release")
    expect(page).to_have_title("(1) Questions — Makima mesh")
    assert page.evaluate("window.shownNotifications") == [
        {
            "title": "Question from release-bot",
            "body": "Which environment should the release go to?",
        }
    ]
    card.locator("summary", has_text="Context").click()
    expect(card.locator(".card__context-body")).to_contain_text("Build 4521 passed all checks.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "questions-page.png"), full_page=True)

    card.get_by_role("button", name="production").click()

    asker.join(timeout=30)
    assert not asker.is_alive()
    assert result["status"] == 200
    assert result["body"]["response"] == "production"
    expect(card).to_have_count(0)
    expect(page).to_have_title("Questions — Makima mesh")


def test_multi_select_free_text_and_answers_from_elsewhere(
    page_owner, daphne_servers, browser_page
):
    """Multi-select sends a JSON array; free text sends the text; an answer given in another
    tab removes the question from the page."""
    directive = off_thread(
        factories.make_directive, page_owner, title="Ops", reconcile_mode="manual"
    )
    task, _ = off_thread(factories.make_task, page_owner, directive, name="ops-bot")
    multi = off_thread(
        factories.make_question,
        task,
        question="Which regions?",
        choices=["eu, west", "us-east", "ap"],
        multi_select=True,
    )
    free = off_thread(factories.make_question, task, question="Any release notes to add?")
    elsewhere = off_thread(factories.make_question, task, question="Answered in another tab?")
    api_token = off_thread(factories.make_token, page_owner)
    server = daphne_servers("browser", **QUICK_OUTCOME)
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

    stored = off_thread(
        lambda: {row.pk: row for row in Question.objects.filter(pk__in=[multi.pk, free.pk])}
    )
    assert json.loads(stored[multi.pk].response) == ["eu, west", "ap"]
    assert stored[free.pk].response == "Mention the new retry policy."


def test_connection_state_and_reconnect(page_owner, daphne_servers, browser_page):
    """When the server goes away the page says so and reconnects by itself when it is back,
    picking up a question asked meanwhile from the fresh snapshot."""
    directive = off_thread(
        factories.make_directive, page_owner, title="Ops", reconcile_mode="manual"
    )
    task, _ = off_thread(factories.make_task, page_owner, directive, name="night-bot")
    server = daphne_servers("browser", **QUICK_OUTCOME)
    page = browser_page

    log_in(page, server.base_url)
    server.stop()
    expect(page.locator("#connection-text")).to_contain_text("Offline — reconnecting in")
    expect(page.get_by_role("button", name="Retry now")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "questions-page-offline.png"))

    off_thread(factories.make_question, task, question="Asked while you were offline?")
    server.restart()
    # The backoff (1 s doubling, with jitter) has reached a few seconds by now.
    expect(page.locator("#connection-text")).to_have_text("Live", timeout=30_000)
    expect(page.locator("li.card")).to_contain_text("Asked while you were offline?")


def test_withdrawn_question_disappears(page_owner, daphne_servers, browser_page):
    """A question withdrawn by the auto-mode timeout leaves the page by itself."""
    directive = off_thread(
        factories.make_directive, page_owner, title="Auto", reconcile_mode="auto"
    )
    _, tool_key = off_thread(factories.make_task, page_owner, directive, name="auto-bot")
    server = daphne_servers("browser", MESH_AUTO_TIMEOUT_SECONDS="3", **QUICK_OUTCOME)
    page = browser_page
    log_in(page, server.base_url)

    with ThreadPoolExecutor(max_workers=1) as pool:
        asked = pool.submit(
            httpx.post,
            f"{server.base_url}/api/v1/mesh/supervisor/questions",
            headers={"X-Makima-Tool-Key": tool_key},
            json={"question": "Quick one?"},
            timeout=30,
        )
        card = page.locator("li.card").filter(has_text="Quick one?")
        expect(card).to_be_visible()
        expect(card).to_have_count(0, timeout=15_000)
        assert asked.result(timeout=15).status_code == 408
    expect(page.locator("#empty")).to_be_visible()


def test_question_answered_over_rest_disappears(page_owner, daphne_servers, browser_page):
    """An answer given over REST removes the question from the open page."""
    directive = off_thread(
        factories.make_directive, page_owner, title="Ops", reconcile_mode="manual"
    )
    task, _ = off_thread(factories.make_task, page_owner, directive, name="rest-bot")
    question = off_thread(factories.make_question, task, question="Answered over REST?")
    api_token = off_thread(factories.make_token, page_owner)
    server = daphne_servers("browser", **QUICK_OUTCOME)
    page = browser_page
    log_in(page, server.base_url)
    card = page.locator("li.card").filter(has_text="Answered over REST?")
    expect(card).to_be_visible()

    answered = httpx.post(
        f"{server.base_url}/api/v1/mesh/questions/{question.id}/answer",
        headers={"Authorization": f"Bearer {api_token}"},
        json={"response": "yes"},
        timeout=10,
    )

    assert answered.status_code == 200
    expect(card).to_have_count(0)
    expect(page).to_have_title("Questions — Makima mesh")


def test_the_page_loads_with_questions_full_of_four_byte_characters(
    page_owner, daphne_servers, browser_page
):
    """Questions as large as the bounds allow, every character 4 bytes: the snapshot still
    fits in a frame, the page shows what fits and counts the rest."""
    directive = off_thread(
        factories.make_directive, page_owner, title="Big", reconcile_mode="manual"
    )
    task, _ = off_thread(factories.make_task, page_owner, directive, name="emoji-bot")
    for n in range(3):
        off_thread(
            factories.make_question,
            task,
            question=f"Q{n} " + "😀" * 3990,
            choices=[f"{c} " + "🎉" * 490 for c in range(50)],
            context="🧪" * 20000,
        )
    server = daphne_servers("browser", **QUICK_OUTCOME)
    page = browser_page
    log_in(page, server.base_url)
    expect(page.locator("li.card").first).to_contain_text("Q0 😀")
    shown = page.locator("li.card").count()
    assert 1 <= shown < 3
    expect(page.locator("#count")).to_have_text("3")
    expect(page.locator("#more")).to_contain_text(f"{3 - shown} more pending")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "questions-page-large.png"))
