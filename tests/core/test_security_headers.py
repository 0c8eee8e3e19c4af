"""Security headers on every response, no inline script anywhere, no-store on logged-in
pages, HSTS in production."""
import pathlib
import re

import pytest

from portal import ROOT, create_app


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no other origin
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/static/portal.css",
                                  "/google/sync"])
def test_anonymous_responses_carry_the_headers(client, path):
    response = client.get(path)
    assert_security_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/", "/activities", "/contacts", "/profile",
                                  "/google/sync", "/sync/runs", "/admin/users",
                                  "/no-such-page"])
def test_logged_in_pages_are_not_stored(admin_client, path):
    response = admin_client.get(path)
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # not outside production


def test_static_files_stay_cacheable_when_logged_in(admin_client):
    response = admin_client.get("/static/portal.css")
    assert_security_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_the_consent_redirect_of_authorize_and_connect_is_an_allowed_form_action(
        client, google_base):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert f"form-action 'self' {google_base}" in csp


def test_hsts_in_production(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-key")
    monkeypatch.setenv("ENCRYPTION_KEY", "a-real-encryption-key")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("HSTS_SECONDS", raising=False)
    response = create_app().test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert_security_headers(response)


TEMPLATES = sorted(pathlib.Path(ROOT, "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_or_handlers(template):
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text), "move the script to a file under static/"
    assert not INLINE_HANDLER.search(text), "use addEventListener in a static file"
    assert "javascript:" not in text.lower()


@pytest.mark.parametrize("where", ["query", "form"])
def test_a_nul_character_in_any_parameter_is_a_400(admin_client, where):
    """PostgreSQL cannot store a NUL in a text column: it would be a 500 halfway through."""
    if where == "query":
        response = admin_client.get("/contacts", query_string={"q": "a\x00b"})
    else:
        response = admin_client.post_form("/tags", {"name": "a\x00b"})
    assert response.status_code == 400
    assert_security_headers(response)
