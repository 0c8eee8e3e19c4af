"""The contacts planner's rules (portal/sync/contacts/engine.py) on plain data: no app, no
database, no network. The snapshots are what the runner builds from the CRM and Google."""
import uuid
from datetime import date, datetime, timezone

import pytest

from portal.sync.contacts import engine as c
from portal.sync.core import merge as m

UTC = timezone.utc
GROUP = "contactGroups/clients"
OTHER_GROUP = "contactGroups/friends"


def settings(**kw):
    values = dict(id=1, user_id=1, group=GROUP)
    values.update(kw)
    return c.Settings(**values)


def contact(n=1, **kw):
    values = dict(id=n, uid=uuid.UUID(int=n), version=1, last_name=f"Lopez{n}",
                  first_name="Lea", emails=((f"lea{n}@acme.example", "work"),),
                  phones=(("+49 30 1234", "mobile"),), organization="Acme", job_title="CTO",
                  city="Berlin", birthday=date(1985, 4, 2), notes="Met at the fair",
                  modified_at=datetime(2030, 1, 1, 10, tzinfo=UTC),
                  url=f"https://crm.example/contacts/{n}")
    values.update(kw)
    return c.ContactSnapshot(**values)


def person_of(snapshot, resource_name="people/c1", etag="%e2", groups=(GROUP,),
              updated="2030-01-01T09:00:00Z", **overrides):
    """The Google person the CRM contact became (plus ``overrides``), as listed."""
    body = c.person_body(snapshot, c.GROUPS)
    body.update(resourceName=resource_name, etag=etag,
                memberships=[{"contactGroupMembership": {"contactGroupResourceName": g}}
                             for g in groups],
                metadata={"sources": [{"type": "CONTACT", "updateTime": updated}]})
    body.update(overrides)
    return c.PersonSnapshot.from_resource(body)


def google_person(resource_name="people/g1", etag="%g1", groups=(GROUP,), **fields):
    body = {"resourceName": resource_name, "etag": etag,
            "names": [{"givenName": "Nia", "familyName": "New"}],
            "emailAddresses": [{"value": "nia@example.org", "type": "home"}],
            "memberships": [{"contactGroupMembership": {"contactGroupResourceName": g}}
                            for g in groups],
            "metadata": {"sources": [{"type": "CONTACT",
                                      "updateTime": "2030-01-01T09:00:00Z"}]}}
    body.update(fields)
    return c.PersonSnapshot.from_resource(body)


def link_of(snapshot, resource_name="people/c1", etag="%e1", owner=c.OWNER_CRM, base=None,
            **kw):
    values = dict(id=100 + snapshot.id, contact_id=snapshot.id, resource_name=resource_name,
                  etag=etag, synced_version=snapshot.version, owner=owner,
                  base_fields=m.with_base_version(c.crm_state(snapshot)) if base is None
                  else base)
    values.update(kw)
    return c.LinkSnapshot(**values)


def edited(snapshot, **changes):
    """The contact after a CRM edit (a new version)."""
    return c.ContactSnapshot(**{**snapshot.__dict__, **changes,
                                "version": snapshot.version + 1})


def kinds(actions):
    return [a.kind for a in actions]


def only(actions, kind):
    [action] = [a for a in actions if a.kind == kind]
    return action


# -- the field groups ------------------------------------------------------------------------

def test_a_contact_survives_the_trip_to_google_and_back_unchanged():
    lea = contact(emails=(("lea@acme.example", "work"), ("lea@home.example", "home")),
                  phones=(("+49 1", "mobile"), ("+49 2", "work"), ("+49 3", "home"),
                          ("+49 4", "other")),
                  street="Main St 1", postal_code="10115", region="BE", country="Germany")
    person = person_of(lea)
    assert c.google_state(person) == c.crm_state(lea)
    values = c.contact_values(person.resource)
    assert values["emails"] == (("lea@acme.example", "work"), ("lea@home.example", "home"))
    assert values["phones"] == (("+49 1", "mobile"), ("+49 2", "work"), ("+49 3", "home"),
                                ("+49 4", "other"))
    assert (values["organization"], values["job_title"]) == ("Acme", "CTO")
    assert (values["street"], values["city"], values["postal_code"], values["region"],
            values["country"]) == ("Main St 1", "Berlin", "10115", "BE", "Germany")
    assert values["birthday"] == date(1985, 4, 2)
    assert values["notes"] == "Met at the fair"


