"""People v1 contacts and contact groups through google-api-python-client."""
import json

import pytest
from googleapiclient.errors import HttpError

from googlesim.testing import SCOPE_CONTACTS_READONLY, TEST_USER as USER


def make(people, given, family="Smith", email=None, **extra):
    body = {"names": [{"givenName": given, "familyName": family}], **extra}
    if email:
        body["emailAddresses"] = [{"value": email}]
    return people.people().createContact(body=body, personFields="names,emailAddresses,"
                                                                  "memberships").execute()


def all_connections(people, **kw):
    items, token = [], None
    while True:
        resp = people.people().connections().list(resourceName="people/me",
                                                  pageToken=token, **kw).execute()
        items += resp.get("connections", [])
        token = resp.get("nextPageToken")
        if not token:
            return items, resp


def test_create_get_and_derived_fields(ctl, people):
    p = make(people, "Grace", "Hopper", "grace@example.com")
    assert p["resourceName"].startswith("people/c") and p["etag"]
    assert p["names"][0]["displayName"] == "Grace Hopper"
    assert p["memberships"][0]["contactGroupMembership"]["contactGroupId"] == "myContacts"
    got = people.people().get(resourceName=p["resourceName"],
                              personFields="names,emailAddresses").execute()
    assert got["emailAddresses"][0]["value"] == "grace@example.com"
    assert "memberships" not in got  # only the fields asked for
    assert [c["resourceName"] for c in ctl.contacts(USER)] == [p["resourceName"]]


def test_person_fields_are_required_and_validated(ctl, people):
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(resourceName="people/me").execute()
    assert exc.value.resp.status == 400 and "personFields" in str(exc.value)
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(resourceName="people/me",
                                           personFields="names,shoeSize").execute()
    assert exc.value.resp.status == 400
    with pytest.raises(HttpError) as exc:
        people.people().createContact(body={"shoeSize": [{"value": 9}]}).execute()
    assert exc.value.resp.status == 400


def test_connections_page_and_sync_with_deletions(ctl, people):
    made = [make(people, f"P{i}") for i in range(5)]
    items, last = all_connections(people, personFields="names", pageSize=2,
                                  requestSyncToken=True)
    assert len(items) == 5 and last["totalPeople"] == 5
    sync = last["nextSyncToken"]
    people.people().deleteContact(resourceName=made[0]["resourceName"]).execute()
    ctl.patch_contact(USER, made[1]["resourceName"], {"names": [{"givenName": "Renamed"}]})
    changes, last = all_connections(people, personFields="names", syncToken=sync)
    by_name = {c["resourceName"]: c for c in changes}
    assert set(by_name) == {made[0]["resourceName"], made[1]["resourceName"]}
    assert by_name[made[0]["resourceName"]]["metadata"]["deleted"] is True
    assert by_name[made[1]["resourceName"]]["names"][0]["givenName"] == "Renamed"
    again, _ = all_connections(people, personFields="names", syncToken=last["nextSyncToken"])
    assert again == []


def test_expired_sync_token_is_400_with_expired_sync_token_reason(ctl, people):
    make(people, "A")
    _, last = all_connections(people, personFields="names", requestSyncToken=True)
    ctl.expire(sync_tokens=True)
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(resourceName="people/me", personFields="names",
                                           syncToken=last["nextSyncToken"]).execute()
    assert exc.value.resp.status == 400
    err = json.loads(exc.value.content)["error"]
    assert err["details"][0]["reason"] == "EXPIRED_SYNC_TOKEN"
    assert exc.value.error_details[0]["reason"] == "EXPIRED_SYNC_TOKEN"


