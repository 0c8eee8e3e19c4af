"""More of the contacts sync through googlesim's People v1 (real client, real RQ worker, real
database): crashes, races, expired tokens, visibility, Google-only fields, several users,
reconnects and bulk writes. Each test checks what the user would see in the CRM or in
Google Contacts."""
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.crm import contacts as crm_contacts
from portal.crm.models import Contact, Tag
from portal.extensions import db
from portal.google import services as google_services
from portal.sync.contacts import services as contacts_services
from portal.sync.contacts.models import ContactLink
from tests.sync.test_contacts_integration import (  # noqa: F401  (fixtures)
    CALENDAR, CONTACTS, contacts_user, fresh, make_contact, people_in, sync_contacts,
)


def group_of(user):
    db.session.expire_all()
    return contacts_services.get_settings(user).group_resource_name


def label(group):
    return [{"contactGroupMembership": {"contactGroupResourceName": group}}]


def contacts_of(user):
    db.session.expire_all()
    return db.session.scalars(db.select(Contact).where(Contact.owner_id == user.id)
                              .order_by(Contact.id)).all()


def tag_names(contact):
    return sorted(t.name for t in fresh(contact).tags)


def links():
    db.session.expire_all()
    return db.session.scalars(db.select(ContactLink)).all()


def kill_at_commit(monkeypatch, n):
    """The worker dies (KeyboardInterrupt, like a SIGINT) at the runner's ``n``-th commit:
    Google already has what was sent before it, the database has nothing of it."""
    from portal.sync.contacts import runner

    real = runner.ContactsRunner.commit
    calls = {"n": 0}

    def commit(self, progress=None):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt("worker killed")
        return real(self, progress)

    monkeypatch.setattr(runner.ContactsRunner, "commit", commit)
    return lambda: monkeypatch.setattr(runner.ContactsRunner, "commit", real)


def requests_to(sim, path_end):
    return sum(n for key, n in sim.stats()["requests"].items() if key.endswith(path_end))


# -- a worker killed mid-run -------------------------------------------------------------------

def test_a_worker_killed_after_google_made_the_people_leaves_no_duplicates(
        contacts_user, sim, sync_contacts, monkeypatch):
    from portal.sync.contacts import runner

    ann, settings = contacts_user()
    for n in range(5):
        make_contact(ann, f"Mailed{n}", emails=[(f"m{n}@example.org", "work")])
    for n in range(3):
        make_contact(ann, f"Mailless{n}", phones=[(f"+49 {n}", "work")])
    restore = kill_at_commit(monkeypatch, 2)  # 1: import done, 2: after the creates
    with pytest.raises(KeyboardInterrupt):
        runner.run_contacts(settings.id)
    db.session.rollback()
    restore()
    assert len(sim.contacts(ann.email)) == 8 and links() == []
    run = sync_contacts(ann, contacts_services.get_settings(ann))
    assert run.status == "succeeded", run.message
    people = sim.contacts(ann.email)
    assert sorted(p["names"][0]["familyName"] for p in people) == sorted(
        [f"Mailed{n}" for n in range(5)] + [f"Mailless{n}" for n in range(3)])
    assert len(contacts_of(ann)) == 8
    assert len(links()) == 8
    assert {l.resource_name for l in links()} == {p["resourceName"] for p in people}
    again = sync_contacts(ann, contacts_services.get_settings(ann))
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert len(sim.contacts(ann.email)) == 8 and len(contacts_of(ann)) == 8


# -- a 412 race: the person changes in Google between our read and our write -------------------