def test_person_body_writes_each_field_in_googles_shape():
    body = c.person_body(contact(), c.GROUPS)
    assert body["names"] == [{"givenName": "Lea", "familyName": "Lopez1"}]
    assert body["emailAddresses"] == [{"value": "lea1@acme.example", "type": "work"}]
    assert body["phoneNumbers"] == [{"value": "+49 30 1234", "type": "mobile"}]
    assert body["organizations"] == [{"name": "Acme", "title": "CTO"}]
    assert body["addresses"][0]["city"] == "Berlin"
    assert body["birthdays"] == [{"date": {"year": 1985, "month": 4, "day": 2}}]
    assert body["biographies"] == [{"value": "Met at the fair", "contentType": "TEXT_PLAIN"}]
    assert "memberships" not in body and "urls" not in body  # only a new person joins


def test_empty_crm_fields_clear_their_google_field():
    body = c.person_body(contact(organization="", job_title="", city="", birthday=None,
                                 notes=""), c.GROUPS)
    assert body["organizations"] == [] and body["addresses"] == []
    assert body["birthdays"] == [] and body["biographies"] == []


def test_a_new_person_joins_the_label_and_links_back_to_the_crm_contact():
    body = c.person_body(contact(), c.GROUPS, group=GROUP)
    assert body["memberships"] == [{"contactGroupMembership": {
        "contactGroupResourceName": GROUP}}]
    assert body["urls"] == [{"value": "https://crm.example/contacts/1", "type": "CRM"}]


def test_google_types_become_the_crms_labels():
    person = google_person(
        emailAddresses=[{"value": "A@Example.org", "type": "work"},
                        {"value": "a@example.org", "type": "home"},  # the same address
                        {"value": "b@example.org", "type": "school"}],
        phoneNumbers=[{"value": "1", "type": "workMobile"}, {"value": "2", "type": "main"},
                      {"value": " ", "type": "home"}, {"value": "3", "type": "home"}])
    values = c.contact_values(person.resource)
    assert values["emails"] == (("a@example.org", "work"), ("b@example.org", "other"))
    assert values["phones"] == (("1", "mobile"), ("2", "other"), ("3", "home"))


@pytest.mark.parametrize("names,emails,expected", [
    ([{"givenName": "Nia", "familyName": "New"}], [], ("Nia", "New")),
    ([{"givenName": "Madonna"}], [], ("", "Madonna")),
    ([{"displayName": "Just Display"}], [], ("", "Just Display")),
    ([], [{"value": "x@example.org"}], ("", "x@example.org")),
    ([], [], ("", "(no name)")),
])
def test_a_person_without_a_family_name_still_gets_a_last_name(names, emails, expected):
    values = c.contact_values({"names": names, "emailAddresses": emails})
    assert (values["first_name"], values["last_name"]) == expected


def test_a_birthday_without_a_year_or_an_impossible_date_is_left_empty():
    assert c.contact_values({"birthdays": [{"date": {"month": 4, "day": 2}}]})["birthday"] \
        is None
    assert c.contact_values({"birthdays": [{"date": {"year": 2001, "month": 2, "day": 30}}]}
                            )["birthday"] is None


def test_updates_keep_what_google_has_and_the_crm_does_not_show():
    current = {"names": [{"givenName": "Lea", "familyName": "Old", "middleName": "M",
                          "displayName": "Lea M Old", "metadata": {"primary": True}}],
               "organizations": [{"name": "Acme", "title": "CTO", "department": "Sales",
                                  "metadata": {"primary": True}},
                                 {"name": "Side Gig", "title": "Owner"}],
               "addresses": [{"city": "Berlin", "poBox": "PO 7", "formattedValue": "x"},
                             {"city": "Lisbon", "type": "home"}]}
    lea = contact(last_name="Lopez", organization="Acme Europe", city="Munich")
    body = c.person_body(lea, ("name", "organization", "address"), current)
    assert body["names"] == [{"givenName": "Lea", "familyName": "Lopez", "middleName": "M"}]
    assert body["organizations"] == [
        {"name": "Acme Europe", "title": "CTO", "department": "Sales"},
        {"name": "Side Gig", "title": "Owner"}]
    assert body["addresses"][0]["poBox"] == "PO 7" and body["addresses"][0]["city"] == "Munich"
    assert "formattedValue" not in body["addresses"][0]
    assert body["addresses"][1] == {"city": "Lisbon", "type": "home"}
    # an emptied organization in the CRM leaves Google's second one
    body = c.person_body(contact(organization="", job_title=""), ("organization",), current)
    assert body["organizations"] == [{"name": "Side Gig", "title": "Owner"}]


