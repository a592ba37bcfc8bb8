"""The owner's inbox page in a real browser (Debian's Chromium through Playwright, against a
real daphne on the test database): History and its search, the deep link, decline with a
reason, the outcome on the card, the keyboard, the 390 px and 1280 px layouts, and the
sanitised Markdown context. Fixtures and the login are test_browser.py's."""

import re
import shutil
import threading
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from mesh.questions import services
from tests import factories
from tests.live_daphne import ARTIFACTS, off_thread
from tests.mesh.feed.test_browser import CHROMIUM, log_in
from tests.mesh.feed.test_browser import page_owner as page_owner  # the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# The elements that reach past the viewport's right edge (for the failure message).
OVERFLOWING = """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
  window.scrollX].concat(Array.from(document.querySelectorAll("body *"))
  .filter(e => e.getBoundingClientRect().right + window.scrollX
    > document.documentElement.clientWidth + 0.5)
  .map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))
  .slice(0, 8))"""


def assert_no_overflow(page) -> None:
    assert page.evaluate(NO_OVERFLOW), page.evaluate(OVERFLOWING)


@pytest.fixture
def browser():
    """Chromium, for tests that open pages of their own sizes; closed at teardown."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed: run `make browser`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser, width: int = 1280, height: int = 900, touch: bool = False):
    context = browser.new_context(
        viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch
    )
    return context.new_page()


def owner_task(owner, mode: str = "manual", name: str = "release-bot"):
    directive = off_thread(factories.make_directive, owner, title="Ship it", reconcile_mode=mode)
    return off_thread(factories.make_task, owner, directive, name=name)


def ask_in_background(server, tool_key: str, body: dict) -> tuple[threading.Thread, dict]:
    """A blocking ask from another thread; its reply lands in the returned dict."""
    result: dict = {}

    def ask() -> None:
        response = httpx.post(
            f"{server.base_url}/api/v1/mesh/supervisor/questions",
            headers={"X-Makima-Tool-Key": tool_key},
            json=body,
            timeout=60,
        )
        result["status"] = response.status_code
        result["body"] = response.json()

    thread = threading.Thread(target=ask)
    thread.start()
    return thread, result


def pending_card(page, text: str):
    return page.locator("#questions > li.card").filter(has_text=text)


def test_the_outcome_shows_on_the_card_then_moves_to_history(page_owner, daphne_servers, browser):
    """Answering shows "Answered: yes — the task has it" on the card, which then leaves
    Pending for the top of History, with who answered and how long the task waited."""
    task, tool_key = owner_task(page_owner)
    off_thread(factories.make_question, task, question="Deploy build 4521?", choices=["yes", "no"])
    server = daphne_servers("browser", MESH_PAGE_OUTCOME_SECONDS="1.5")
    page = new_page(browser)
    log_in(page, server.base_url)
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-empty")).to_be_visible()
    page.get_by_role("tab", name="Pending").click()

    card = pending_card(page, "Deploy build 4521?")
    card.get_by_role("button", name="yes").click()

    expect(card.locator(".card__outcome")).to_have_text("Answered: yes — the task has it")
    expect(card.get_by_role("button", name="yes")).to_be_hidden()
    expect(page.locator("#count")).to_have_text("0")
    page.screenshot(path=str(ARTIFACTS / "inbox-outcome.png"))
    expect(card).to_have_count(0, timeout=10_000)
    page.get_by_role("tab", name="History").click()
    item = page.locator("#history > li").filter(has_text="Deploy build 4521?")
    expect(item).to_contain_text("Answered")
    expect(item).to_contain_text("Answer: yes")
    expect(item).to_contain_text("By ada.")
    expect(item).to_contain_text("The task waited")

    # History stays live: a question answered elsewhere (here over REST) joins it at once.
    # (Asked through the server: its events reach the page on SQLite too.)
    asked = httpx.post(
        f"{server.base_url}/api/v1/mesh/supervisor/questions",
        headers={"X-Makima-Tool-Key": tool_key},
        json={"question": "Answered over REST?", "nonBlocking": True},
        timeout=10,
    )
    elsewhere = asked.json()["questionId"]
    token = off_thread(factories.make_token, page_owner)
    answered = httpx.post(
        f"{server.base_url}/api/v1/questions/{elsewhere}/answer/",
        headers={"Authorization": f"Bearer {token}"},
        json={"response": "fine"},
        timeout=10,
    )
    assert answered.status_code == 200
    top = page.locator("#history > li").first
    expect(top).to_contain_text("Answered over REST?")
    expect(top).to_contain_text("Answer: fine")
    expect(top).to_contain_text("By ada.")


def test_decline_with_a_reason_reaches_the_blocked_ask(page_owner, daphne_servers, browser):
    """Decline… with a reason: the waiting ask returns declined with the reason, and the card
    says so."""
    _, tool_key = owner_task(page_owner)
    server = daphne_servers("browser", MESH_BLOCK_WAIT_SECONDS="60", MESH_PAGE_OUTCOME_SECONDS="5")
    page = new_page(browser)
    log_in(page, server.base_url)
    asker, result = ask_in_background(server, tool_key, {"question": "Rotate the keys now?"})

    card = pending_card(page, "Rotate the keys now?")
    card.get_by_role("button", name="Decline…").click()
    card.get_by_label("Reason for declining (optional)").fill("Not during the freeze")
    card.get_by_role("button", name="Decline question").click()

    asker.join(timeout=30)
    assert result["status"] == 200
    assert result["body"]["status"] == "declined"
    assert result["body"]["reason"] == "Not during the freeze"
    assert result["body"]["response"] is None
    expect(card.locator(".card__outcome")).to_have_text(
        "Declined: Not during the freeze — the task has been told"
    )


def test_a_failed_send_says_why_and_keeps_the_text(page_owner, daphne_servers, browser):
    task, _ = owner_task(page_owner)
    off_thread(factories.make_question, task, question="Release notes?")
    server = daphne_servers("browser")
    page = new_page(browser)
    log_in(page, server.base_url)
    card = pending_card(page, "Release notes?")
    card.get_by_label("Your answer").fill("Mention the retry policy.")
    server.stop()
    expect(page.locator("#connection-text")).to_contain_text("Offline")
    card.get_by_role("button", name="Send answer").click()
    expect(card.locator(".card__error")).to_contain_text("Not connected, so nothing was sent")
    expect(card.get_by_label("Your answer")).to_have_value("Mention the retry policy.")


def test_keyboard_moves_picks_declines_searches_and_lists_keys(page_owner, daphne_servers, browser):
    task, _ = owner_task(page_owner)
    first = off_thread(
        factories.make_question, task, question="Which region?", choices=["eu", "us", "ap"]
    )
    second = off_thread(factories.make_question, task, question="Run the migration?")
    server = daphne_servers("browser", MESH_PAGE_OUTCOME_SECONDS="0.2")
    page = new_page(browser)
    log_in(page, server.base_url)
    expect(page.locator("#questions > li.card")).to_have_count(2)

    page.keyboard.press("?")
    expect(page.locator("#keys")).to_be_visible()
    expect(page.locator("#keys")).to_contain_text("Decline the current question")
    page.keyboard.press("Escape")
    expect(page.locator("#keys")).to_be_hidden()

    page.keyboard.press("j")
    expect(pending_card(page, "Which region?")).to_have_class("card card--current")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("2")
    expect(pending_card(page, "Which region?")).to_have_count(0)

    page.keyboard.press("j")
    page.keyboard.press("d")
    reason = pending_card(page, "Run the migration?").get_by_label("Reason for declining")
    expect(reason).to_be_focused()
    page.keyboard.type("d1 is not ready")  # typed into the field, not taken as keys
    page.keyboard.press("Control+Enter")
    expect(pending_card(page, "Run the migration?")).to_have_count(0)

    page.keyboard.press("/")
    expect(page.locator("#history-search")).to_be_focused()
    expect(page.get_by_role("tab", name="History")).to_have_attribute("aria-selected", "true")

    stored = off_thread(lambda: [type(first).objects.get(pk=q.pk) for q in (first, second)])
    assert (stored[0].status, stored[0].response) == ("answered", "us")
    assert (stored[1].status, stored[1].reason) == ("declined", "d1 is not ready")


def test_history_lists_settled_questions_with_search_filter_and_more(
    page_owner, daphne_servers, browser
):
    task, _ = owner_task(page_owner)

    def settle_some() -> None:
        for n in range(22):
            question = factories.make_question(task, question=f"Routine check {n}?")
            services.question_answer(question_id=str(question.id), owner=page_owner, response="ok")
        keys = factories.make_question(task, question="Rotate the signing keys?")
        services.question_decline(question_id=str(keys.id), owner=page_owner, reason="later")
        factories.make_question(task, question="Still waiting?")

    off_thread(settle_some)
    server = daphne_servers("browser")
    page = new_page(browser)
    log_in(page, server.base_url)
    page.get_by_role("tab", name="History").click()
    items = page.locator("#history > li")
    expect(items).to_have_count(20)
    expect(page.locator("#history")).not_to_contain_text("Still waiting?")
    expect(items.first).to_contain_text("Rotate the signing keys?")
    expect(items.first).to_contain_text("Declined")
    expect(items.first).to_contain_text("Reason: later")
    page.get_by_role("button", name="More").click()
    expect(items).to_have_count(23)
    page.screenshot(path=str(ARTIFACTS / "inbox-history.png"))
    expect(page.get_by_role("button", name="More")).to_be_hidden()

    page.get_by_label("Search").fill("signing")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Rotate the signing keys?")
    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option(label="Declined")
    expect(items).to_have_count(1)
    page.get_by_label("Status").select_option(label="Answered")
    expect(items).to_have_count(20)

    items.filter(has_text="Routine check 21?").get_by_role("link").click()
    expect(page.locator(".settled")).to_contain_text("Answered")
    expect(page.locator('[data-field="response"]')).to_have_text("ok")
    # The tab is remembered in the address: back to the list shows History again.
    page.goto(f"{server.base_url}/questions/#history")
    expect(page.get_by_role("tab", name="History")).to_have_attribute("aria-selected", "true")


def test_deep_link_answers_a_pending_question_and_then_shows_its_outcome(
    page_owner, daphne_servers, browser
):
    task, _ = owner_task(page_owner)
    question = off_thread(
        factories.make_question,
        task,
        question="Merge the hotfix?",
        context="CI is **green**.",
        ttl_seconds=1800,
    )
    server = daphne_servers("browser", MESH_PAGE_OUTCOME_SECONDS="0.2")
    page = new_page(browser)
    log_in(page, server.base_url)
    card = pending_card(page, "Merge the hotfix?")
    link = card.get_by_role("link", name="Link to this question")
    expect(link).to_have_attribute("href", f"/questions/{question.id}/")
    # A live age, and a countdown as the question expires within the hour.
    expect(card.locator(".card__age")).to_have_text(re.compile(r"^waiting \d+ s$"))
    expect(card.locator(".card__countdown")).to_have_text(re.compile(r"^expires in (29|30):\d\d$"))
    link.click()

    page.wait_for_url(f"{server.base_url}/questions/{question.id}/")
    expect(page.locator("#connection-text")).to_have_text("Live")
    card = pending_card(page, "Merge the hotfix?")
    expect(card.locator(".card__context-body strong")).to_have_text("green")
    card.get_by_label("Your answer").fill("Yes, merge it")
    card.get_by_role("button", name="Send answer").click()
    # On the deep link the outcome stays: there is no list to move on to.
    expect(card.locator(".card__outcome")).to_have_text("Answered: Yes, merge it — the task has it")
    page.wait_for_timeout(400)
    expect(card.locator(".card__outcome")).to_be_visible()

    page.reload()
    expect(page.locator(".settled")).to_contain_text("Answered")
    expect(page.locator('[data-field="response"]')).to_have_text("Yes, merge it")
    expect(page.locator(".settled")).to_contain_text("ada")
    assert_no_overflow(page)


@pytest.mark.parametrize("width", [390, 1280])
def test_no_horizontal_overflow_and_the_narrow_layout(page_owner, daphne_servers, browser, width):
    """At 390 px (a touch phone) and 1280 px nothing scrolls sideways; at 390 px the header
    is one row, choices are full width and there is no Ctrl+Enter hint."""
    task, _ = owner_task(page_owner, name="a-task-with-a-rather-long-name-" + "x" * 40)
    off_thread(
        factories.make_question,
        task,
        question="Pick one " + "averyveryverylongwordwithoutanyspaces" * 4,
        choices=["staging", "production-" + "y" * 80],
        context="`" + "z" * 300 + "`\n\n| a | b |\n|---|---|\n| " + "w" * 200 + " | 1 |",
    )
    settled = off_thread(factories.make_question, task, question="Done " + "q" * 200)
    off_thread(
        services.question_answer, question_id=str(settled.id), owner=page_owner, response="r" * 500
    )
    server = daphne_servers("browser")
    touch = width == 390
    page = new_page(browser, width=width, height=844, touch=touch)
    page.goto(f"{server.base_url}/accounts/login/")
    assert_no_overflow(page)
    page.screenshot(path=str(ARTIFACTS / f"inbox-login-{width}.png"))
    log_in(page, server.base_url)
    card = page.locator("#questions > li.card").first
    card.locator("summary").click()
    expect(card.locator(".card__context-body code")).to_be_visible()
    assert_no_overflow(page)
    page.screenshot(path=str(ARTIFACTS / f"inbox-pending-{width}.png"), full_page=True)

    header = page.locator("header.topbar").bounding_box()
    brand = page.locator(".topbar__brand").bounding_box()
    assert header and brand and header["height"] < brand["height"] * 2 + 24  # one row
    hint = card.locator(".card__free-hint")
    choice = card.get_by_role("button", name="staging").bounding_box()
    group = card.locator(".card__choices").bounding_box()
    assert choice and group
    if touch:
        expect(hint).to_be_hidden()
        assert abs(choice["width"] - group["width"]) < 2  # full width
    else:
        expect(hint).to_be_visible()
        assert choice["width"] < group["width"] / 2

    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history > li")).to_have_count(1)
    assert_no_overflow(page)
    page.goto(f"{server.base_url}/questions/{settled.id}/")
    expect(page.locator(".settled")).to_be_visible()
    assert_no_overflow(page)


def test_context_markdown_never_runs_script_and_bidi_stays_isolated(
    page_owner, daphne_servers, browser
):
    task, _ = owner_task(page_owner)
    off_thread(
        factories.make_question,
        task,
        question="\u202eApprove exe.txt?",
        choices=["\u202eyes"],
        context=(
            "**Build** notes\n\n<script>window.pwned = 1</script>\n\n"
            '<img src=x onerror="window.pwned = 2">\n\n'
            "[click me](javascript:window.pwned=3) and \u202edesrever"
        ),
    )
    server = daphne_servers("browser")
    page = new_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, server.base_url)
    card = page.locator("#questions > li.card").first
    card.locator("summary").click()
    body = card.locator(".card__context-body")
    expect(body.locator("strong")).to_have_text("Build")
    expect(body).to_contain_text("<script>window.pwned = 1</script>")
    expect(body).to_contain_text('<img src=x onerror="window.pwned = 2">')
    assert body.locator("script, img, [onerror]").count() == 0
    assert body.locator("a").count() == 0  # the javascript: link is not a link
    page.get_by_text("[click me](javascript:window.pwned=3)").click()
    assert page.evaluate("window.pwned") is None
    assert errors == []

    for locator in (card.locator(".card__question"), body, card.locator(".button--choice")):
        assert locator.get_attribute("dir") == "auto"
        assert locator.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    # The override ends with its element: the card's meta line still reads left to right.
    task_label = card.locator(".card__label").first.bounding_box()
    task_name = card.locator('[data-field="taskName"]').bounding_box()
    assert task_label and task_name and task_label["x"] < task_name["x"]
    assert page.evaluate("document.documentElement.dir") in ("", "ltr")
