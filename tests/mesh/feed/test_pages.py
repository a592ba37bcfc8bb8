"""The live questions page (mesh/feed/pages.py) and its link in the admin header."""

from django.conf import settings
from rest_framework import status

from tests import factories


def test_page_requires_login(client, db):
    """An anonymous visitor is sent to the owners' login, coming back to the page after."""
    response = client.get("/questions/")
    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == f"{settings.LOGIN_URL}?next=/questions/"
    assert settings.LOGIN_URL == "/accounts/login/"


def test_page_renders_for_owner(client, owner):
    """A logged-in owner gets the page wired to the feed socket and its static files."""
    client.force_login(owner)
    response = client.get("/questions/")
    assert response.status_code == status.HTTP_200_OK
    body = response.content.decode()
    assert "<title>Questions — Makima mesh</title>" in body
    assert 'data-socket-path="/ws/v1/mesh/questions/"' in body
    assert "mesh/questions.js" in body
    assert "mesh/questions.css" in body
    assert 'aria-live="polite"' in body


def test_page_is_get_only(client, owner):
    """The page has nothing to post to: answers travel over the websocket."""
    client.force_login(owner)
    assert client.post("/questions/").status_code == status.HTTP_405_METHOD_NOT_ALLOWED


def test_admin_header_links_to_page(client, db):
    """The admin's header links to the questions page."""
    staff = factories.make_owner("admin-owner", is_staff=True)
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == status.HTTP_200_OK
    assert 'href="/questions/"' in response.content.decode()


def test_static_files_are_found():
    """The page's script and stylesheet are where the template says."""
    from django.contrib.staticfiles import finders

    assert finders.find("mesh/questions.js")
    assert finders.find("mesh/questions.css")
    for name in ("connection", "cards", "history", "keys"):
        assert finders.find(f"mesh/{name}.js")


# --- logging in and out (/accounts/login/, /accounts/logout/) ------------------------------------
def test_a_non_staff_owner_logs_in_and_lands_on_the_page(client, db):
    """Owners are not staff: the owners' login admits them (the admin's would not)."""
    factories.make_owner("olga", password="s3cret-pass")
    page = client.get("/accounts/login/?next=/questions/")
    assert page.status_code == status.HTTP_200_OK
    body = page.content.decode()
    assert '<label for="id_username">Username</label>' in body
    assert '<label for="id_password">Password</label>' in body
    response = client.post(
        "/accounts/login/",
        {"username": "olga", "password": "s3cret-pass", "next": "/questions/"},
    )
    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == "/questions/"
    page = client.get("/questions/")
    assert page.status_code == status.HTTP_200_OK
    assert 'href="/admin/"' not in page.content.decode()  # no Admin link for non-staff


def test_a_wrong_password_is_refused_and_nobody_is_logged_in(client, db):
    factories.make_owner("olga", password="s3cret-pass")
    response = client.post("/accounts/login/", {"username": "olga", "password": "nope"})
    assert response.status_code == status.HTTP_200_OK
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/questions/").status_code == status.HTTP_302_FOUND


def test_failed_logins_are_throttled_per_address(client, db, rates):
    """Guessing passwords counts as failed authentication: over the limit, 429 with
    Retry-After, and even the right password is not checked until the window ends."""
    rates(auth_failure="2/min")
    factories.make_owner("olga", password="s3cret-pass")
    for _ in range(2):
        assert (
            client.post("/accounts/login/", {"username": "olga", "password": "x"}).status_code
            == 200
        )
    response = client.post("/accounts/login/", {"username": "olga", "password": "s3cret-pass"})
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) >= 1
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/questions/").status_code == status.HTTP_302_FOUND


def test_logout_ends_the_session(client, owner):
    client.force_login(owner)
    response = client.post("/accounts/logout/")
    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == "/accounts/login/"
    assert client.get("/questions/").status_code == status.HTTP_302_FOUND


def test_staff_see_the_admin_link(client, db):
    staff = factories.make_owner("admin-owner", is_staff=True)
    client.force_login(staff)
    assert 'href="/admin/"' in client.get("/questions/").content.decode()


# --- the deep link /questions/<id>/ and the context fragment -------------------------------------
def _question(owner, **fields):
    directive = factories.make_directive(owner, title="Ship it", reconcile_mode="manual")
    task, _ = factories.make_task(owner, directive, name="release-bot")
    return factories.make_question(task, **fields)


