"""A staff owner in a real browser: log in to the admin, filter orders, run a bulk status
change. Debian's Chromium driven by Playwright against pytest-django's live server."""

import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect, sync_playwright

from orders.models import Order
from tests import factories

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_owner_filters_and_bulk_marks_in_progress(live_server, monkeypatch):
    """Filtering by status=open then "Mark selected orders in progress" changes exactly the
    open orders of this owner, and the page says so."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make browser)")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls below are sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    owner = factories.make_owner("sam", is_staff=True, password="browser-pass-1")
    owner.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "change_order"])
    )
    directive = factories.make_directive(owner, title="Release 2.0")
    open_ones = [
        factories.make_order(owner, directive, title=f"Open order {n}", labels=["release"])
        for n in (1, 2)
    ]
    done = factories.make_order(owner, directive, title="Finished order", status="done")
    other = factories.make_owner("mallory")
    foreign = factories.make_order(other, factories.make_directive(other), title="Not yours")

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{live_server.url}/admin/login/?next=/admin/orders/order/")
            page.fill("#id_username", "sam")
            page.fill("#id_password", "browser-pass-1")
            page.click("input[type=submit]")
            expect(page.locator("#result_list")).to_be_visible()
            expect(page.locator("#result_list")).not_to_contain_text("Not yours")

            filters = page.locator("#changelist-filter")
            filters.get_by_role("link", name="Open", exact=True).first.click()
            page.wait_for_url("**status__exact=open**")
            rows = page.locator("#result_list tbody tr")
            expect(rows).to_have_count(2)
            expect(page.locator("#result_list")).not_to_contain_text("Finished order")

            page.check("#action-toggle")
            page.select_option("select[name=action]", "mark_in_progress")
            page.click("button[name=index]")
            expect(page.locator(".messagelist .success")).to_contain_text(
                "2 order(s) marked in progress."
            )
            page.goto(f"{live_server.url}/admin/orders/order/")
            page.screenshot(path=str(ARTIFACTS / "orders-admin-bulk-status.png"), full_page=True)
        finally:
            browser.close()

    statuses = dict(Order.objects.values_list("title", "status"))
    assert [statuses[order.title] for order in open_ones] == ["in_progress", "in_progress"]
    assert statuses[done.title] == "done"
    assert statuses[foreign.title] == "open"