def test_the_update_mask_names_only_the_groups_sent():
    assert c.fields_of(["notes", "name"]) == ("names", "biographies")
    assert c.fields_of(c.GROUPS) == ("names", "emailAddresses", "phoneNumbers",
                                     "organizations", "addresses", "birthdays", "biographies")


def test_memberships_by_resource_name_or_group_id():
    resource = {"memberships": [
        {"contactGroupMembership": {"contactGroupResourceName": GROUP}},
        {"contactGroupMembership": {"contactGroupId": "friends"}}, {}]}
    assert c.groups_of(resource) == {GROUP, OTHER_GROUP}


# -- export -------------------------------------------------------------------------------------

def test_a_tagged_contact_becomes_a_person_in_the_label():
    lea, untagged = contact(1), contact(2, tagged=False)
    [action] = c.plan_export(settings(), [lea, untagged], [])
    assert action.kind == c.CREATE_PERSON and action.contact_id == 1
    assert action.body["memberships"][0]["contactGroupMembership"][
        "contactGroupResourceName"] == GROUP
    assert action.base == m.with_base_version(c.crm_state(lea))
    assert action.owner == c.OWNER_CRM


def test_a_tagged_contact_already_in_google_is_linked_and_labelled_not_created_again():
    lea = contact(emails=(("private@lea.example", "home"), ("Lea@Acme.example", "work")))
    existing = person_of(lea, resource_name="people/old", groups=())
    plan = c.plan_export(settings(), [lea], [], persons_by_email={"lea@acme.example": existing})
    assert c.CREATE_PERSON not in kinds(plan)
    assert kinds(plan)[:2] == [c.LINK, c.ADD_TO_LABEL]
    assert only(plan, c.LINK).resource_name == "people/old"
    # already in the label: just linked
    labelled = person_of(lea, resource_name="people/old")
    plan = c.plan_export(settings(), [lea], [], persons_by_email={"lea@acme.example": labelled})
    assert c.ADD_TO_LABEL not in kinds(plan) and c.CREATE_PERSON not in kinds(plan)


def test_linking_an_existing_person_merges_what_differs_crm_first():
    lea = contact(notes="CRM notes")
    existing = person_of(lea, resource_name="people/old", groups=(),
                         biographies=[{"value": "Google notes"}])
    plan = c.plan_export(settings(), [lea], [], persons_by_email={"lea1@acme.example": existing})
    update = only(plan, c.UPDATE_PERSON)
    assert update.fields == ("biographies",)
    assert update.body["biographies"][0]["value"] == "CRM notes"
    assert update.etag == existing.etag


def test_an_unchanged_contact_sends_nothing():
    lea = contact()
    assert c.plan_export(settings(), [lea], [link_of(lea)]) == []


def test_a_crm_edit_sends_only_the_changed_groups_with_the_etag_it_read():
    lea = contact()
    link = link_of(lea, etag="%read")
    now = edited(lea, job_title="CEO", notes="Promoted")
    [action] = c.plan_export(settings(), [now], [link])
    assert action.kind == c.UPDATE_PERSON
    assert action.fields == ("organizations", "biographies")
    assert set(action.body) == {"organizations", "biographies"}
    assert action.etag == "%read"
    assert action.base["organization"] == ["Acme", "CEO"]


def test_an_edit_back_to_what_google_has_only_rebases():
    lea = contact()
    [action] = c.plan_export(settings(), [edited(lea)], [link_of(lea)])
    assert action.kind == c.REBASE and action.synced_version == 2


def test_export_off_sends_no_update():
    lea = contact()
    plan = c.plan_export(settings(export_enabled=False), [edited(lea, notes="x")],
                         [link_of(lea)])
    assert kinds(plan) == [c.REBASE]


