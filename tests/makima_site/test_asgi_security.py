"""Security headers on responses Django's middleware never sees (the Channels consumers)."""

import pytest
from channels.testing import HttpCommunicator

from makima_site.asgi_security import SecurityHeadersMiddleware


async def bare_app(scope, receive, send):
    """An ASGI app like the consumers: JSON with nosniff of its own, nothing else."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def production(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


async def get(app, headers=()):
    communicator = HttpCommunicator(app, "GET", "/x", headers=list(headers))
    response = await communicator.get_response()
    names = [name.lower() for name, _ in response["headers"]]
    return {name.lower(): value for name, value in response["headers"]}, names


async def test_a_bare_response_gets_the_security_headers(production):
    """Behind the TLS proxy, HSTS, referrer, COOP and frame headers are added."""
    headers, _ = await get(SecurityHeadersMiddleware(bare_app), [(b"x-forwarded-proto", b"https")])
    assert headers[b"strict-transport-security"] == (
        b"max-age=31536000; includeSubDomains; preload"
    )
    assert headers[b"referrer-policy"] == b"same-origin"
    assert headers[b"cross-origin-opener-policy"] == b"same-origin"
    assert headers[b"x-frame-options"] == b"DENY"


async def test_no_hsts_over_plain_http(production):
    """HSTS is only sent on a secure request, as Django's SecurityMiddleware does."""
    headers, _ = await get(SecurityHeadersMiddleware(bare_app))
    assert b"strict-transport-security" not in headers
    assert headers[b"x-content-type-options"] == b"nosniff"


async def test_headers_already_present_are_not_repeated(production):
    """The app's own nosniff stays single; so do Django's headers on Django's responses."""
    _, names = await get(SecurityHeadersMiddleware(bare_app), [(b"x-forwarded-proto", b"https")])
    assert names.count(b"x-content-type-options") == 1


@pytest.mark.django_db
async def test_django_responses_through_the_site_carry_each_header_once(production):
    """The whole ASGI application: a Django 401 has each security header exactly once."""
    from makima_site.asgi import application

    _, names = await get(application, [(b"host", b"testserver"), (b"x-forwarded-proto", b"https")])
    for name in (b"x-content-type-options", b"referrer-policy", b"x-frame-options"):
        assert names.count(name) == 1, name


@pytest.mark.django_db
async def test_consumer_responses_carry_the_security_headers(production):
    """The ask consumer's own 401 gets HSTS and the rest, once each."""
    from makima_site.asgi import application
    from mesh.wakeups.hub import close_hub

    communicator = HttpCommunicator(
        application,
        "POST",
        "/api/v1/mesh/supervisor/questions",
        body=b"{}",
        headers=[(b"host", b"testserver"), (b"x-forwarded-proto", b"https")],
    )
    try:
        response = await communicator.get_response()
    finally:
        await close_hub()
    assert response["status"] == 401
    names = [name.lower() for name, _ in response["headers"]]
    for name in (
        b"strict-transport-security",
        b"x-content-type-options",
        b"referrer-policy",
        b"cross-origin-opener-policy",
        b"x-frame-options",
    ):
        assert names.count(name) == 1, name
