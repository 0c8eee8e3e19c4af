"""Stateful property test of the contacts sync: random edits on both sides (the CRM through its
services, Google through googlesim's control API), tags put on and taken off, people taken
out of the label, deletes, Google-only fields, expired sync tokens and runs killed half-way;
then sync until quiet and check that both sides agree, nothing is duplicated and nothing the
user entered is lost.

The default run is short and derandomized; ``SYNC_PROPERTY_EXAMPLES`` and
``SYNC_PROPERTY_STEPS`` make it longer (``make soak``), as for the calendar's.
"""
import os
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, \
    run_state_machine_as_test

from portal.crm import contacts as crm_contacts
from portal.crm.models import Contact, Tag
from portal.extensions import db
from portal.google.calendar_events import Backoff
from portal.google.client import TransientError
from portal.sync.contacts import engine as c
from portal.sync.contacts import runner
from portal.sync.contacts.models import LINK_ACTIVE, LINK_DETACHED, ContactLink

EXAMPLES = int(os.environ.get("SYNC_PROPERTY_EXAMPLES", "10"))
STEPS = int(os.environ.get("SYNC_PROPERTY_STEPS", "10"))
NAMES = st.sampled_from(["Lopez", "Kim", "Ñúñez", "O'Brien", "李", "Smith"])
LABELS = ["work", "home", "mobile", "other"]


class _NoWait:
    def __call__(self, seconds):
        pass


FAST = Backoff(attempts=3, sleep=_NoWait())