@pytest.mark.parametrize("change,reason", [({"tagged": False}, "tag removed"),
                                           ({"visible": False}, "no longer visible")])
def test_a_contact_untagged_or_no_longer_visible_leaves_the_label(change, reason):
    lea = contact()
    [action] = c.plan_export(settings(), [edited(lea, **change)], [link_of(lea)])
    assert action.kind == c.REMOVE_FROM_LABEL and action.resource_name == "people/c1"
    assert reason in action.reason


def test_an_untagged_contact_never_creates_a_person():
    lea = contact(tagged=False)
    assert c.plan_export(settings(), [lea], [],
                         persons_by_email={"lea1@acme.example": person_of(lea)}) == []


@pytest.mark.parametrize("owner,expected", [(c.OWNER_CRM, c.DELETE_PERSON),
                                            (c.OWNER_GOOGLE, c.REMOVE_FROM_LABEL)])
def test_a_crm_delete_deletes_only_people_the_crm_made(owner, expected):
    lea = contact()
    link = link_of(lea, owner=owner, contact_id=None)
    [action] = c.plan_export(settings(), [], [link])
    assert action.kind == expected and action.resource_name == "people/c1"


def test_deleted_in_google_then_edited_again_in_the_crm_goes_back_as_a_new_person():
    lea = contact()
    detached = link_of(lea, state=c.LINK_DETACHED)
    assert c.plan_export(settings(), [lea], [detached]) == []  # kept, not resent
    plan = c.plan_export(settings(), [edited(lea, notes="again")], [detached])
    assert kinds(plan) == [c.UNLINK, c.CREATE_PERSON]


# -- import -------------------------------------------------------------------------------------

def test_a_person_in_the_label_becomes_a_tagged_contact():
    nia = google_person()
    [action] = c.plan_import(settings(), [nia, google_person("people/out", groups=())], [], [])
    assert action.kind == c.CREATE_CONTACT and action.resource_name == "people/g1"
    assert action.values["last_name"] == "New"
    assert action.values["emails"] == (("nia@example.org", "home"),)
    assert action.base == m.with_base_version(c.google_state(nia))
    assert action.owner == c.OWNER_GOOGLE


def test_a_new_person_matches_a_crm_contact_by_any_of_its_addresses():
    kim = contact(7, emails=(("kim@work.example", "work"), ("kim@home.example", "home")))
    person = google_person(emailAddresses=[{"value": "KIM@home.example"}])
    plan = c.plan_import(settings(), [person], [], [kim],
                         contacts_by_email={"kim@work.example": kim, "kim@home.example": kim})
    assert c.CREATE_CONTACT not in kinds(plan)
    link = only(plan, c.LINK)
    assert (link.contact_id, link.resource_name, link.owner) == (7, "people/g1",
                                                                 c.OWNER_GOOGLE)


def test_two_people_with_the_same_address_do_not_share_one_contact():
    kim = contact(7, emails=(("kim@example.org", "work"),))
    a = google_person("people/a", emailAddresses=[{"value": "kim@example.org"}])
    b = google_person("people/b", emailAddresses=[{"value": "kim@example.org"}])
    plan = c.plan_import(settings(), [a, b], [], [kim],
                         contacts_by_email={"kim@example.org": kim})
    assert [a.kind for a in plan if a.kind in (c.LINK, c.CREATE_CONTACT)] == [
        c.LINK, c.CREATE_CONTACT]
    # a contact another link already holds is not matched either
    other = link_of(kim, resource_name="people/linked")
    plan = c.plan_import(settings(), [b], [other], [kim],
                         contacts_by_email={"kim@example.org": kim})
    assert kinds(plan) == [c.CREATE_CONTACT]


def test_the_same_etag_means_nothing_to_do():
    lea = contact()
    person = person_of(lea, etag="%e1")
    assert c.plan_import(settings(), [person], [link_of(lea, etag="%e1")], [lea]) == []


def test_a_google_edit_updates_only_its_groups_in_the_crm():
    lea = contact()
    person = person_of(lea, phoneNumbers=[{"value": "+1 555", "type": "home"}])
    plan = c.plan_import(settings(), [person], [link_of(lea)], [lea])
    update = only(plan, c.UPDATE_CONTACT)
    assert update.groups == ("phones",)
    assert update.values["phones"] == (("+1 555", "home"),)
    assert c.UPDATE_PERSON not in kinds(plan)


