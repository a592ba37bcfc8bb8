"""Security headers for HTTP responses Django's middleware never sees.

The waiting endpoints (ask, poll) are plain ASGI applications routed ahead of Django
(makima_site/asgi.py), so SecurityMiddleware and XFrameOptionsMiddleware do not run for
them. This ASGI middleware adds the same headers, from the same settings, to every HTTP
response that lacks them; Django's own responses already carry them, so for those it
changes nothing.
"""

from django.conf import settings


def _is_secure(scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    meta_name, expected = proxy_header
    wanted = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return value.decode("latin-1").split(",")[0].strip() == expected
    return False


def security_headers(scope) -> list[tuple[bytes, bytes]]:
    """The headers SecurityMiddleware and XFrameOptionsMiddleware would add for `scope`."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and _is_secure(scope):
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append((b"strict-transport-security", value.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        if not isinstance(policy, str):
            policy = ",".join(policy)
        headers.append((b"referrer-policy", policy.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(
            (b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode())
        )
    headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.encode()))
    return headers


class SecurityHeadersMiddleware:
    """Wrap an ASGI HTTP application; add the security headers a response is missing."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = security_headers(scope)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                missing = [(name, value) for name, value in extra if name not in present]
                if missing:
                    message = {**message, "headers": [*message.get("headers", ()), *missing]}
            await send(message)

        return await self.app(scope, receive, send_with_headers)