def test_deep_link_requires_login(client, owner):
    question = _question(owner)
    path = f"/questions/{question.id}/"
    response = client.get(path)
    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == f"{settings.LOGIN_URL}?next={path}"
    context = client.get(f"{path}context/")
    assert context.status_code == status.HTTP_302_FOUND


def test_deep_link_to_another_owners_question_is_404(client, owner, other_owner):
    question = _question(owner, context="secret plans")
    client.force_login(other_owner)
    assert client.get(f"/questions/{question.id}/").status_code == status.HTTP_404_NOT_FOUND
    context = client.get(f"/questions/{question.id}/context/")
    assert context.status_code == status.HTTP_404_NOT_FOUND
    assert "secret plans" not in context.content.decode()


def test_deep_link_to_an_unknown_question_is_404(client, owner):
    client.force_login(owner)
    assert (
        client.get("/questions/00000000-0000-0000-0000-000000000000/").status_code
        == status.HTTP_404_NOT_FOUND
    )
    assert client.get("/questions/not-a-uuid/").status_code == status.HTTP_404_NOT_FOUND


def test_deep_link_to_a_pending_question_carries_its_answer_form_data(client, owner):
    question = _question(owner, question="Deploy?", choices=["yes", "no"])
    client.force_login(owner)
    response = client.get(f"/questions/{question.id}/")
    assert response.status_code == status.HTTP_200_OK
    body = response.content.decode()
    assert 'data-mode="single"' in body
    assert 'id="question-data"' in body
    assert f'"questionId": "{question.id}"' in body
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_deep_link_to_a_settled_question_shows_the_outcome(client, owner):
    from mesh.questions import services

    question = _question(owner, question="Deploy?", context="**bold** <script>x()</script>")
    services.question_answer(question_id=str(question.id), owner=owner, response="ship it")
    client.force_login(owner)
    response = client.get(f"/questions/{question.id}/")
    body = response.content.decode()
    assert response.status_code == status.HTTP_200_OK
    assert 'data-mode="settled"' in body
    assert "Answered" in body
    assert '<dd dir="auto" data-field="response">ship it</dd>' in body
    assert "<bdi>alice</bdi>" in body
    assert "<strong>bold</strong>" in body
    assert "&lt;script&gt;x()&lt;/script&gt;" in body
    assert "<script>x()" not in body


def test_deep_link_to_a_declined_question_shows_the_reason(client, owner):
    from mesh.questions import services

    question = _question(owner)
    services.question_decline(question_id=str(question.id), owner=owner, reason="not now")
    client.force_login(owner)
    body = client.get(f"/questions/{question.id}/").content.decode()
    assert "Declined" in body
    assert '<dd dir="auto" data-field="reason">not now</dd>' in body


def test_context_fragment_is_sanitised_markdown(client, owner):
    question = _question(owner, context="# Plan\n\n<img src=x onerror=alert(1)>")
    client.force_login(owner)
    response = client.get(f"/questions/{question.id}/context/")
    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert "<h1>Plan</h1>" in html
    assert "<img" not in html


def test_the_page_has_both_tabs_and_a_content_security_policy(client, owner):
    client.force_login(owner)
    response = client.get("/questions/")
    body = response.content.decode()
    assert 'id="tab-pending"' in body and 'id="tab-history"' in body
    assert 'data-history-path="/api/v1/questions/"' in body
    assert 'data-outcome-ms="5000"' in body  # at least 5 s unless MESH_PAGE_OUTCOME_SECONDS
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_the_login_page_says_what_the_product_is(client, db):
    body = client.get("/accounts/login/").content.decode()
    assert "Your agent tasks ask you questions here" in body
    assert 'class="button button--primary" type="submit">Log in' in body


def test_a_context_is_rendered_once_then_served_from_the_cache(client, owner, monkeypatch):
    from mesh.feed import pages

    question = _question(owner, context="**once**")
    calls: list[str | None] = []
    real = pages.render_markdown

    def counting(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(pages, "render_markdown", counting)
    client.force_login(owner)
    first = client.get(f"/questions/{question.id}/context/").content
    second = client.get(f"/questions/{question.id}/context/").content
    assert first == second
    assert b"<strong>once</strong>" in first
    assert calls == ["**once**"]