def test_import_off_takes_nothing_from_google():
    lea = contact()
    person = person_of(lea, biographies=[{"value": "Google"}])
    plan = c.plan_import(settings(import_enabled=False), [person], [link_of(lea)], [lea])
    assert c.UPDATE_CONTACT not in kinds(plan)


def test_taken_out_of_the_label_in_google_the_contact_loses_the_tag():
    lea = contact()
    person = person_of(lea, groups=(OTHER_GROUP,))
    [action] = c.plan_import(settings(), [person], [link_of(lea)], [lea])
    assert action.kind == c.UNTAG_CONTACT and action.contact_id == 1


def test_a_person_outside_the_label_with_no_link_is_ignored():
    assert c.plan_import(settings(), [google_person(groups=(OTHER_GROUP,))], [], []) == []


@pytest.mark.parametrize("delete_in_crm", [False, True])
def test_a_delete_in_google_follows_the_users_choice(delete_in_crm):
    lea = contact()
    gone = c.PersonSnapshot.from_resource({"resourceName": "people/c1", "etag": "%x",
                                           "metadata": {"deleted": True}})
    [action] = c.plan_import(settings(delete_in_crm_on_google_delete=delete_in_crm),
                             [gone], [link_of(lea)], [lea])
    if delete_in_crm:
        assert action.kind == c.DELETE_CONTACT and action.contact_id == 1
    else:
        # kept in the CRM, detached at its current version (not resent unless edited)
        assert action.kind == c.UNLINK and action.synced_version == lea.version


def test_a_deleted_person_nobody_linked_is_ignored():
    gone = c.PersonSnapshot.from_resource({"resourceName": "people/zz", "etag": "%x",
                                           "metadata": {"deleted": True}})
    assert c.plan_import(settings(), [gone], [], []) == []


def test_a_full_listing_treats_missing_linked_people_as_deleted_in_google():
    lea, kim = contact(1), contact(2)
    links = [link_of(lea), link_of(kim, resource_name="people/c2")]
    plan = c.plan_import(settings(), [person_of(lea, etag="%e1")], links, [lea, kim],
                         full_sync=True)
    [action] = plan
    assert action.kind == c.UNLINK and action.contact_id == 2
    assert "missing from a full listing" in action.reason
    # an incremental listing says nothing about people it did not return
    assert c.plan_import(settings(), [person_of(lea, etag="%e1")], links, [lea, kim]) == []


def test_a_full_listing_relinks_rather_than_duplicates():
    lea = contact()
    person = person_of(lea, etag="%new")
    plan = c.plan_import(settings(), [person], [link_of(lea)], [lea], full_sync=True,
                         contacts_by_email={"lea1@acme.example": lea})
    assert c.CREATE_CONTACT not in kinds(plan) and c.LINK not in kinds(plan)
    assert kinds(plan) == [c.REBASE]


# -- both sides changed --------------------------------------------------------------------------

def test_different_fields_changed_on_each_side_are_both_kept():
    lea = contact()
    now = edited(lea, job_title="CEO")
    person = person_of(lea, phoneNumbers=[{"value": "+1 555", "type": "home"}])
    plan = c.plan_import(settings(), [person], [link_of(lea)], [now])
    assert kinds(plan) == [c.MERGED, c.UPDATE_CONTACT, c.UPDATE_PERSON]
    assert only(plan, c.UPDATE_CONTACT).groups == ("phones",)
    update = only(plan, c.UPDATE_PERSON)
    assert update.fields == ("organizations",) and update.etag == "%e2"
    assert update.base["phones"] == [["+1 555", "home"]]
    assert update.base["organization"] == ["Acme", "CEO"]


