"""Stateful property test for several users on shared meetings, with mapping changes.

Ann and Bob both sync their Meeting type. At random: either of them creates meetings in the
CRM or in Google (inviting the other or not), edits their own, answers the other's
invitation on either side, deletes, switches Export/Import off and on, disconnects with
"forget the links" and reconnects the same account, and syncs in any order. googlesim copies
invitations into the guest's calendar and refuses a guest's edits, as Google does. After
every switch is back on and everyone synced to quiescence: no meeting is duplicated, every
live event is linked, the organizer's copy agrees with the CRM, and every guest's answer is
the same on both sides.

Short and derandomized by default; ``SYNC_PROPERTY_EXAMPLES``/``SYNC_PROPERTY_STEPS`` (see
``make soak``) make it long.
"""
import os
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, \
    run_state_machine_as_test

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google import services as google_services
from portal.google.client import TransientError
from portal.google.models import CalendarMapping
from portal.sync.calendar import engine as e
from portal.sync.calendar import directory, runner
from portal.sync.calendar.models import LINK_ACTIVE, EventLink
from googlesim.testing import SimError

EXAMPLES = max(3, int(os.environ.get("SYNC_PROPERTY_EXAMPLES", "15")) // 3)
STEPS = int(os.environ.get("SYNC_PROPERTY_STEPS", "10")) + 2
TEXT = st.text(alphabet=st.sampled_from(list("abcxyzé日 ")), min_size=1, max_size=8) \
    .map(str.strip).filter(bool)
BASE = datetime(2031, 3, 28, 8, 0, tzinfo=timezone.utc)
PEOPLE = ("ann", "bob")
ANSWERS = ("accepted", "tentative", "declined")


class SharedMachine(RuleBasedStateMachine):
    env = None

    def __init__(self):
        super().__init__()
        self.env["reset"]()
        self.users, self.mappings = {}, {}
        for name in PEOPLE:
            user, mapping = self.env["connect_user"](f"{name}@example.com")
            self.users[name], self.mappings[name] = user, mapping
        self.sim = self.env["sim"]

    # -- helpers -------------------------------------------------------------------------
    def activities(self):
        return db.session.scalars(db.select(Activity).order_by(Activity.id)).all()

    def email(self, name):
        return self.users[name].email

    def live(self, name):
        email = self.email(name)
        return [ev for ev in self.sim.events(email, email) if ev.get("status") != "cancelled"
                and not ev.get("recurringEventId")]

    def own_events(self, name):
        return [ev for ev in self.live(name)
                if (ev.get("organizer") or {}).get("email") == self.email(name)]

    def guest_events(self, name):
        return [ev for ev in self.live(name)
                if (ev.get("organizer") or {}).get("email") != self.email(name)]

    def mapping(self, name):
        return db.session.get(CalendarMapping, self.mappings[name].id)

    def run_once(self, name):
        db.session.expire_all()
        try:
            runner.run_mapping(self.mappings[name].id, "both", backoff=FAST)
        except TransientError:
            db.session.rollback()
        db.session.expire_all()

    # -- CRM side ------------------------------------------------------------------------
    @rule(who=st.sampled_from(PEOPLE), subject=TEXT, hours=st.integers(0, 48),
          invite=st.booleans())
    def crm_create(self, who, subject, hours, invite):
        other = self.users["bob" if who == "ann" else "ann"]
        user = self.users[who]
        start = BASE + timedelta(hours=hours)
        crm.save_activity(Activity(), actor=user, subject=subject,
                          activity_type_id=self.mapping(who).activity_type_id, organizer=user,
                          time_zone="Europe/Berlin", start_at=start,
                          end_at=start + timedelta(minutes=45),
                          participants=[other] if invite else [])
        db.session.commit()

    @precondition(lambda self: self.activities())
    @rule(data=st.data(), subject=TEXT, shift=st.integers(-3, 3))
    def crm_edit(self, data, subject, shift):
        activity = data.draw(st.sampled_from(self.activities()))
        if not crm.can_edit(activity.organizer, activity) or activity.all_day:
            return
        crm.save_activity(activity, actor=activity.organizer, subject=subject,
                          start_at=activity.start_at + timedelta(hours=shift),
                          end_at=activity.end_at + timedelta(hours=shift))
        db.session.commit()

    @precondition(lambda self: self.activities())
    @rule(data=st.data(), answer=st.sampled_from(ANSWERS))
    def crm_answer(self, data, answer):
        activity = data.draw(st.sampled_from(self.activities()))
        for user in activity.participants:
            if crm.can_answer(user, activity):
                crm.answer_invitation(activity, user, answer)
                db.session.commit()
                return

    @precondition(lambda self: self.activities())
    @rule(data=st.data())
    def crm_delete(self, data):
        activity = data.draw(st.sampled_from(self.activities()))
        if crm.can_edit(activity.organizer, activity):
            crm.delete_activity(activity, actor=activity.organizer)
            db.session.commit()

    # -- Google side ---------------------------------------------------------------------
    @rule(who=st.sampled_from(PEOPLE), subject=TEXT, hours=st.integers(0, 48),
          invite=st.booleans())
    def google_create(self, who, subject, hours, invite):
        other = "bob" if who == "ann" else "ann"
        start = BASE + timedelta(hours=hours)
        body = {"summary": subject,
                "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                        "timeZone": "Europe/Berlin"}}
        if invite:
            body["attendees"] = [{"email": self.email(other), "responseStatus": "needsAction"}]
        self.sim.insert_event(self.email(who), self.email(who), body)

    @rule(data=st.data(), who=st.sampled_from(PEOPLE), subject=TEXT)
    def google_edit_own(self, data, who, subject):
        events = self.own_events(who)
        if not events:
            return
        event = data.draw(st.sampled_from(events))
        self.sim.patch_event(self.email(who), self.email(who), event["id"],
                             {"summary": subject})

    @rule(data=st.data(), who=st.sampled_from(PEOPLE), answer=st.sampled_from(ANSWERS))
    def google_answer(self, data, who, answer):
        events = self.guest_events(who)
        if not events:
            return
        event = data.draw(st.sampled_from(events))
        attendees = [dict(a, responseStatus=answer) if a.get("self") else a
                     for a in event.get("attendees") or ()]
        try:
            self.sim.patch_event(self.email(who), self.email(who), event["id"],
                                 {"attendees": attendees})
        except SimError:
            pass  # e.g. the organizer changed it meanwhile

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def google_delete_own(self, data, who):
        events = self.own_events(who)
        if events:
            event = data.draw(st.sampled_from(events))
            self.sim.delete_event(self.email(who), self.email(who), event["id"])

    # -- mapping changes, connections, runs ----------------------------------------------
    @rule(who=st.sampled_from(PEOPLE), switch=st.sampled_from(["export", "import"]))
    def switch_off(self, who, switch):
        mapping = self.mapping(who)
        setattr(mapping, f"{switch}_enabled", False)
        db.session.commit()

    @rule(who=st.sampled_from(PEOPLE))
    def forget_and_reconnect(self, who):
        user = self.users[who]
        google_services.disconnect(user, keep_links=False)
        db.session.commit()
        self.env["reconnect"](user)

    @rule(who=st.sampled_from(PEOPLE))
    def sync(self, who):
        self.run_once(who)

    @rule(who=st.sampled_from(PEOPLE))
    def fault(self, who):
        self.sim.fault(method="POST", path="/batch/calendar/v3", status=503,
                       reason="backendError", count=1)

    # -- the property ----------------------------------------------------------------------
    def teardown(self):
        self.sim.clear_faults()
        for name in PEOPLE:
            mapping = self.mapping(name)
            mapping.export_enabled = mapping.import_enabled = True
        db.session.commit()
        for _ in range(3):
            for name in PEOPLE:
                self.run_once(name)
        self.check()

    def check(self):
        activities = {a.id: a for a in self.activities()}
        if os.environ.get("SYNC_PROPERTY_DEBUG"):
            print("activities", len(activities), "links",
                  db.session.scalar(db.select(db.func.count(EventLink.id))))
        links = db.session.scalars(db.select(EventLink)).all()
        # no event linked twice in a calendar, no activity linked twice for one user
        assert len({(l.mapping_id, l.event_id) for l in links}) == len(links)
        assert len({(l.user_id, l.activity_id) for l in links}) == len(links)
        # no meeting is two activities
        identities = [a.ical_uid for a in activities.values() if a.ical_uid]
        assert len(identities) == len(set(identities)), identities
        for name in PEOPLE:
            mapping = self.mapping(name)
            user = self.users[name]
            events = {ev["id"]: ev for ev in self.live(name)}
            mine = [l for l in links if l.mapping_id == mapping.id and l.state == LINK_ACTIVE]
            assert set(events) == {l.event_id for l in mine}, (name, set(events),
                                                                {l.event_id for l in mine})
            snap = runner.mapping_snapshot(mapping, user, None, {user.email})
            for link in mine:
                activity = directory.snapshot(activities[link.activity_id])
                event = e.EventSnapshot.from_resource(events[link.event_id])
                google = e.google_state(event, snap, organizer_key=activity.organizer_key,
                                        user_id=user.id if link.role == "guest" else None)
                crm_side = e.crm_state(activity, user.id if link.role == "guest" else None)
                answers = dict(crm.answers(activities[link.activity_id])[0])
                for group in ("subject", "timing", "description", "location"):
                    assert crm_side[group] == google[group], (name, group, crm_side, google)
                if link.role == "guest":
                    assert answers.get(user.id, "needsAction") == google[e.ANSWER], (
                        name, answers, google)


class _NoWait:
    def __call__(self, seconds):
        pass


from portal.google.calendar_events import Backoff  # noqa: E402

FAST = Backoff(attempts=3, sleep=_NoWait())


def test_several_users_on_shared_meetings_converge(app, sim, google_base):
    from portal.accounts import services as accounts
    from portal.crm.models import ActivityType
    from portal.crm.services import ensure_default_activity_types
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

    def reconnect(user):
        tokens = sim.issue_tokens(user.email, client_id, scopes)
        google_services.complete_connect(
            user, email=user.email, granted_scopes=scopes,
            refresh_token=tokens["refresh_token"], access_token=tokens["access_token"],
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
        db.session.commit()

    def connect_user(email):
        user = accounts.create_user(email=email, name=email.split("@")[0].title(),
                                    password="x" * 12, role="user", time_zone="Europe/Berlin")
        sim.create_account(user.email, time_zone="Europe/Berlin")
        reconnect(user)
        meeting = db.session.scalars(db.select(ActivityType).where(
            ActivityType.name == "Meeting")).one()
        mapping = CalendarMapping(user_id=user.id, activity_type_id=meeting.id,
                                  calendar_id=user.email, export_enabled=True,
                                  import_enabled=True)
        db.session.add(mapping)
        db.session.commit()
        return user, mapping

    SharedMachine.env = {"reset": reset, "connect_user": connect_user, "sim": sim,
                         "reconnect": reconnect}
    run_state_machine_as_test(SharedMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))
