"""/api/docs/ (Swagger UI) and /api/redoc/ (ReDoc) in a real browser (Debian's Chromium
through Playwright) on a real daphne: they render the API, and every request the page
makes goes to the site itself (drf-spectacular-sidecar; no CDN, no web fonts).

ReDoc's bundle hard-codes an <img> of its vendor's logo on a CDN; the page's
Content-Security-Policy stops it inside the browser, so it never reaches the network: the
test tells requests sent from requests merely begun."""

import shutil
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.live_daphne import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
LOCAL_SCHEMES = {"data", "blob", "about"}
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def docs_browser(daphne_servers):
    """(a page factory, the server). Each page returns two lists: `sent`, every request that
    left the page for the network (seen by a route on all URLs, which aborts those off the
    site so the test needs no network), and `attempted`, every request the page began
    (Playwright's request event, which also sees those its policy refused to send)."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make browser)")
    server = daphne_servers("docs")
    site = urlsplit(server.base_url).netloc
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:

            def open_page():
                sent: list[str] = []
                attempted: list[str] = []
                page = browser.new_page(viewport={"width": 1280, "height": 900})

                def route(route):
                    url = route.request.url
                    sent.append(url)
                    if _on_site(url, site):
                        route.continue_()
                    else:
                        route.abort()

                page.route("**/*", route)
                page.on("request", lambda request: attempted.append(request.url))
                return page, sent, attempted

            yield open_page, server
        finally:
            browser.close()


def _on_site(url: str, site: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.netloc == site


def _off_site(urls: list[str], base_url: str) -> list[str]:
    site = urlsplit(base_url).netloc
    return [url for url in urls if not _on_site(url, site)]


def test_swagger_ui_renders_from_the_site_alone(docs_browser):
    open_page, server = docs_browser
    page, sent, attempted = open_page()
    page.goto(f"{server.base_url}/api/docs/")
    operation = page.locator(".opblock-summary-path", has_text="/api/v1/questions/").first
    expect(operation).to_be_visible(timeout=15000)
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs-swagger.png"))
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in sent)
    assert any(url.endswith("/api/schema/") for url in sent)
    assert _off_site(sent, server.base_url) == []
    assert _off_site(attempted, server.base_url) == []


def test_redoc_renders_from_the_site_alone(docs_browser):
    open_page, server = docs_browser
    page, sent, attempted = open_page()
    page.goto(f"{server.base_url}/api/redoc/")
    heading = page.locator("h2", has_text="List your questions of every status").first
    expect(heading).to_be_visible(timeout=15000)
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs-redoc.png"))
    assert any("/static/drf_spectacular_sidecar/redoc/" in url for url in sent)
    assert _off_site(sent, server.base_url) == []
    # Only ReDoc's hard-coded logo was begun, and the page's policy kept it from the network.
    assert set(_off_site(attempted, server.base_url)) <= {REDOC_LOGO}