@pytest.mark.parametrize("google_field", ["notes", "organization"])
def test_a_person_edited_in_google_during_the_run_is_merged_not_overwritten(
        contacts_user, sim, sync_contacts, monkeypatch, google_field):
    from portal.google import people

    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez", "Lea", organization="Acme", notes="Old note")
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    lea = fresh(lea)
    lea.organization = "Acme Europe"
    db.session.commit()
    real = people.batch_update
    raced = {"done": False}

    def racing(service, persons, *args, **kwargs):
        if not raced["done"]:  # someone edits the person in Google right now
            raced["done"] = True
            change = {"biographies": [{"value": "Google note"}]} if google_field == "notes" \
                else {"organizations": [{"name": "Google Corp", "department": "Sales"}]}
            sim.patch_contact(ann.email, person["resourceName"], change)
        return real(service, persons, *args, **kwargs)

    monkeypatch.setattr(people, "batch_update", racing)
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert raced["done"]
    [after] = sim.contacts(ann.email)
    lea = fresh(lea)
    if google_field == "notes":
        # different fields: both kept, on both sides
        assert after["biographies"][0]["value"] == "Google note"
        assert after["organizations"][0]["name"] == "Acme Europe"
        assert (lea.notes, lea.organization) == ("Google note", "Acme Europe")
        assert run.conflicts == 0
    else:
        # the same field: the rule (CRM wins) decides, Google's department stays, logged
        assert after["organizations"][0]["name"] == "Acme Europe"
        assert after["organizations"][0].get("department") == "Sales"
        assert lea.organization == "Acme Europe"
        assert run.conflicts == 1
    assert len(sim.contacts(ann.email)) == 1
    quiet = sync_contacts(ann, settings)
    assert (quiet.created, quiet.updated, quiet.conflicts) == (0, 0, 0)


# -- sync token expiry -------------------------------------------------------------------------

def test_an_expired_token_reconciles_every_change_without_duplicates(contacts_user, sim,
                                                                     sync_contacts):
    ann, settings = contacts_user()
    edited_in_crm = make_contact(ann, "Crm", emails=[("crm@example.org", "work")])
    edited_in_google = make_contact(ann, "Goo", emails=[("goo@example.org", "work")])
    deleted_in_google = make_contact(ann, "Gone", emails=[("gone@example.org", "work")])
    make_contact(ann, "Quiet")
    sync_contacts(ann, settings)
    group = group_of(ann)
    by_name = {p["names"][0]["familyName"]: p for p in sim.contacts(ann.email)}
    sim.patch_contact(ann.email, by_name["Goo"]["resourceName"],
                      {"phoneNumbers": [{"value": "+1 555", "type": "home"}]})
    sim.delete_contact(ann.email, by_name["Gone"]["resourceName"])
    sim.create_contact(ann.email, {"names": [{"familyName": "Newcomer"}],
                                   "memberships": label(group)})
    crm = fresh(edited_in_crm)
    crm.job_title = "Buyer"
    db.session.commit()
    sim.expire(people_sync_tokens=True)
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert any(e.action == "full_sync" for e in run.entries)
    assert [(p.number, p.label) for p in fresh(edited_in_google).phones] == [("+1 555", "home")]
    assert fresh(deleted_in_google) is not None  # kept in the CRM (the default choice)
    names = sorted(p["names"][0]["familyName"] for p in sim.contacts(ann.email))
    assert names == ["Crm", "Goo", "Newcomer", "Quiet"]
    crm_person = [p for p in sim.contacts(ann.email) if p["names"][0]["familyName"] == "Crm"][0]
    assert crm_person["organizations"][0]["title"] == "Buyer"
    assert sorted(c.last_name for c in contacts_of(ann)) == ["Crm", "Gone", "Goo", "Newcomer",
                                                            "Quiet"]
    quiet = sync_contacts(ann, settings)
    assert (quiet.created, quiet.updated, quiet.deleted) == (0, 0, 0)
    assert len(sim.contacts(ann.email)) == 4


# -- visibility, public tags, the label --------------------------------------------------------

def test_a_contact_the_user_can_no_longer_see_leaves_the_label(contacts_user, make_user, sim,
                                                               sync_contacts):
    ann, settings = contacts_user()
    bob = make_user(email="bob@example.com")
    lea = make_contact(ann, "Lopez")
    kim = make_contact(ann, "Kim")
    sync_contacts(ann, settings)
    group = group_of(ann)
    lea = fresh(lea)
    lea.owner_id = bob.id  # handed over to Bob: Ann no longer sees it
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert [p["names"][0]["familyName"] for p in people_in(sim, ann.email, group)] == ["Kim"]
    assert len(sim.contacts(ann.email)) == 2  # the person stays in Ann's Google Contacts
    assert fresh(lea).last_name == "Lopez" and fresh(kim) is not None  # nothing deleted


