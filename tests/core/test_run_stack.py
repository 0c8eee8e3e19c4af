"""`make run`'s bin/run-stack, for real: every process up, then Ctrl-C (SIGINT to the whole
foreground process group, as a terminal sends it) ends it with status 0 and nothing left
running: web, worker, scheduler, googlesim and the embedded Redis all gone."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

from portal import ROOT
from portal.jobs import embedded

#: guards against a hang only (the test asserts no duration)
PATIENCE = 120


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_with(marker):
    """Processes whose environment carries ``marker``: everything run-stack started."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as env:
                if marker.encode() in env.read():
                    with open(f"/proc/{pid}/cmdline", "rb") as cmd:
                        found.append((int(pid), cmd.read().replace(b"\0", b" ").decode()))
        except OSError:
            continue
    return found


def _up(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_ctrl_c_stops_everything_quietly(tmp_path):
    marker = f"RUN_STACK_TEST_{uuid.uuid4().hex}"
    port, sim_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "GOOGLE_BASE_URL", "SECRET_KEY",
                        "ENCRYPTION_KEY", "PORTAL_ENV", "SERVER_NAME")}
    env.update(PORTAL_INSTANCE_PATH=str(tmp_path), RUN_STACK_MARKER=marker,
               PORTAL_VENV_BIN=os.path.dirname(sys.executable))
    log = open(tmp_path / "run-stack.log", "w+")
    stack = subprocess.Popen([os.path.join(ROOT, "bin", "run-stack"), str(port), str(sim_port)],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + PATIENCE
        while not (_up(f"http://127.0.0.1:{port}/login")
                   and _up(f"http://127.0.0.1:{sim_port}/.well-known/openid-configuration")):
            assert stack.poll() is None, _read(log)
            assert time.monotonic() < deadline, "the stack never came up:\n" + _read(log)
            time.sleep(0.3)
        redis_pid = embedded.running_pid(str(tmp_path))
        assert redis_pid and embedded._alive(redis_pid), _read(log)

        os.killpg(stack.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert stack.wait(timeout=PATIENCE) == 0, _read(log)
        output = _read(log)
        assert "Stopped." in output and "Traceback" not in output, output
        assert _processes_with(marker) == [], output
        assert not embedded._alive(redis_pid) and not embedded.redis_servers_under(tmp_path)
    finally:
        for pid, _ in _processes_with(marker):  # only if the test failed half-way
            os.kill(pid, signal.SIGKILL)
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)


def test_the_first_lines_say_what_is_happening():
    """Each step of the start says itself (no minute of silence)."""
    script = open(os.path.join(ROOT, "bin", "run-stack")).read()
    for step in ("Starting the embedded Redis", "Migrating the database", "Seeding the demo",
                 "Registering the demo OAuth client"):
        assert f'step "{step}' in script
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    assert "--quiet" not in makefile.split("$(STAMP): requirements.txt")[1].split("\n\n")[0]


def _read(log):
    log.flush()
    log.seek(0)
    return log.read()[-6000:]
