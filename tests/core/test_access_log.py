"""Access logs never record OAuth callback codes and states in full: gunicorn's (a real
gunicorn process with the project's gunicorn.conf.py) and the development server's."""
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from portal import ROOT
from portal.core.accesslog import redact

CODE, STATE = "4/0AfJohXSECRETCODE", "SECRETSTATE42"
CALLBACK = f"/google/oauth/callback?code={CODE}&state={STATE}&scope=openid"


@pytest.mark.parametrize("line,expected", [
    (f"GET {CALLBACK} HTTP/1.1",
     "GET /google/oauth/callback?code=[redacted]&state=[redacted]&scope=openid HTTP/1.1"),
    (f"code={CODE}&state={STATE}", "code=[redacted]&state=[redacted]"),
    ("GET /login?next=%2Fgoogle%2Foauth%2Fcallback%3Fcode%3DX%26state%3DY HTTP/1.1",
     "GET /login?next=%2Fgoogle%2Foauth%2Fcallback%3Fcode%3D[redacted]%26state%3D[redacted]"
     " HTTP/1.1"),
    ("GET /activities?postcode=1&date_from=2031-01-01 HTTP/1.1",
     "GET /activities?postcode=1&date_from=2031-01-01 HTTP/1.1"),
])
def test_redact(line, expected):
    assert redact(line) == expected


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorns_access_log_redacts_the_callback(app, tmp_path):
    port, log = _free_port(), tmp_path / "access.log"
    env = dict(os.environ, PORTAL_ENV="development", SECRET_KEY=app.config["SECRET_KEY"],
               ENCRYPTION_KEY=app.config["ENCRYPTION_KEY"],
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=app.config["REDIS_URL"])
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    web = subprocess.Popen([gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1",
                            "--access-logfile", str(log), "wsgi:app"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session = requests.Session()
    session.trust_env = False
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                session.get(f"http://127.0.0.1:{port}{CALLBACK}", allow_redirects=True,
                            timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        while "/login" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "nothing logged"
            time.sleep(0.1)
    finally:
        web.terminate()
        web.wait(timeout=30)
    text = log.read_text()
    assert "/google/oauth/callback?code=[redacted]&state=[redacted]" in text
    assert CODE not in text and STATE not in text


def test_the_development_servers_request_log_redacts_the_callback(app, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    session = requests.Session()
    session.trust_env = False
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            session.get(f"http://127.0.0.1:{server.server_port}{CALLBACK}", timeout=10)
    finally:
        server.shutdown()
        thread.join(10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/google/oauth/callback?code=[redacted]" in line for line in lines), lines
    assert not any(CODE in line or STATE in line for line in lines)
