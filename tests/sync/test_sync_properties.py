"""Stateful property test: random CRM edits, Google edits (through googlesim's control API),
deletes, time-zone and all-day changes, injected faults and interrupted runs; then sync to
quiescence and check that nothing is duplicated and both sides agree on the mapped fields.

The default run is short and derandomized so CI is stable. For a longer soak run set
``SYNC_PROPERTY_EXAMPLES`` (e.g. 300) and ``SYNC_PROPERTY_STEPS`` (e.g. 40).
"""
import os
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, \
    run_state_machine_as_test

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google.client import TransientError
from portal.sync.calendar import engine as e
from portal.sync.calendar import directory, runner
from portal.sync.calendar.models import LINK_ACTIVE, LINK_DETACHED, EventLink
from googlesim.testing import SimError

EXAMPLES = int(os.environ.get("SYNC_PROPERTY_EXAMPLES", "15"))
STEPS = int(os.environ.get("SYNC_PROPERTY_STEPS", "10"))
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
TEXT = st.text(alphabet=st.sampled_from(list("abcxyzÄé日本🚀 ")), min_size=1, max_size=12) \
    .map(str.strip).filter(bool)
BASE = datetime(2031, 3, 28, 8, 0, tzinfo=timezone.utc)  # spans Europe's DST change