def test_public_and_corporate_tags_never_synchronize(contacts_user, make_user, sim,
                                                     sync_contacts, client, login):
    ann, settings = contacts_user()
    boss = make_user(role="admin", email="boss@example.com")
    public = crm_contacts.create_tag(ann, "Partners", "public")
    corporate = crm_contacts.create_tag(boss, "Key accounts", "corporate")
    db.session.commit()
    shared_only = make_contact(ann, "SharedOnly", tagged=False)
    shared_only = fresh(shared_only)
    shared_only.tags = [db.session.get(Tag, public.id), db.session.get(Tag, corporate.id)]
    db.session.commit()
    make_contact(ann, "Private")
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert [p["names"][0]["familyName"] for p in sim.contacts(ann.email)] == ["Private"]
    for tag in (public, corporate):
        with pytest.raises(contacts_services.ContactsSyncError):
            contacts_services.save_settings(ann, tag_id=tag.id, auto_sync=False,
                                            period_minutes=60, conflict_rule="crm_wins",
                                            delete_in_crm_when_deleted_in_google=False)
    db.session.rollback()
    login(client, ann)
    html = client.get("/google/contacts").get_data(as_text=True)
    assert "Partners" not in html and "Key accounts" not in html
    # settings that point at a shared tag anyway (made before the rule) sync nothing
    settings = contacts_services.get_settings(ann)
    settings.tag_id = public.id
    db.session.commit()
    sim.stats_reset()
    run = sync_contacts(ann, settings)
    assert run.status == "failed"
    assert requests_to(sim, "batchCreateContacts") == 0
    assert [p["names"][0]["familyName"] for p in sim.contacts(ann.email)] == ["Private"]