def test_update_needs_mask_and_current_etag(ctl, people):
    p = make(people, "Ada", "Byron", "ada@example.org")
    with pytest.raises(HttpError) as exc:
        people.people().updateContact(resourceName=p["resourceName"],
                                      body={"etag": p["etag"]}).execute()
    assert exc.value.resp.status == 400 and "updatePersonFields" in str(exc.value)
    with pytest.raises(HttpError) as exc:
        people.people().updateContact(resourceName=p["resourceName"],
                                      updatePersonFields="names",
                                      body={"names": [{"givenName": "X"}]}).execute()
    assert exc.value.resp.status == 400
    updated = people.people().updateContact(
        resourceName=p["resourceName"], updatePersonFields="names,phoneNumbers",
        personFields="names,emailAddresses,phoneNumbers",
        body={"etag": p["etag"], "names": [{"givenName": "Ada", "familyName": "Lovelace"}],
              "phoneNumbers": [{"value": "+44 1"}]}).execute()
    assert updated["names"][0]["displayName"] == "Ada Lovelace"
    assert updated["emailAddresses"][0]["value"] == "ada@example.org"  # not in the mask
    assert updated["etag"] != p["etag"]
    via_source = people.people().updateContact(
        resourceName=p["resourceName"], updatePersonFields="biographies",
        personFields="biographies,metadata",
        body={"metadata": {"sources": [{"type": "CONTACT", "etag": updated["etag"]}]},
              "biographies": [{"value": "Analyst"}]}).execute()
    assert via_source["biographies"][0]["value"] == "Analyst"
    assert via_source["metadata"]["sources"][0]["etag"] == via_source["etag"]
    with pytest.raises(HttpError) as exc:  # stale etag
        people.people().updateContact(resourceName=p["resourceName"],
                                      updatePersonFields="names",
                                      body={"etag": p["etag"], "names": []}).execute()
    assert exc.value.resp.status == 400 and "etag" in str(exc.value)


def test_delete_contact_and_unknown_person_404(ctl, people):
    p = make(people, "Temp")
    assert people.people().deleteContact(resourceName=p["resourceName"]).execute() == {}
    for call in (people.people().get(resourceName=p["resourceName"], personFields="names"),
                 people.people().deleteContact(resourceName=p["resourceName"]),
                 people.people().get(resourceName="people/c123", personFields="names")):
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert exc.value.resp.status == 404
    assert ctl.contacts(USER) == []
    assert ctl.contacts(USER, include_deleted=True)[0]["metadata"]["deleted"] is True


def test_contact_groups_and_memberships(ctl, people):
    a, b = make(people, "A"), make(people, "B")
    group = people.contactGroups().create(body={"contactGroup": {"name": "Customers"}}) \
        .execute()
    assert group["resourceName"].startswith("contactGroups/") and group["name"] == "Customers"
    gid = group["resourceName"].split("/")[1]
    with pytest.raises(HttpError) as exc:
        people.contactGroups().create(body={"contactGroup": {"name": "Customers"}}).execute()
    assert exc.value.resp.status == 409
    people.contactGroups().members().modify(
        resourceName=group["resourceName"],
        body={"resourceNamesToAdd": [a["resourceName"], b["resourceName"], "people/c999"]}) \
        .execute()
    got = people.contactGroups().get(resourceName=group["resourceName"], maxMembers=10) \
        .execute()
    assert got["memberCount"] == 2
    assert set(got["memberResourceNames"]) == {a["resourceName"], b["resourceName"]}
    person = people.people().get(resourceName=a["resourceName"],
                                 personFields="memberships").execute()
    assert gid in [m["contactGroupMembership"]["contactGroupId"] for m in person["memberships"]]
    people.contactGroups().members().modify(
        resourceName=group["resourceName"],
        body={"resourceNamesToRemove": [b["resourceName"]]}).execute()
    names = [g["name"] for g in people.contactGroups().list().execute()["contactGroups"]]
    assert "Customers" in names and "My Contacts" in names
    people.contactGroups().delete(resourceName=group["resourceName"]).execute()
    with pytest.raises(HttpError) as exc:
        people.contactGroups().get(resourceName=group["resourceName"]).execute()
    assert exc.value.resp.status == 404
    person = people.people().get(resourceName=a["resourceName"],
                                 personFields="memberships").execute()
    assert gid not in [m["contactGroupMembership"]["contactGroupId"]
                       for m in person["memberships"]]


def test_readonly_scope_reads_but_cannot_write(ctl, make_creds, people_for):
    ro = people_for(make_creds(scopes=(SCOPE_CONTACTS_READONLY,)))
    assert ro.people().connections().list(resourceName="people/me",
                                          personFields="names").execute().get(
        "connections", []) == []
    with pytest.raises(HttpError) as exc:
        ro.people().createContact(body={"names": [{"givenName": "x"}]}).execute()
    assert exc.value.resp.status == 403


