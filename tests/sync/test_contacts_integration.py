"""The contacts sync (issue 12) through googlesim's People v1 with the real client, a real RQ
worker and the database: a user's private tag <-> a Google label, both ways."""
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.crm import contacts as crm_contacts
from portal.crm.models import Contact, Tag
from portal.extensions import db
from portal.google import services as google_services
from portal.sync.contacts.models import ContactLink
from portal.sync.contacts import services as contacts_services

CALENDAR = "https://www.googleapis.com/auth/calendar"
CONTACTS = "https://www.googleapis.com/auth/contacts"


@pytest.fixture
def contacts_user(configured, make_user):
    """``contacts_user(email, **settings)`` -> (user, settings): connected with the contacts
    scope, syncing their private tag "Clients"."""
    from tests.conftest import CLIENT_ID

    def factory(email="ann@example.com", **options):
        user = make_user(email=email, time_zone="Europe/Berlin")
        configured.create_account(email, time_zone="Europe/Berlin")
        scopes = [CALENDAR, CONTACTS, "openid", "email"]
        tokens = configured.issue_tokens(email, CLIENT_ID, scopes)
        google_services.complete_connect(
            user, email=email, granted_scopes=scopes, refresh_token=tokens["refresh_token"],
            access_token=tokens["access_token"],
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
        tag = crm_contacts.create_tag(user, "Clients")
        values = dict(tag_id=tag.id, auto_sync=False, period_minutes=60,
                      conflict_rule="crm_wins", delete_in_crm_when_deleted_in_google=False)
        values.update(options)
        settings = contacts_services.save_settings(user, **values)
        db.session.commit()
        return user, settings

    return factory


@pytest.fixture
def sync_contacts(app):
    from portal.jobs.contacts import enqueue_contacts_sync
    from portal.jobs.worker import make_worker
    from portal.sync.core.runs import SyncRun

    def run(user, settings, direction="both"):
        queued = enqueue_contacts_sync(user, settings, direction)
        run_id = queued.id
        make_worker(app, simple=True).work(burst=True)
        db.session.expire_all()
        return db.session.get(SyncRun, run_id)

    return run


def make_contact(user, last, first="", tagged=True, emails=(), **fields):
    tag = db.session.scalars(db.select(Tag).where(Tag.owner_id == user.id,
                                                  Tag.name == "Clients")).one()
    contact = crm_contacts.save_contact(user, crm_contacts.ContactData(
        last_name=last, first_name=first, emails=list(emails), phones=fields.pop("phones", []),
        tag_ids=[tag.id] if tagged else [], **fields))
    db.session.commit()
    return contact


def people_in(sim, email, group=None):
    found = [p for p in sim.contacts(email)]
    if group is None:
        return found
    return [p for p in found if any(
        (m.get("contactGroupMembership") or {}).get("contactGroupResourceName") == group
        for m in p.get("memberships") or ())]


def fresh(contact):
    contact_id = contact if isinstance(contact, int) else contact.id
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


def test_tagged_contacts_go_to_a_label_named_after_the_tag(contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Fernández", "Lea", emails=[("lea@acme.example", "work")],
                       phones=[("+49 30 1234", "mobile")], organization="Acme",
                       job_title="CTO", city="Berlin", birthday=date(1985, 4, 2),
                       notes="Met at the fair")
    make_contact(ann, "Untagged", tagged=False)
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded" and run.created == 1, run.message
    settings = contacts_services.get_settings(ann)
    [person] = people_in(sim, ann.email, settings.group_resource_name)
    assert person["names"][0]["givenName"] == "Lea"
    assert person["names"][0]["familyName"] == "Fernández"
    assert person["emailAddresses"][0]["value"] == "lea@acme.example"
    assert person["phoneNumbers"][0] == {**person["phoneNumbers"][0], "value": "+49 30 1234",
                                         "type": "mobile"}
    assert (person["organizations"][0]["name"], person["organizations"][0]["title"]) == (
        "Acme", "CTO")
    assert person["addresses"][0]["city"] == "Berlin"
    assert person["birthdays"][0]["date"] == {"year": 1985, "month": 4, "day": 2}
    assert person["biographies"][0]["value"] == "Met at the fair"
    assert len(people_in(sim, ann.email)) == 1  # the untagged one stays in the CRM
    [link] = db.session.scalars(db.select(ContactLink)).all()
    assert link.contact_id == lea.id and link.resource_name == person["resourceName"]
    again = sync_contacts(ann, settings)
    assert (again.created, again.updated) == (0, 0)


def test_people_in_the_label_come_in_tagged_and_match_existing_contacts(contacts_user, sim,
                                                                       sync_contacts):
    ann, settings = contacts_user()
    known = make_contact(ann, "Known", "Kim", tagged=False,
                         emails=[("kim@example.org", "work")])
    sync_contacts(ann, settings)
    group = contacts_services.get_settings(ann).group_resource_name
    label = [{"contactGroupMembership": {"contactGroupResourceName": group}}]
    sim.create_contact(ann.email, {"names": [{"givenName": "Nia", "familyName": "New"}],
                                   "emailAddresses": [{"value": "nia@example.org"}],
                                   "memberships": label})
    sim.create_contact(ann.email, {"names": [{"givenName": "Kim", "familyName": "Known"}],
                                   "emailAddresses": [{"value": "kim@example.org"}],
                                   "phoneNumbers": [{"value": "555", "type": "home"}],
                                   "memberships": label})
    sim.create_contact(ann.email, {"names": [{"familyName": "Outside"}]})  # not in the label
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    contacts = {c.last_name: c for c in db.session.scalars(db.select(Contact))}
    assert sorted(contacts) == ["Known", "New"]  # no duplicate Kim, nothing from outside
    assert [t.name for t in contacts["New"].tags] == ["Clients"]
    kim = fresh(known)
    assert [t.name for t in kim.tags] == ["Clients"]
    assert [(p.number, p.label) for p in kim.phones] == [("555", "home")]


def test_edits_on_both_sides_are_merged_field_by_field(contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez", "Lea", emails=[("lea@acme.example", "work")],
                       organization="Acme")
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    sim.patch_contact(ann.email, person["resourceName"], {
        "organizations": [{"name": "Acme Europe", "department": "Sales"}]})
    crm_contacts.save_contact(ann, crm_contacts.ContactData(
        last_name="Lopez", first_name="Lea", emails=[("lea@acme.example", "work")],
        phones=[("+1 555 0100", "work")], organization="Acme",
        tag_ids=[t.id for t in fresh(lea).tags]), contact=fresh(lea))
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded" and run.conflicts == 0, run.message
    lea = fresh(lea)
    assert lea.organization == "Acme Europe"
    [person] = sim.contacts(ann.email)
    assert person["phoneNumbers"][0]["value"] == "+1 555 0100"
    assert person["organizations"][0] == {**person["organizations"][0], "name": "Acme Europe",
                                          "department": "Sales"}
    assert any(e.action == "merged" for e in run.entries)


@pytest.mark.parametrize("rule,expected", [("crm_wins", "CRM Corp"),
                                           ("google_wins", "Google Corp")])
def test_the_same_field_changed_on_both_sides_follows_the_rule(contacts_user, sim,
                                                               sync_contacts, rule, expected):
    ann, settings = contacts_user(conflict_rule=rule)
    lea = make_contact(ann, "Lopez", organization="Acme")
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    sim.patch_contact(ann.email, person["resourceName"],
                      {"organizations": [{"name": "Google Corp"}]})
    lea = fresh(lea)
    lea.organization = "CRM Corp"
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.conflicts == 1
    assert fresh(lea).organization == expected
    assert sim.contacts(ann.email)[0]["organizations"][0]["name"] == expected


def test_a_stale_etag_reads_again_and_merges_instead_of_overwriting(contacts_user, sim,
                                                                     sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez", notes="Old note")
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    # Google changes the person; the CRM changes another field; an export alone (no
    # import first) sends with the old etag.
    sim.patch_contact(ann.email, person["resourceName"],
                      {"biographies": [{"value": "Google note"}]})
    lea = fresh(lea)
    lea.city = "Madrid"
    db.session.commit()
    run = sync_contacts(ann, settings, "export")
    assert run.status == "succeeded", run.message
    [after] = sim.contacts(ann.email)
    assert after["biographies"][0]["value"] == "Google note"  # not overwritten
    assert after["addresses"][0]["city"] == "Madrid"
    assert fresh(lea).notes == "Google note"


def test_tag_removed_in_crm_takes_the_person_out_of_the_label(contacts_user, sim,
                                                              sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez")
    sync_contacts(ann, settings)
    group = contacts_services.get_settings(ann).group_resource_name
    lea = fresh(lea)
    lea.tags = []
    db.session.commit()
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)  # still in Google
    assert people_in(sim, ann.email, group) == []
    assert db.session.scalars(db.select(ContactLink)).all() == []


def test_taken_out_of_the_label_in_google_loses_the_tag_in_crm(contacts_user, sim,
                                                               sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez")
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    sim.patch_contact(ann.email, person["resourceName"], {"memberships": [
        {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}]})
    sync_contacts(ann, settings)
    assert fresh(lea).tags == []
    assert fresh(lea) is not None


@pytest.mark.parametrize("delete_in_crm", [False, True])
def test_a_delete_in_google_follows_the_users_choice(contacts_user, sim, sync_contacts,
                                                     delete_in_crm):
    ann, settings = contacts_user(delete_in_crm_when_deleted_in_google=delete_in_crm)
    lea_id = make_contact(ann, "Lopez").id
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    sim.delete_contact(ann.email, person["resourceName"])
    run = sync_contacts(ann, settings)
    # deleted in the CRM too, or kept there (not counted as deleted)
    assert (run.deleted, run.kept) == ((1, 0) if delete_in_crm else (0, 1))
    assert (fresh(lea_id) is None) == delete_in_crm


def test_a_crm_delete_removes_the_person_the_crm_made(contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez")
    sync_contacts(ann, settings)
    crm_contacts.delete_contact(ann, fresh(lea))
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.deleted == 1
    assert sim.contacts(ann.email) == []


def test_an_expired_sync_token_means_a_full_listing_reconciled_with_the_links(
        contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez")
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    sim.patch_contact(ann.email, person["resourceName"], {"names": [
        {"givenName": "Leandra", "familyName": "Lopez"}]})
    sim.expire(people_sync_tokens=True)
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert any(e.action == "full_sync" for e in run.entries)
    assert fresh(lea).first_name == "Leandra"
    assert len(sim.contacts(ann.email)) == 1


def test_only_private_tags_of_the_user_are_offered_and_accepted(client, login, contacts_user):
    ann, _ = contacts_user()
    public = crm_contacts.create_tag(ann, "Everyone", "public")
    db.session.commit()
    login(client, ann)
    html = client.get("/google/contacts").get_data(as_text=True)
    assert "Clients" in html and "Everyone" not in html
    with pytest.raises(contacts_services.ContactsSyncError):
        contacts_services.save_settings(ann, tag_id=public.id, auto_sync=False,
                                        period_minutes=60, conflict_rule="crm_wins",
                                        delete_in_crm_when_deleted_in_google=False)


def test_without_the_contacts_scope_the_page_asks_for_it_and_runs_say_so(
        client, login, connect_user, sim, sync_contacts):
    ann, _ = connect_user()  # calendar only
    tag = crm_contacts.create_tag(ann, "Clients")
    settings = contacts_services.save_settings(
        ann, tag_id=tag.id, auto_sync=False, period_minutes=60, conflict_rule="crm_wins",
        delete_in_crm_when_deleted_in_google=False)
    db.session.commit()
    login(client, ann)
    html = client.get("/google/contacts").get_data(as_text=True)
    assert 'data-testid="allow-contacts"' in html
    run = sync_contacts(ann, settings)
    assert run.status == "needs_reauth" and "contacts" in run.message