def test_deleting_the_label_in_google_takes_the_tag_off_and_keeps_the_contacts(
        contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez")
    kim = make_contact(ann, "Kim")
    sync_contacts(ann, settings)
    group = group_of(ann)
    client = google_services.client_for(ann)
    client.people.contactGroups().delete(resourceName=group).execute()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert tag_names(lea) == [] and tag_names(kim) == []
    assert fresh(lea) is not None and fresh(kim) is not None
    assert len(sim.contacts(ann.email)) == 2  # the people stay in Google, nothing recreated
    assert links() == []


# -- what Google has and the CRM does not show -------------------------------------------------

def test_google_only_fields_survive_crm_edits(contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez", "Lea", emails=[("lea@acme.example", "work")],
                       phones=[("+49 30 1", "work")], organization="Acme")
    sync_contacts(ann, settings)
    group = group_of(ann)
    [person] = sim.contacts(ann.email)
    friends = google_services.client_for(ann).people.contactGroups().create(
        body={"contactGroup": {"name": "Friends"}}).execute()["resourceName"]
    extras = {
        "urls": person.get("urls", []) + [{"value": "https://lea.example", "type": "blog"}],
        "relations": [{"person": "Max", "type": "spouse"}],
        "organizations": [{"name": "Acme", "department": "R&D"},
                          {"name": "Board of Things", "title": "Advisor"}],
        "nicknames": [{"value": "Lee"}],
        "memberships": person["memberships"] + label(friends),
    }
    sim.patch_contact(ann.email, person["resourceName"], extras)
    sync_contacts(ann, settings)  # Google's edit read (nothing the CRM shows changed)
    lea = fresh(lea)
    lea.job_title = "CTO"
    lea.notes = "Edited in the CRM"
    lea.city = "Berlin"
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    [after] = sim.contacts(ann.email)
    assert after["organizations"][0]["title"] == "CTO"
    assert after["organizations"][0]["department"] == "R&D"
    assert after["organizations"][1] == {**after["organizations"][1],
                                         "name": "Board of Things", "title": "Advisor"}
    assert after["relations"][0]["person"] == "Max"
    assert after["nicknames"][0]["value"] == "Lee"
    assert "https://lea.example" in [u["value"] for u in after["urls"]]
    groups = {m["contactGroupMembership"]["contactGroupResourceName"]
              for m in after["memberships"]}
    assert {group, friends} <= groups
    assert after["biographies"][0]["value"] == "Edited in the CRM"
    assert after["addresses"][0]["city"] == "Berlin"


def test_a_phone_type_the_crm_has_no_label_for_survives_a_crm_phone_edit(contacts_user, sim,
                                                                         sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez", phones=[("+49 30 1", "work")])
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    sim.patch_contact(ann.email, person["resourceName"], {"phoneNumbers": [
        {"value": "+49 30 1", "type": "work"}, {"value": "+49 555", "type": "pager"}]})
    sync_contacts(ann, settings)
    assert [(p.number, p.label) for p in fresh(lea).phones] == [("+49 30 1", "work"),
                                                               ("+49 555", "other")]
    crm_contacts.save_contact(ann, crm_contacts.ContactData(
        last_name="Lopez", phones=[("+49 30 1", "work"), ("+49 555", "other"),
                                   ("+49 170 9", "mobile")],
        tag_ids=[t.id for t in fresh(lea).tags]), contact=fresh(lea))
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    [after] = sim.contacts(ann.email)
    assert [(p["value"], p.get("type")) for p in after["phoneNumbers"]] == [
        ("+49 30 1", "work"), ("+49 555", "pager"), ("+49 170 9", "mobile")]


def test_both_sides_edited_on_different_fields_keeps_both(contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez", "Lea", emails=[("lea@acme.example", "work")])
    sync_contacts(ann, settings)
    [person] = sim.contacts(ann.email)
    sim.patch_contact(ann.email, person["resourceName"], {
        "names": [{"givenName": "Leandra", "familyName": "Lopez"}],
        "emailAddresses": [{"value": "lea@acme.example", "type": "work"},
                           {"value": "lea@home.example", "type": "home"}]})
    lea = fresh(lea)
    lea.birthday = date(1990, 2, 3)
    lea.notes = "From the CRM"
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded" and run.conflicts == 0, run.message
    lea = fresh(lea)
    assert lea.first_name == "Leandra"
    assert [e.email for e in lea.emails] == ["lea@acme.example", "lea@home.example"]
    assert (lea.birthday, lea.notes) == (date(1990, 2, 3), "From the CRM")
    [after] = sim.contacts(ann.email)
    assert after["names"][0]["givenName"] == "Leandra"
    assert after["birthdays"][0]["date"] == {"year": 1990, "month": 2, "day": 3}
    assert after["biographies"][0]["value"] == "From the CRM"
    assert len(after["emailAddresses"]) == 2


# -- matching ----------------------------------------------------------------------------------

def test_a_person_in_the_label_matches_a_contact_by_its_second_address(contacts_user, sim,
                                                                       sync_contacts):
    ann, settings = contacts_user()
    kim = make_contact(ann, "Known", "Kim", tagged=False,
                       emails=[("kim@work.example", "work"), ("kim@home.example", "home")])
    sync_contacts(ann, settings)
    sim.create_contact(ann.email, {"names": [{"givenName": "Kim", "familyName": "Known"}],
                                   "emailAddresses": [{"value": "KIM@home.example"}],
                                   "phoneNumbers": [{"value": "+1 777", "type": "mobile"}],
                                   "memberships": label(group_of(ann))})
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert [c.last_name for c in contacts_of(ann)] == ["Known"]  # no duplicate
    assert tag_names(kim) == ["Clients"]
    assert [(p.number, p.label) for p in fresh(kim).phones] == [("+1 777", "mobile")]
    assert len(sim.contacts(ann.email)) == 1


# -- two users ---------------------------------------------------------------------------------

def test_two_users_tagging_the_same_contact_each_get_their_own_google_contact(
        contacts_user, sim, sync_contacts):
    bob, bob_settings = contacts_user("bob@example.com")
    ann, ann_settings = contacts_user("ann@example.com")
    ann.role = "admin"  # an admin sees Bob's contacts and may tag them with her own tags
    db.session.commit()
    shared = make_contact(bob, "Shared", "Sam", emails=[("sam@example.org", "work")])
    ann_tag = db.session.scalars(db.select(Tag).where(Tag.owner_id == ann.id)).one()
    shared = fresh(shared)
    shared.tags = list(shared.tags) + [ann_tag]
    db.session.commit()
    assert sync_contacts(bob, bob_settings).status == "succeeded"
    assert sync_contacts(ann, ann_settings).status == "succeeded"
    [bobs] = sim.contacts(bob.email)
    [anns] = sim.contacts(ann.email)
    assert bobs["names"][0]["familyName"] == anns["names"][0]["familyName"] == "Shared"
    assert len(links()) == 2
    # Bob takes it out of his label in Google: he loses his tag, Ann keeps hers
    sim.patch_contact(bob.email, bobs["resourceName"], {"memberships": [
        {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}]})
    sync_contacts(bob, bob_settings)
    assert sync_contacts(ann, ann_settings).status == "succeeded"
    assert tag_names(shared) == ["Clients"]
    assert [t.owner_id for t in fresh(shared).tags] == [ann.id]
    assert len(people_in(sim, ann.email, group_of(ann))) == 1
    assert len(sim.contacts(bob.email)) == 1 and len(sim.contacts(ann.email)) == 1


# -- reconnecting after "Forget the links" -----------------------------------------------------

def test_reconnecting_after_forgetting_the_links_makes_no_duplicates(contacts_user, sim,
                                                                     sync_contacts):
    from tests.conftest import CLIENT_ID

    ann, settings = contacts_user()
    make_contact(ann, "Mailed", emails=[("m@example.org", "work")])
    make_contact(ann, "Mailless", phones=[("+49 1", "work")])
    sync_contacts(ann, settings)
    sim.create_contact(ann.email, {"names": [{"familyName": "FromGoogle"}],
                                   "memberships": label(group_of(ann))})
    sync_contacts(ann, settings)
    assert len(sim.contacts(ann.email)) == 3 and len(contacts_of(ann)) == 3
    google_services.disconnect(ann, keep_links=False)
    db.session.commit()
    assert links() == []
    scopes = [CALENDAR, CONTACTS, "openid", "email"]
    tokens = sim.issue_tokens(ann.email, CLIENT_ID, scopes)
    google_services.complete_connect(
        ann, email=ann.email, granted_scopes=scopes, refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
    db.session.commit()
    run = sync_contacts(ann, contacts_services.get_settings(ann))
    assert run.status == "succeeded", run.message
    assert sorted(p["names"][0]["familyName"] for p in sim.contacts(ann.email)) == [
        "FromGoogle", "Mailed", "Mailless"]
    assert sorted(c.last_name for c in contacts_of(ann)) == ["FromGoogle", "Mailed", "Mailless"]
    assert len(links()) == 3


# -- bulk --------------------------------------------------------------------------------------

def test_more_than_200_contacts_go_in_several_batch_calls(contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    tag = db.session.scalars(db.select(Tag).where(Tag.owner_id == ann.id)).one()
    for n in range(450):
        crm_contacts.save_contact(ann, crm_contacts.ContactData(
            last_name=f"Bulk{n:03}", emails=[(f"b{n}@example.org", "work")],
            tag_ids=[tag.id]))
    db.session.commit()
    sim.stats_reset()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded" and run.created == 450, run.message
    assert requests_to(sim, "batchCreateContacts") == 3  # 200 + 200 + 50
    people = sim.contacts(ann.email)
    assert len(people) == 450
    assert len({p["names"][0]["familyName"] for p in people}) == 450
    assert len(links()) == 450


def test_a_second_person_with_the_address_of_a_linked_contact_gets_its_own_contact(
        contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    kim = make_contact(ann, "Known", "Kim", emails=[("kim@example.org", "work")])
    sync_contacts(ann, settings)
    sync_contacts(ann, settings)  # reads our own write back: the next listing is B only
    sim.create_contact(ann.email, {"names": [{"givenName": "Kim", "familyName": "Other"}],
                                   "emailAddresses": [{"value": "kim@example.org"}],
                                   "memberships": label(group_of(ann))})
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    # Kim stays linked to her own person; the newcomer is a contact of its own
    assert sorted(c.last_name for c in contacts_of(ann)) == ["Known", "Other"]
    assert len({l.contact_id for l in links()}) == len(links()) == 2
    assert fresh(kim).last_name == "Known"
    quiet = sync_contacts(ann, settings)
    assert (quiet.created, quiet.updated) == (0, 0)
    assert len(sim.contacts(ann.email)) == 2


def test_a_new_contact_sharing_the_address_of_a_linked_one_gets_its_own_person(
        contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    make_contact(ann, "Known", "Kim", emails=[("kim@example.org", "work")])
    sync_contacts(ann, settings)
    make_contact(ann, "Twin", "Kim", emails=[("kim@example.org", "home")])
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert sorted(p["names"][0]["familyName"] for p in sim.contacts(ann.email)) == [
        "Known", "Twin"]
    assert sorted(c.last_name for c in contacts_of(ann)) == ["Known", "Twin"]
    assert len({l.resource_name for l in links()}) == len(links()) == 2


def test_a_person_made_in_google_survives_the_crm_delete_after_a_relink(contacts_user, sim,
                                                                        sync_contacts):
    """Made in Google, imported, taken out of the label (the contact loses the tag), tagged
    again in the CRM (linked again, not duplicated), then deleted in the CRM: the person was
    never the CRM's, so it only leaves the label."""
    ann, settings = contacts_user()
    sync_contacts(ann, settings)
    group = group_of(ann)
    made = sim.create_contact(ann.email, {"names": [{"familyName": "Mine"}],
                                          "emailAddresses": [{"value": "mine@example.org"}],
                                          "memberships": label(group)})
    sync_contacts(ann, settings)
    [contact] = contacts_of(ann)
    sim.patch_contact(ann.email, made["resourceName"], {"memberships": [
        {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}]})
    sync_contacts(ann, settings)
    assert tag_names(contact) == []
    tag = db.session.scalars(db.select(Tag).where(Tag.owner_id == ann.id)).one()
    contact = fresh(contact)
    contact.tags = [tag]
    db.session.commit()
    sync_contacts(ann, settings)
    assert [p["resourceName"] for p in people_in(sim, ann.email, group)] == [
        made["resourceName"]]
    crm_contacts.delete_contact(ann, fresh(contact))
    db.session.commit()
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert [p["resourceName"] for p in sim.contacts(ann.email)] == [made["resourceName"]]
    assert people_in(sim, ann.email, group) == []


def test_a_copy_google_made_for_a_request_a_killed_worker_never_read_is_removed(
        contacts_user, sim, sync_contacts):
    """A batchCreateContacts in flight when the worker died is still carried out by Google,
    after the next run already made the person again: that second copy carries the contact's
    UID. Untouched, it is deleted; edited in Google since, it is left alone; neither comes
    into the CRM."""
    from portal.sync.contacts import engine

    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez", "Lea", phones=[("+49 1", "work")])
    kim = make_contact(ann, "Kim", phones=[("+49 2", "work")])
    sync_contacts(ann, settings)
    sync_contacts(ann, settings)
    group = group_of(ann)
    by_name = {p["names"][0]["familyName"]: p for p in sim.contacts(ann.email)}
    copies = {}
    for contact, edited in ((lea, False), (kim, True)):
        original = by_name[contact.last_name]
        body = {k: original[k] for k in ("names", "phoneNumbers", "clientData")}
        body["clientData"] = [{"key": engine.CLIENT_KEY, "value": str(fresh(contact).uid)}]
        body["memberships"] = label(group)
        if edited:
            body["biographies"] = [{"value": "edited in Google"}]
        copies[contact.last_name] = sim.create_contact(ann.email, body)["resourceName"]
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    names = {p["resourceName"] for p in sim.contacts(ann.email)}
    assert copies["Lopez"] not in names
    assert copies["Kim"] in names
    assert sorted(c.last_name for c in contacts_of(ann)) == ["Kim", "Lopez"]
    assert fresh(kim).notes == ""


def test_deleted_on_both_sides_while_the_sync_token_expired(contacts_user, sim, sync_contacts):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Lopez")
    make_contact(ann, "Kim")
    sync_contacts(ann, settings)
    sync_contacts(ann, settings)
    person = [p for p in sim.contacts(ann.email) if p["names"][0]["familyName"] == "Lopez"][0]
    crm_contacts.delete_contact(ann, fresh(lea))
    db.session.commit()
    sim.delete_contact(ann.email, person["resourceName"])
    sim.expire(people_sync_tokens=True)
    run = sync_contacts(ann, settings)
    assert run.status == "succeeded", run.message
    assert [l.contact_id for l in links()] == [fresh(contacts_of(ann)[0]).id]
    assert [p["names"][0]["familyName"] for p in sim.contacts(ann.email)] == ["Kim"]