@pytest.mark.parametrize("rule,crm_time,winner", [
    (m.CONFLICT_CRM_WINS, datetime(2029, 1, 1, tzinfo=UTC), "crm"),
    (m.CONFLICT_GOOGLE_WINS, datetime(2031, 1, 1, tzinfo=UTC), "google"),
    (m.CONFLICT_MOST_RECENT, datetime(2031, 1, 1, tzinfo=UTC), "crm"),
    (m.CONFLICT_MOST_RECENT, datetime(2029, 1, 1, tzinfo=UTC), "google"),
])
def test_the_same_field_changed_on_both_sides_follows_the_rule(rule, crm_time, winner):
    lea = contact()
    now = edited(lea, organization="CRM Corp", modified_at=crm_time)
    person = person_of(lea, organizations=[{"name": "Google Corp", "title": "CTO"}],
                       updated="2030-01-01T09:00:00Z")
    plan = c.plan_import(settings(conflict_rule=rule), [person], [link_of(lea)], [now])
    conflict = only(plan, c.CONFLICT)
    assert conflict.conflict["both_changed"] == ["organization"]
    assert conflict.conflict["winner"] == winner
    assert conflict.conflict["crm"]["organization"][0] == "CRM Corp"
    assert conflict.conflict["google"]["organization"][0] == "Google Corp"
    if winner == "crm":
        assert kinds(plan) == [c.CONFLICT, c.UPDATE_PERSON]
        assert only(plan, c.UPDATE_PERSON).body["organizations"][0]["name"] == "CRM Corp"
    else:
        assert kinds(plan) == [c.CONFLICT, c.UPDATE_CONTACT]
        assert only(plan, c.UPDATE_CONTACT).values["organization"] == "Google Corp"


def test_both_sides_making_the_same_change_is_no_conflict():
    lea = contact()
    now = edited(lea, notes="Same")
    person = person_of(lea, biographies=[{"value": "Same"}])
    plan = c.plan_import(settings(), [person], [link_of(lea)], [now])
    assert kinds(plan) == [c.REBASE]
    assert plan[0].base["notes"] == "Same"


def test_a_link_without_a_usable_base_trusts_the_side_it_came_from():
    lea = contact()
    person = person_of(lea, biographies=[{"value": "Google"}])
    # the CRM made it and has not changed since the last sync: Google's edit comes in
    plan = c.plan_import(settings(), [person], [link_of(lea, base={"old": 1})], [lea])
    assert only(plan, c.UPDATE_CONTACT).groups == ("notes",)
    # changed on both sides with no base: the CRM made it, the CRM is the master
    plan = c.plan_import(settings(), [person], [link_of(lea, base={"old": 1})],
                         [edited(lea, city="Rome")])
    assert c.UPDATE_CONTACT not in kinds(plan)
    assert set(only(plan, c.UPDATE_PERSON).fields) == {"addresses", "biographies"}


def test_an_export_update_keeps_what_googles_current_copy_has():
    lea = contact()
    link = link_of(lea, etag="%e1")
    current = person_of(lea, etag="%e1", organizations=[
        {"name": "Acme", "title": "CTO", "department": "R&D"}, {"name": "Board"}])
    [action] = c.plan_export(settings(), [edited(lea, job_title="CEO")], [link],
                             persons={"people/c1": current})
    assert action.kind == c.UPDATE_PERSON and action.etag == "%e1"
    assert action.body["organizations"] == [
        {"name": "Acme", "title": "CEO", "department": "R&D"}, {"name": "Board"}]


def test_an_export_update_of_a_person_google_changed_since_is_a_merge():
    lea = contact()
    link = link_of(lea, etag="%e1")
    changed = person_of(lea, etag="%e9", biographies=[{"value": "Google note"}])
    plan = c.plan_export(settings(), [edited(lea, job_title="CEO")], [link],
                         persons={"people/c1": changed})
    assert kinds(plan) == [c.MERGED, c.UPDATE_CONTACT, c.UPDATE_PERSON]
    update = only(plan, c.UPDATE_PERSON)
    assert update.fields == ("organizations",) and update.etag == "%e9"
    assert only(plan, c.UPDATE_CONTACT).groups == ("notes",)


