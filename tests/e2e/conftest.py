"""Browser tests: the app served on a free loopback port, driven by Playwright in Debian's
Chromium (never a downloaded browser).

Locally, without chromium and without ``CI`` set, these tests skip with a message saying how
to install it; in CI a missing chromium is a failure.
"""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def _browser():
    if not os.path.exists(CHROMIUM):
        message = "chromium is not installed: apt-get install chromium (make test does it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def _live_server(_app):
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def live_server(app, _live_server):
    """The base URL of the running portal (fresh database, like every test)."""
    return _live_server


@pytest.fixture
def page(_browser, live_server):
    """A browser tab; the test fails if the Content-Security-Policy blocked anything on any
    page it opened (an inline script or handler, a resource from elsewhere)."""
    context = _browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"


@pytest.fixture
def browser_login():
    """``browser_login(page, user)`` signs in through the login form."""
    def do_login(page, user, password="correct-horse-42"):  # tests/conftest.py PASSWORD
        page.goto("/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)

    return do_login