def test_people_me_profile(ctl, people):
    me = people.people().get(resourceName="people/me", personFields="names,emailAddresses") \
        .execute()
    assert me["emailAddresses"][0]["value"] == USER


def test_people_bad_input_is_400_in_the_envelope_never_a_crash(ctl, people, make_creds, base):
    import requests
    from googlesim.testing import SCOPE_CONTACTS
    p = make(people, "Typed")
    for body in ({"names": [{"givenName": 5}]}, {"names": "Ada"}, {"names": [5]},
                 {"emailAddresses": [{"value": ["a@b.c"]}]}, {"etag": 5, "names": []},
                 {"memberships": [{"contactGroupMembership": 5}]},
                 {"memberships": [{"contactGroupMembership": {}}]}):
        with pytest.raises(HttpError) as exc:
            people.people().createContact(body=body).execute()
        assert exc.value.resp.status == 400, body
        assert json.loads(exc.value.content)["error"]["code"] == 400
    for body in ({"etag": p["etag"], "names": [{"familyName": {"x": 1}}]},
                 {"metadata": 5}, {"metadata": {"sources": "x"}}):
        with pytest.raises(HttpError) as exc:
            people.people().updateContact(resourceName=p["resourceName"],
                                          updatePersonFields="names", body=body).execute()
        assert exc.value.resp.status == 400, body
    s = requests.Session()
    s.trust_env = False
    headers = {"Authorization": "Bearer " + make_creds(scopes=(SCOPE_CONTACTS,)).token,
               "Content-Type": "application/json"}
    for url in ("/v1/people:createContact", "/v1/contactGroups"):
        r = s.post(base + url, data="{not json", headers=headers)
        assert r.status_code == 400
        assert r.json()["error"]["errors"][0]["reason"] == "parseError"
    for bad in (-1, 1001):
        with pytest.raises(HttpError) as exc:
            people.people().connections().list(resourceName="people/me", personFields="names",
                                               pageSize=bad).execute()
        assert exc.value.resp.status == 400
    with pytest.raises(HttpError) as exc:  # personFields is required on get too
        people.people().get(resourceName=p["resourceName"]).execute()
    assert exc.value.resp.status == 400 and "personFields" in str(exc.value)
    # nothing above changed the contact
    assert people.people().get(resourceName=p["resourceName"], personFields="names") \
        .execute()["etag"] == p["etag"]


def test_unknown_sync_token_is_expired_sync_token(ctl, people):
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(resourceName="people/me", personFields="names",
                                           syncToken="not-a-token").execute()
    assert exc.value.resp.status == 400
    assert exc.value.error_details[0]["reason"] == "EXPIRED_SYNC_TOKEN"


def test_update_contact_memberships_and_owner_side_group_changes_reach_sync(ctl, people):
    a = make(people, "Member")
    group = people.contactGroups().create(body={"contactGroup": {"name": "VIP"}}).execute()
    _, last = all_connections(people, personFields="names,memberships", requestSyncToken=True)
    updated = people.people().updateContact(
        resourceName=a["resourceName"], updatePersonFields="memberships",
        personFields="memberships",
        body={"etag": a["etag"], "memberships": [
            {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}},
            {"contactGroupMembership": {"contactGroupResourceName": group["resourceName"]}}]}) \
        .execute()
    ids = {m["contactGroupMembership"]["contactGroupId"] for m in updated["memberships"]}
    assert ids == {"myContacts", group["resourceName"].split("/")[1]}
    got = people.contactGroups().get(resourceName=group["resourceName"], maxMembers=5).execute()
    assert got["memberResourceNames"] == [a["resourceName"]]
    changes, _ = all_connections(people, personFields="memberships",
                                 syncToken=last["nextSyncToken"])
    assert [c["resourceName"] for c in changes] == [a["resourceName"]]
    with pytest.raises(HttpError) as exc:  # an unknown group
        people.people().updateContact(
            resourceName=a["resourceName"], updatePersonFields="memberships",
            body={"etag": updated["etag"], "memberships": [
                {"contactGroupMembership": {"contactGroupId": "nosuchgroup"}}]}).execute()
    assert exc.value.resp.status in (400, 404)