def test_a_crm_phone_or_email_edit_keeps_googles_own_types_for_entries_it_keeps():
    current = {"phoneNumbers": [{"value": "+49 1", "type": "pager",
                                 "formattedType": "Pager", "metadata": {"primary": True}},
                                {"value": "+49 2", "type": "workMobile"}],
               "emailAddresses": [{"value": "Lea@Acme.example", "type": "Sales desk"}]}
    lea = contact(phones=(("+49 1", "other"), ("+49 2", "mobile"), ("+49 3", "work")),
                  emails=(("lea@acme.example", "other"), ("new@acme.example", "work")))
    body = c.person_body(lea, ("phones", "emails"), current)
    assert body["phoneNumbers"] == [{"value": "+49 1", "type": "pager"},
                                    {"value": "+49 2", "type": "workMobile"},
                                    {"value": "+49 3", "type": "work"}]
    assert body["emailAddresses"] == [{"value": "lea@acme.example", "type": "Sales desk"},
                                      {"value": "new@acme.example", "type": "work"}]
    # a label changed in the CRM is the CRM's
    body = c.person_body(contact(phones=(("+49 1", "home"),)), ("phones",), current)
    assert body["phoneNumbers"] == [{"value": "+49 1", "type": "home"}]


# -- identity without links ---------------------------------------------------------------------

def test_a_new_person_carries_the_uid_of_the_crm_contact_that_made_it():
    body = c.person_body(contact(), c.GROUPS, group=GROUP)
    assert body["clientData"] == [{"key": c.CLIENT_KEY, "value": str(uuid.UUID(int=1))}]
    assert c.PersonSnapshot.from_resource({"resourceName": "people/x", **body}).contact_uid \
        == str(uuid.UUID(int=1))


def test_an_unlinked_contact_without_an_address_finds_the_person_it_made():
    lea = contact(emails=())
    made = person_of(lea, resource_name="people/made", clientData=[
        {"key": c.CLIENT_KEY, "value": str(lea.uid)}], notes="edited in Google since")
    plan = c.plan_export(settings(), [lea], [],
                         persons_by_identity={c.uid_key(lea.uid): made})
    assert kinds(plan)[0] == c.LINK and c.CREATE_PERSON not in kinds(plan)
    # and an import finds the contact the same way
    plan = c.plan_import(settings(), [made], [], [lea],
                         contacts_by_identity={c.uid_key(lea.uid): lea})
    assert kinds(plan)[0] == c.LINK and c.CREATE_CONTACT not in kinds(plan)


def test_an_unlinked_contact_with_every_field_equal_is_the_same_person_once():
    twin1, twin2 = contact(1, emails=()), contact(2, emails=(), uid=uuid.UUID(int=9))
    twin2 = c.ContactSnapshot(**{**twin1.__dict__, "id": 2, "uid": uuid.UUID(int=9)})
    person = person_of(twin1, resource_name="people/p")
    key = c.state_key(c.google_state(person))
    assert key == c.state_key(c.crm_state(twin1))
    plan = c.plan_export(settings(), [twin1, twin2], [], persons_by_identity={key: person})
    assert [a.kind for a in plan if a.kind in (c.LINK, c.CREATE_PERSON)] == [
        c.LINK, c.CREATE_PERSON]  # one person is one contact: the twin gets its own
    plan = c.plan_import(settings(), [person], [], [twin1],
                         contacts_by_identity={c.state_key(c.crm_state(twin1)): twin1})
    assert kinds(plan)[0] == c.LINK and c.CREATE_CONTACT not in kinds(plan)


def test_a_second_copy_the_crm_made_for_a_linked_contact_is_deleted_or_left_alone():
    lea = contact()
    copy = person_of(lea, resource_name="people/copy",
                     clientData=[{"key": c.CLIENT_KEY, "value": str(lea.uid)}])
    [action] = c.plan_import(settings(), [copy], [], [], linked_by_uid={str(lea.uid): lea})
    assert action.kind == c.DELETE_PERSON and action.resource_name == "people/copy"
    edited_copy = person_of(lea, resource_name="people/copy", biographies=[{"value": "x"}],
                            clientData=[{"key": c.CLIENT_KEY, "value": str(lea.uid)}])
    [action] = c.plan_import(settings(), [edited_copy], [], [],
                             linked_by_uid={str(lea.uid): lea})
    assert action.kind == c.SKIP


def test_a_crm_delete_of_a_person_missing_from_a_full_listing_just_forgets_the_link():
    lea = contact()
    tombstone = link_of(lea, contact_id=None)
    [action] = c.plan_import(settings(), [], [tombstone], [], full_sync=True)
    assert action.kind == c.UNLINK and action.link_id == tombstone.id
    assert c.plan_import(settings(), [], [tombstone], []) == []  # incremental: no news