class ContactsMachine(RuleBasedStateMachine):
    """One user, one private tag <-> one Google label."""

    env = None  # set by the test function

    def __init__(self):
        super().__init__()
        env = self.env
        env["reset"]()
        self.user, self.settings_id, self.colleague_id = env["connect_user"]()
        self.sim = env["sim"]
        self.email = self.user.email
        self.tag_id = db.session.scalars(db.select(Tag.id).where(
            Tag.owner_id == self.user.id)).one()
        self.counter = 0
        #: notes written on each side, including the first ones: {contact id: [..]} and
        #: {resource name: [..]}
        self.crm_notes, self.google_notes = {}, {}
        #: Google-only fields put on people: {resource name: (department, nickname)}
        self.extras = {}
        #: contacts and people that were unlinked and linked again, or matched by address
        #: (the first merge then has a master side): only the weaker notes check for them
        self.disturbed = set()
        #: contacts the user made and did not delete; people made in Google and not deleted
        self.crm_made, self.google_made = set(), set()
        # a few pairs linked from the start, so edits have something to meet
        for last, with_email in (("Lopez", True), ("Kim", False), ("Smith", True)):
            self.crm_create(last=last, with_email=with_email, tagged=True, job="CTO")
        self.google_create(last="Ñúñez", email="new", data=None)
        self.run_once()

    # -- helpers -------------------------------------------------------------------------
    def token(self, side):
        self.counter += 1
        return f"{side}-{self.counter}"

    def contacts(self):
        """The contacts the user sees (their own)."""
        db.session.expire_all()
        return db.session.scalars(db.select(Contact).where(Contact.owner_id == self.user.id)
                                  .order_by(Contact.id)).all()

    def people(self):
        return self.sim.contacts(self.email)

    def group(self):
        db.session.expire_all()
        return db.session.get(runner.ContactSyncSettings, self.settings_id).group_resource_name

    def save(self, contact, **changes):
        values = dict(
            last_name=contact.last_name, first_name=contact.first_name,
            organization=contact.organization or "", job_title=contact.job_title or "",
            street=contact.street or "", city=contact.city or "",
            postal_code=contact.postal_code or "", region=contact.region or "",
            country=contact.country or "", birthday=contact.birthday,
            notes=contact.notes or "", emails=[(e.email, e.label) for e in contact.emails],
            phones=[(p.number, p.label) for p in contact.phones],
            tag_ids=[t.id for t in contact.tags])
        values.update(changes)
        saved = crm_contacts.save_contact(self.user, crm_contacts.ContactData(**values),
                                          contact=contact)
        db.session.commit()
        return saved

    def run_once(self, crash_after=None):
        db.session.expire_all()
        original = runner.ContactsRunner.commit
        if crash_after is not None:
            calls = {"n": 0}

            def crashing(self_, progress=None):
                calls["n"] += 1
                if calls["n"] > crash_after:
                    raise KeyboardInterrupt("killed")
                return original(self_, progress)

            runner.ContactsRunner.commit = crashing
        try:
            runner.run_contacts(self.settings_id, "both", backoff=FAST)
            db.session.commit()
        except (TransientError, KeyboardInterrupt):
            db.session.rollback()
        finally:
            runner.ContactsRunner.commit = original
        db.session.expire_all()

    # -- CRM side ------------------------------------------------------------------------
    @rule(last=NAMES, with_email=st.booleans(), tagged=st.booleans(),
          job=st.sampled_from(["", "CTO"]))
    def crm_create(self, last, with_email, tagged, job):
        notes = self.token("crm")
        n = self.counter
        contact = crm_contacts.save_contact(self.user, crm_contacts.ContactData(
            last_name=last, first_name="", job_title=job, notes=notes,
            emails=[(f"crm{n}@example.org", "work")] if with_email else [],
            phones=[(f"+49 {n}", "mobile")], tag_ids=[self.tag_id] if tagged else []))
        db.session.commit()
        self.crm_notes[contact.id] = [notes]
        self.crm_made.add(contact.id)

    @precondition(lambda self: self.contacts())
    @rule(data=st.data(), field=st.sampled_from(["notes", "job_title", "phones", "name"]))
    def crm_edit(self, data, field):
        contact = data.draw(st.sampled_from(self.contacts()))
        if field == "notes":
            value = self.token("crm")
            self.save(contact, notes=value)
            self.crm_notes.setdefault(contact.id, []).append(value)
        elif field == "job_title":
            self.save(contact, job_title=self.token("title"))
        elif field == "phones":
            label = data.draw(st.sampled_from(LABELS))
            self.save(contact, phones=[(p.number, p.label) for p in contact.phones]
                      + [(f"+1 {self.counter}", label)])
            self.counter += 1
        else:
            self.save(contact, first_name=self.token("first"))

    @precondition(lambda self: self.contacts())
    @rule(data=st.data())
    def crm_toggle_tag(self, data):
        contact = data.draw(st.sampled_from(self.contacts()))
        self.disturbed.add(contact.id)
        tagged = any(t.id == self.tag_id for t in contact.tags)
        self.save(contact, tag_ids=[] if tagged else [self.tag_id])

    @precondition(lambda self: self.contacts())
    @rule(data=st.data())
    def crm_delete(self, data):
        contact = data.draw(st.sampled_from(self.contacts()))
        self.crm_made.discard(contact.id)
        self.crm_notes.pop(contact.id, None)
        crm_contacts.delete_contact(self.user, contact)
        db.session.commit()

    @precondition(lambda self: self.contacts())
    @rule(data=st.data())
    def crm_hand_over(self, data):
        """The contact goes to a colleague: the user no longer sees it."""
        contact = data.draw(st.sampled_from(self.contacts()))
        contact.owner_id = self.colleague_id
        db.session.commit()
        self.crm_notes.pop(contact.id, None)

    # -- Google side ---------------------------------------------------------------------
    @precondition(lambda self: self.group())
    @rule(last=NAMES, email=st.sampled_from(["none", "new", "crm"]), data=st.data())
    def google_create(self, last, email, data):
        notes = self.token("g")
        body = {"names": [{"familyName": last}], "biographies": [{"value": notes}],
                "memberships": [{"contactGroupMembership": {
                    "contactGroupResourceName": self.group()}}]}
        if email == "new":
            body["emailAddresses"] = [{"value": f"g{self.counter}@example.org"}]
        elif email == "crm":  # someone the CRM already knows
            known = {e.email: contact.id for contact in self.contacts() for e in contact.emails}
            if known:
                chosen = data.draw(st.sampled_from(sorted(known)))
                body["emailAddresses"] = [{"value": chosen}]
                self.disturbed.add(known[chosen])
        person = self.sim.create_contact(self.email, body)
        if email == "crm":
            self.disturbed.add(person["resourceName"])
        self.google_notes[person["resourceName"]] = [notes]
        self.google_made.add(person["resourceName"])

    @precondition(lambda self: self.people())
    @rule(data=st.data(), field=st.sampled_from(["notes", "phones", "extras"]))
    def google_edit(self, data, field):
        person = data.draw(st.sampled_from(self.people()))
        name = person["resourceName"]
        if field == "notes":
            value = self.token("g")
            self.sim.patch_contact(self.email, name, {"biographies": [{"value": value}]})
            self.google_notes.setdefault(name, []).append(value)
        elif field == "phones":
            phones = [{"value": p["value"], "type": p.get("type", "other")}
                      for p in person.get("phoneNumbers", [])]
            self.sim.patch_contact(self.email, name, {"phoneNumbers": phones + [
                {"value": f"+7 {self.counter}", "type": "pager"}]})
            self.counter += 1
        else:  # what the CRM does not show: a department, a nickname
            department, nickname = self.token("dept"), self.token("nick")
            orgs = [dict({k: v for k, v in o.items() if k != "metadata"})
                    for o in person.get("organizations", [])] or [{}]
            orgs[0]["department"] = department
            self.sim.patch_contact(self.email, name, {"organizations": orgs,
                                                      "nicknames": [{"value": nickname}]})
            self.extras[name] = (department, nickname)

    @precondition(lambda self: self.people() and self.group())
    @rule(data=st.data())
    def google_remove_from_label(self, data):
        person = data.draw(st.sampled_from(self.people()))
        self.disturbed.add(person["resourceName"])
        group = self.group()
        kept = [m for m in person.get("memberships", [])
                if (m.get("contactGroupMembership") or {}).get("contactGroupResourceName")
                != group]
        self.sim.patch_contact(self.email, person["resourceName"], {"memberships": kept or [
            {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}
        ]})

    @precondition(lambda self: self.people())
    @rule(data=st.data())
    def google_delete(self, data):
        person = data.draw(st.sampled_from(self.people()))
        self.google_made.discard(person["resourceName"])
        self.google_notes.pop(person["resourceName"], None)
        self.extras.pop(person["resourceName"], None)
        self.sim.delete_contact(self.email, person["resourceName"])

    # -- runs ------------------------------------------------------------------------------
    @rule()
    def sync(self):
        self.run_once()

    @rule(crash_after=st.integers(0, 2))
    def interrupted_sync(self, crash_after):
        self.run_once(crash_after=crash_after)

    @rule(kind=st.sampled_from(["500", "429", "drop"]),
          call=st.sampled_from(["batchCreateContacts", "batchUpdateContacts",
                                "connections"]))
    def inject_fault(self, kind, call):
        path = "/v1/people/me/connections" if call == "connections" else f"/v1/people:{call}"
        method = "GET" if call == "connections" else "POST"
        if kind == "drop":
            self.sim.fault(method=method, path=path, drop=True, count=1)
        else:
            self.sim.fault(method=method, path=path, status=int(kind), count=1,
                           reason="rateLimitExceeded" if kind == "429" else "backendError")

    @rule()
    def expire_sync_token(self):
        self.sim.expire(people_sync_tokens=True)

    # -- the property ------------------------------------------------------------------------
    def teardown(self):
        self.sim.clear_faults()
        for _ in range(3):
            self.run_once()
        self.check_converged()

    def check_converged(self):
        group = self.group()
        people = {p["resourceName"]: p for p in self.people()}
        in_label = {n for n, p in people.items() if group in c.groups_of(p)}
        db.session.expire_all()
        everyone = {x.id: x for x in db.session.scalars(db.select(Contact))}
        contacts = {x.id: x for x in self.contacts()}
        tagged = {i for i, x in contacts.items() if any(t.id == self.tag_id for t in x.tags)}
        links = db.session.scalars(db.select(ContactLink)).all()
        active = [l for l in links if l.state == LINK_ACTIVE]
        detached = [l for l in links if l.state == LINK_DETACHED]
        # nothing linked twice, no link to nothing
        assert len({l.resource_name for l in links}) == len(links)
        assert len({l.contact_id for l in links}) == len(links)
        assert all(l.contact_id in everyone for l in links)
        # a contact the user no longer sees is out of the label
        assert all(l.contact_id in contacts for l in active)
        # the label is exactly the tagged contacts (those deleted in Google kept, detached;
        # a detached one may have lost the tag since)
        assert {l.resource_name for l in active} == in_label
        assert {l.contact_id for l in active} <= tagged
        assert tagged <= {l.contact_id for l in active} | {l.contact_id for l in detached}
        assert all(l.resource_name not in people for l in detached)
        # both sides agree on every synced field
        for link in active:
            contact = runner.contact_snapshot(contacts[link.contact_id], True, True)
            person = c.PersonSnapshot.from_resource(people[link.resource_name])
            assert c.crm_state(contact) == c.google_state(person), (
                c.crm_state(contact), c.google_state(person))
            # the notes are the last ones written on one side or the other, never older
            notes = contacts[link.contact_id].notes or ""
            last = {side[-1] for side in (self.crm_notes.get(link.contact_id),
                                          self.google_notes.get(link.resource_name)) if side}
            assert not last or notes in last, (notes, last)
            # and the last one written, when only one side wrote any since it was made
            if {link.contact_id, link.resource_name} & self.disturbed:
                continue
            crm_side = self.crm_notes.get(link.contact_id) or []
            google_side = self.google_notes.get(link.resource_name) or []
            crm_edits = len(crm_side) - (1 if link.contact_id in self.crm_made else 0)
            google_edits = len(google_side) - (1 if link.resource_name in self.google_made
                                               else 0)
            if crm_edits > 0 and google_edits <= 0:
                assert notes == crm_side[-1], ("a CRM edit was lost", notes, crm_side)
            if google_edits > 0 and crm_edits <= 0:
                assert notes == google_side[-1], ("a Google edit was lost", notes,
                                                  google_side)
        # nothing the user made is lost: contacts stay until deleted in the CRM, people
        # made in Google stay until deleted there
        assert self.crm_made <= set(everyone)
        assert self.google_made <= set(people)
        # Google-only fields survive
        for name, (department, nickname) in self.extras.items():
            if name not in people:
                continue
            person = people[name]
            assert nickname in [n.get("value") for n in person.get("nicknames", [])]
            departments = [o.get("department") for o in person.get("organizations", [])]
            contact_ids = [l.contact_id for l in active if l.resource_name == name]
            emptied = contact_ids and not (contacts[contact_ids[0]].organization
                                           or contacts[contact_ids[0]].job_title)
            assert department in departments or emptied, (department, person)


