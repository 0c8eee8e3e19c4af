"""Fixtures for the Google connection tests: the portal pointed at googlesim, an OAuth client
registered there, saved admin credentials, and a helper that drives the real consent flow."""
import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

CLIENT_ID = "portal-test.apps.googleusercontent.com"
CLIENT_SECRET = "portal-test-secret-4242"
# The Flask test client talks to http://localhost; the callback is served there.
REDIRECT_URI = "http://localhost/google/oauth/callback"
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def sim_client(sim, google_base):
    """The portal's OAuth client, registered in a freshly reset googlesim."""
    sim.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": REDIRECT_URI}


@pytest.fixture
def configured(app, sim_client):
    """Admin credentials saved (and checked against googlesim) through the service."""
    from portal.extensions import db
    from portal.google import services

    with app.test_request_context():
        services.save_credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                  redirect_url=REDIRECT_URI)
    db.session.commit()
    return sim_client


def _browser():
    session = requests.Session()
    session.trust_env = False
    return session


def _query(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def consent():
    """``consent(client, email, decision="allow")``: press Authorize and Connect in the portal,
    load googlesim's consent page from the redirect, submit it like a person, and return
    ``(callback_path_with_query, query_dict)`` without calling the portal back yet.

    ``change`` edits the consent form's hidden OAuth parameters before submitting it: the way
    to make googlesim (which grants whatever was asked) grant less, like a person unticking a
    scope on Google's granular consent screen, or answer without a refresh token."""

    def run(client, email, decision="allow", connect_page="/profile/external-accounts",
            change=None):
        response = client.post_form("/google/connect", page=connect_page)
        assert response.status_code == 302
        location = response.headers["Location"]
        browser = _browser()
        page = browser.get(location)
        assert page.status_code == 200, page.text
        assert 'name="email"' in page.text
        form = {k: html.unescape(v) for k, v in HIDDEN_RE.findall(page.text)}
        form.update(email=email, decision=decision)
        target = page.url
        if change:
            # googlesim reads the URL's parameters before the form's: change both.
            params = _query(page.url)
            for values in (form, params):
                for key, value in change.items():
                    if value is None:
                        values.pop(key, None)
                    else:
                        values[key] = value
            target = urlunsplit(urlsplit(page.url)._replace(query=urlencode(params)))
        answer = browser.post(target, data=form, allow_redirects=False)
        assert answer.status_code == 302, answer.text
        back = answer.headers["Location"]
        parts = urlsplit(back)
        return f"{parts.path}?{parts.query}", _query(back)

    return run


@pytest.fixture
def connect(consent):
    """``connect(client, email)``: the whole flow, ending on the portal's callback."""

    def run(client, email, decision="allow", change=None):
        path, _ = consent(client, email, decision, change=change)
        return client.get(path, follow_redirects=True)

    return run


@pytest.fixture
def page_text():
    def text(response):
        return html.unescape(response.get_data(as_text=True))

    return text
