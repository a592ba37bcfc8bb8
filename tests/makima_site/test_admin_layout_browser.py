"""The admin at 1280 px in a real browser (Debian's Chromium through Playwright): its name,
and no horizontal overflow on the orders list and a directive's page with its inlines."""

import shutil

import pytest
from playwright.sync_api import sync_playwright

from orders.models import Order
from tests import factories
from tests.live_daphne import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "layout-pass-1"
WIDTH = 1280
# The page, and every box the admin lets scroll sideways (the list's .results among them).
OVERFLOW = """() => [document.documentElement, ...document.querySelectorAll(
    '.results, fieldset, .module, .inline-group, .tabular')]
  .filter(el => el.scrollWidth > el.clientWidth + 1)
  .map(el => `${el.tagName}#${el.id}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`)"""


@pytest.fixture
def admin_page(live_server, monkeypatch):
    """A superuser's page signed in to the admin at 1280 × 900, with a directive full of
    long-titled, many-labelled orders and tasks."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make browser)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    admin_user = factories.make_owner("root", password=PASSWORD)
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    directive = factories.make_directive(
        admin_user, title="Release 2.0 of the payments platform with the new ledger"
    )
    for index in range(8):
        factories.make_order(
            admin_user,
            directive,
            title=f"Investigate the intermittent checkout failure number {index} in staging",
            labels=["backend", "payments", "release-blocker", f"sprint-{index}"],
            priority=list(Order.Priority)[index % 4],
            repository_url="https://example.com/some/very/long/repository/path/name.git",
        )
        factories.make_task(admin_user, directive, name=f"reconcile-payments-ledger-task-{index}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "root")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#site-name")
            yield page, live_server.url, directive
        finally:
            browser.close()


def _no_overflow(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}-1280.png"), full_page=True)
    assert page.evaluate(OVERFLOW) == [], name


def test_the_admin_is_named_makima_mesh_administration(admin_page):
    page, _, _ = admin_page
    assert page.title().endswith("Makima mesh administration")
    assert page.inner_text("#site-name") == "Makima mesh administration"
    assert "API tokens" in page.inner_text("#content-main")


def test_the_orders_list_fits_1280_px(admin_page):
    page, url, _ = admin_page
    page.goto(f"{url}/admin/orders/order/")
    page.wait_for_selector("#result_list")
    _no_overflow(page, "orders-list")


def test_the_directive_page_fits_1280_px(admin_page):
    page, url, directive = admin_page
    page.goto(f"{url}/admin/directives/directive/{directive.pk}/change/")
    page.wait_for_selector("#directive_form")
    _no_overflow(page, "directive-change")