def test_random_contact_edits_on_both_sides_converge(app, sim, google_base):
    from portal.accounts import services as accounts
    from portal.google import services as google_services
    from portal.jobs.connection import get_redis
    from portal.sync.contacts import services as contacts_services

    client_id, secret = "prop.apps.googleusercontent.com", "prop-secret"
    redirect = "http://localhost/google/oauth/callback"
    scopes = ["https://www.googleapis.com/auth/calendar",
              "https://www.googleapis.com/auth/contacts", "openid", "email"]

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
        db.session.commit()

    def connect_user():
        user = accounts.create_user(email="prop@example.com", name="Prop", password="x" * 12,
                                    role="user", time_zone="Europe/Berlin")
        sim.create_account(user.email, time_zone="Europe/Berlin")
        tokens = sim.issue_tokens(user.email, client_id, scopes)
        google_services.complete_connect(
            user, email=user.email, granted_scopes=scopes,
            refresh_token=tokens["refresh_token"], access_token=tokens["access_token"],
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
        colleague = accounts.create_user(email="colleague@example.com", name="Col",
                                         password="x" * 12, role="user", time_zone="UTC")
        tag = crm_contacts.create_tag(user, "Clients")
        settings_ = contacts_services.save_settings(
            user, tag_id=tag.id, auto_sync=False, period_minutes=60, conflict_rule="crm_wins",
            delete_in_crm_when_deleted_in_google=False)
        db.session.commit()
        # the label exists from the start, so Google-side rules have somewhere to put people
        runner.run_contacts(settings_.id, "both", backoff=FAST)
        db.session.commit()
        return user, settings_.id, colleague.id

    ContactsMachine.env = {"reset": reset, "connect_user": connect_user, "sim": sim}
    run_state_machine_as_test(ContactsMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))