class SyncMachine(RuleBasedStateMachine):
    """One user, one mapping, one calendar; the CRM and googlesim edited at random."""

    # set by the test function: fixtures do not reach into hypothesis examples
    env = None

    def __init__(self):
        super().__init__()
        env = self.env
        env["reset"]()
        self.user, self.mapping = env["connect_user"]()
        self.sim = env["sim"]
        self.email = self.user.email

    # -- helpers -------------------------------------------------------------------------
    def activities(self):
        return db.session.scalars(db.select(Activity).order_by(Activity.id)).all()

    def live_events(self):
        return [ev for ev in self.sim.events(self.email, self.email)
                if ev.get("status") != "cancelled"]

    def live_series(self):
        return [ev for ev in self.live_events() if ev.get("recurrence")]

    def run_once(self, crash_after=None):
        db.session.expire_all()
        original = runner.Runner.commit
        if crash_after is not None:
            calls = {"n": 0}

            def crashing(self_, progress=None):
                calls["n"] += 1
                if calls["n"] > crash_after:
                    raise KeyboardInterrupt("killed")
                return original(self_, progress)

            runner.Runner.commit = crashing
        try:
            runner.run_mapping(self.mapping.id, "both", backoff=FAST)
        except (TransientError, KeyboardInterrupt):
            db.session.rollback()
        finally:
            runner.Runner.commit = original
        db.session.expire_all()

    # -- CRM side ------------------------------------------------------------------------
    @rule(subject=TEXT, hours=st.integers(0, 72), zone=st.sampled_from(ZONES),
          all_day=st.booleans(), recurring=st.booleans())
    def crm_create(self, subject, hours, zone, all_day, recurring):
        values = dict(subject=subject, activity_type_id=self.mapping.activity_type_id,
                      organizer=self.user, time_zone=zone, all_day=all_day,
                      recurrence="RRULE:FREQ=DAILY;COUNT=3" if recurring else "")
        if all_day:
            first = (BASE + timedelta(hours=hours)).date()
            values.update(start_date=first, end_date=first + timedelta(days=hours % 3))
        else:
            values.update(start_at=BASE + timedelta(hours=hours),
                          end_at=BASE + timedelta(hours=hours, minutes=45))
        crm.save_activity(Activity(), actor=self.user, **values)
        db.session.commit()

    @precondition(lambda self: self.activities())
    @rule(data=st.data(), subject=TEXT, shift=st.integers(-30, 30), zone=st.sampled_from(ZONES),
          flip_all_day=st.booleans())
    def crm_edit(self, data, subject, shift, zone, flip_all_day):
        activity = data.draw(st.sampled_from(self.activities()))
        values = {"subject": subject, "time_zone": zone}
        if flip_all_day:
            if activity.all_day:
                values.update(all_day=False, start_at=BASE + timedelta(hours=shift + 40),
                              end_at=BASE + timedelta(hours=shift + 41))
            else:
                day = activity.start_at.date()
                values.update(all_day=True, start_date=day, end_date=day)
        elif not activity.all_day:
            values.update(start_at=activity.start_at + timedelta(hours=shift),
                          end_at=activity.end_at + timedelta(hours=shift))
        # The user's own meetings are editable whichever side made them.
        crm.save_activity(activity, actor=self.user, **values)
        db.session.commit()

    @precondition(lambda self: self.activities())
    @rule(data=st.data())
    def crm_delete(self, data):
        activity = data.draw(st.sampled_from(self.activities()))
        crm.delete_activity(activity, actor=self.user)
        db.session.commit()

    # -- Google side ---------------------------------------------------------------------
    @rule(subject=TEXT, hours=st.integers(0, 72), all_day=st.booleans())
    def google_create(self, subject, hours, all_day):
        start = BASE + timedelta(hours=hours)
        if all_day:
            when = {"start": {"date": start.date().isoformat()},
                    "end": {"date": (start.date() + timedelta(days=1)).isoformat()}}
        else:
            when = {"start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
                    "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                            "timeZone": "Europe/Berlin"}}
        self.sim.insert_event(self.email, self.email, {"summary": subject, **when})

    @precondition(lambda self: self.live_events())
    @rule(data=st.data(), subject=TEXT, shift=st.integers(-5, 5))
    def google_edit(self, data, subject, shift):
        event = data.draw(st.sampled_from(self.live_events()))
        patch = {"summary": subject}
        if "dateTime" in event["start"]:
            start = e.parse_rfc3339(event["start"]["dateTime"]) + timedelta(hours=shift)
            end = e.parse_rfc3339(event["end"]["dateTime"]) + timedelta(hours=shift)
            patch.update(start={"dateTime": start.isoformat(), "timeZone": "America/New_York"},
                         end={"dateTime": end.isoformat(), "timeZone": "America/New_York"})
        self.sim.patch_event(self.email, self.email, event["id"], patch)

    @precondition(lambda self: self.live_series())
    @rule(data=st.data(), cancel=st.booleans(), subject=TEXT)
    def google_change_instance(self, data, cancel, subject):
        """Move (and rename) or cancel the first occurrence of a series in Google."""
        series = data.draw(st.sampled_from(self.live_series()))
        if "date" in series["start"]:
            instance_id = series["id"] + "_" + series["start"]["date"].replace("-", "")
        else:
            first = e.parse_rfc3339(series["start"]["dateTime"])
            instance_id = series["id"] + "_" + first.strftime("%Y%m%dT%H%M%SZ")
        try:
            current = self.sim.get_event(self.email, self.email, instance_id)
        except SimError:
            return  # that occurrence is gone already (e.g. the series moved)
        if current.get("status") == "cancelled":
            return
        if cancel:
            self.sim.delete_event(self.email, self.email, instance_id)
        else:
            # the occurrence moves to start when the series' first one ends
            if "date" in series["end"]:
                first = date.fromisoformat(series["end"]["date"])
                when = {"start": {"date": first.isoformat()},
                        "end": {"date": (first + timedelta(days=1)).isoformat()}}
            else:
                first = e.parse_rfc3339(series["end"]["dateTime"])
                when = {"start": {"dateTime": first.isoformat(), "timeZone": "UTC"},
                        "end": {"dateTime": (first + timedelta(hours=1)).isoformat(),
                                "timeZone": "UTC"}}
            self.sim.patch_event(self.email, self.email, instance_id,
                                 {"summary": subject, **when})

    @precondition(lambda self: self.live_events())
    @rule(data=st.data())
    def google_delete(self, data):
        event = data.draw(st.sampled_from(self.live_events()))
        self.sim.delete_event(self.email, self.email, event["id"])

    # -- runs, faults, crashes -------------------------------------------------------------
    @rule(kind=st.sampled_from(["429", "500", "drop", "list500"]))
    def inject_fault(self, kind):
        if kind == "list500":
            self.sim.fault(method="GET", path=f"/calendar/v3/calendars/{self.email}/events",
                           status=500, reason="backendError", count=1)
        elif kind == "drop":
            self.sim.fault(method="POST", path="/batch/calendar/v3", drop=True, count=1)
        else:
            self.sim.fault(method="POST", path="/batch/calendar/v3", status=int(kind),
                           reason="rateLimitExceeded" if kind == "429" else "backendError",
                           count=1)

    @rule()
    def sync(self):
        self.run_once()

    @rule(crash_after=st.integers(0, 2))
    def interrupted_sync(self, crash_after):
        self.run_once(crash_after=crash_after)

    @rule()
    def expire_sync_token(self):
        self.sim.expire(sync_tokens=True)

    # -- the property ------------------------------------------------------------------------
    def teardown(self):
        self.sim.clear_faults()
        for _ in range(3):
            self.run_once()
        self.check_converged()

    def check_converged(self):
        events = {ev["id"]: ev for ev in self.live_events()}
        links = db.session.scalars(db.select(EventLink)).all()
        activities = {a.id: a for a in self.activities()}
        active = [l for l in links if l.state == LINK_ACTIVE]
        # no event and no activity is linked twice; no link points at nothing
        assert len({l.event_id for l in links}) == len(links)
        assert len({l.activity_id for l in links}) == len(links)
        assert all(l.activity_id in activities for l in links)
        # every live event is linked (nothing imported twice, nothing orphaned)
        assert set(events) == {l.event_id for l in active}
        # every activity is linked: exported, imported, or detached (deleted in Google, kept)
        assert set(activities) == {l.activity_id for l in links}
        mapping = runner.mapping_snapshot(self.mapping, self.user, None, {self.email})
        for link in links:
            if link.state == LINK_DETACHED:
                assert link.event_id not in events
                continue
            activity = directory.snapshot(activities[link.activity_id])
            # EXDATEs that mirror Google's own exceptions are the CRM's view of them
            exdates = runner.link_snapshot(link).google_exdates
            crm_side = e.crm_state(activity, None, exdates)
            event = e.EventSnapshot.from_resource(events[link.event_id])
            google_side = e.google_state(event, mapping, organizer_key=activity.organizer_key)
            assert crm_side == google_side, (activity.subject, crm_side, google_side)
        # the portal's own events carry their back-reference
        for link in active:
            if link.owner == e.OWNER_CRM:
                private = events[link.event_id]["extendedProperties"]["private"]
                assert private[e.PROP_ACTIVITY_UID] == str(activities[link.activity_id].uid)


class _NoWait:
    def __call__(self, seconds):
        pass


from portal.google.calendar_events import Backoff  # noqa: E402

FAST = Backoff(attempts=3, sleep=_NoWait())


def test_random_edits_on_both_sides_converge(app, sim, google_base):
    from datetime import datetime as dt

    from portal.accounts import services as accounts
    from portal.crm.models import ActivityType
    from portal.crm.services import ensure_default_activity_types
    from portal.google import services as google_services
    from portal.google.models import CalendarMapping
    from portal.jobs.connection import get_redis

    client_id, secret = "prop.apps.googleusercontent.com", "prop-secret"
    redirect = "http://localhost/google/oauth/callback"
    scopes = ["https://www.googleapis.com/auth/calendar", "openid", "email"]

    def reset():
        db.session.rollback()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        get_redis(app).flushdb()
        sim.reset()
        sim.register_client(client_id, secret, [redirect])
        with app.test_request_context():
            google_services.save_credentials(client_id=client_id, client_secret=secret,
                                             redirect_url=redirect)
        ensure_default_activity_types()
        db.session.commit()

    def connect_user():
        user = accounts.create_user(email="prop@example.com", name="Prop", password="x" * 12,
                                    role="user", time_zone="Europe/Berlin")
        sim.create_account(user.email, time_zone="Europe/Berlin")
        tokens = sim.issue_tokens(user.email, client_id, scopes)
        google_services.complete_connect(
            user, email=user.email, granted_scopes=scopes, refresh_token=tokens["refresh_token"],
            access_token=tokens["access_token"],
            expires_at=dt.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
        meeting = db.session.scalars(db.select(ActivityType).where(
            ActivityType.name == "Meeting")).one()
        mapping = CalendarMapping(user_id=user.id, activity_type_id=meeting.id,
                                  calendar_id=user.email, export_enabled=True,
                                  import_enabled=True)
        db.session.add(mapping)
        db.session.commit()
        return user, mapping

    SyncMachine.env = {"reset": reset, "connect_user": connect_user, "sim": sim}
    run_state_machine_as_test(SyncMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))
