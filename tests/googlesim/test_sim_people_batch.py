"""People v1 batch contact methods, contact group membership and sync-token expiry, through
google-api-python-client's people resource."""
import json

import pytest
from googleapiclient.errors import HttpError

from googlesim.testing import TEST_USER as USER


def person(given, email=None, groups=()):
    body = {"names": [{"givenName": given, "familyName": "Batch"}]}
    if email:
        body["emailAddresses"] = [{"value": email}]
    if groups:
        body["memberships"] = [{"contactGroupMembership": {"contactGroupResourceName": g}}
                               for g in groups]
    return body


def group(people, name):
    return people.contactGroups().create(body={"contactGroup": {"name": name}}) \
        .execute()["resourceName"]


def sync_all(people, **kw):
    items, token = [], None
    while True:
        resp = people.people().connections().list(resourceName="people/me", pageToken=token,
                                                  **kw).execute()
        items += resp.get("connections", [])
        token = resp.get("nextPageToken")
        if not token:
            return items, resp.get("nextSyncToken")


def members(people, group_name, n=50):
    got = people.contactGroups().get(resourceName=group_name, maxMembers=n).execute()
    return got.get("memberCount", 0), sorted(got.get("memberResourceNames", []))


def error(exc):
    err = json.loads(exc.value.content)["error"]
    return exc.value.resp.status, err["status"]


def test_batch_create_answers_person_responses_and_joins_groups(ctl, people):
    vip = group(people, "VIP")
    resp = people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": person("Ann", "ann@x.org", groups=[vip])},
                     {"contactPerson": person("Ben")}],
        "readMask": "names,emailAddresses,memberships"}).execute()
    created = resp["createdPeople"]
    assert [c["person"]["names"][0]["displayName"] for c in created] == ["Ann Batch",
                                                                           "Ben Batch"]
    for c in created:
        assert c["httpStatusCode"] == 200 and c["status"] == {}
        assert c["requestedResourceName"] == c["person"]["resourceName"]
        assert c["person"]["etag"]
    ann = created[0]["person"]
    assert {m["contactGroupMembership"]["contactGroupResourceName"]
            for m in ann["memberships"]} == {vip, "contactGroups/myContacts"}
    assert members(people, vip) == (1, [ann["resourceName"]])
    assert members(people, "contactGroups/myContacts")[0] == 2
    assert len(ctl.contacts(USER)) == 2
    # without a readMask nothing is read back
    assert people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": person("Cy")}]}).execute() == {}


def test_batch_create_is_all_or_nothing_and_limited_to_200(ctl, people):
    with pytest.raises(HttpError) as exc:
        people.people().batchCreateContacts(body={
            "contacts": [{"contactPerson": person("Ok")},
                         {"contactPerson": person("Bad", groups=["contactGroups/nosuch"])}],
            "readMask": "names"}).execute()
    assert exc.value.resp.status in (400, 404)
    assert ctl.contacts(USER) == []
    with pytest.raises(HttpError) as exc:
        people.people().batchCreateContacts(body={
            "contacts": [{"contactPerson": person(f"P{i}")} for i in range(201)],
            "readMask": "names"}).execute()
    assert error(exc) == (400, "INVALID_ARGUMENT")
    for bad in ({}, {"contacts": []}, {"contacts": [{"person": {}}]},
                {"contacts": [{"contactPerson": {"shoeSize": [{}]}}]}):
        with pytest.raises(HttpError) as exc:
            people.people().batchCreateContacts(body=bad).execute()
        assert exc.value.resp.status == 400
    made = people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": person(f"P{i}")} for i in range(200)],
        "readMask": "names"}).execute()["createdPeople"]
    assert len(made) == 200 and len(ctl.contacts(USER)) == 200


def test_batch_update_with_etags_masks_and_memberships(ctl, people):
    vip, lost = group(people, "VIP"), group(people, "Lost")
    made = [c["person"] for c in people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": person(n, groups=[lost])} for n in ("Ann", "Ben")],
        "readMask": "names,memberships"}).execute()["createdPeople"]]
    _, sync = sync_all(people, personFields="names", requestSyncToken=True)
    changes = {p["resourceName"]: {
        "etag": p["etag"], "names": [{"givenName": p["names"][0]["givenName"] + "2"}],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": g}}
                        for g in ("contactGroups/myContacts", vip)]} for p in made}
    resp = people.people().batchUpdateContacts(body={
        "contacts": changes, "updateMask": "names,memberships",
        "readMask": "names,memberships"}).execute()
    result = resp["updateResult"]
    assert set(result) == set(changes)
    for name, r in result.items():
        assert r["requestedResourceName"] == name and r["httpStatusCode"] == 200
        assert r["person"]["etag"] != changes[name]["etag"]
    assert sorted(r["person"]["names"][0]["givenName"] for r in result.values()) == \
        ["Ann2", "Ben2"]
    assert members(people, vip) == (2, sorted(changes))
    assert members(people, lost) == (0, [])
    seen, _ = sync_all(people, personFields="names", syncToken=sync)
    assert sorted(p["resourceName"] for p in seen) == sorted(changes)


def test_batch_update_stale_etag_fails_the_whole_call(ctl, people):
    made = [c["person"] for c in people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": person(n)} for n in ("Ann", "Ben")],
        "readMask": "names"}).execute()["createdPeople"]]
    ctl.patch_contact(USER, made[1]["resourceName"], {"nicknames": [{"value": "B"}]})
    with pytest.raises(HttpError) as exc:
        people.people().batchUpdateContacts(body={
            "contacts": {p["resourceName"]: {"etag": p["etag"],
                                             "names": [{"givenName": "Changed"}]}
                         for p in made},
            "updateMask": "names", "readMask": "names"}).execute()
    assert error(exc) == (400, "FAILED_PRECONDITION")
    assert "etag" in json.loads(exc.value.content)["error"]["message"]
    names = sorted(c["names"][0]["givenName"] for c in ctl.contacts(USER))
    assert names == ["Ann", "Ben"]  # neither was updated
    with pytest.raises(HttpError) as exc:  # the mask is required
        people.people().batchUpdateContacts(body={
            "contacts": {made[0]["resourceName"]: {"etag": made[0]["etag"]}}}).execute()
    assert exc.value.resp.status == 400
    with pytest.raises(HttpError) as exc:
        people.people().batchUpdateContacts(body={
            "contacts": {f"people/c{i}": {"etag": "x"} for i in range(201)},
            "updateMask": "names"}).execute()
    assert error(exc) == (400, "INVALID_ARGUMENT")
    done = people.people().batchUpdateContacts(body={
        "contacts": {made[0]["resourceName"]: {"etag": made[0]["etag"],
                                               "names": [{"givenName": "Fine"}]}},
        "updateMask": "names"}).execute()
    assert done == {}  # no readMask: nothing read back


def test_batch_delete_shows_deletions_in_incremental_sync(ctl, people):
    made = [c["person"]["resourceName"] for c in people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": person(n)} for n in ("Ann", "Ben", "Cy")],
        "readMask": "names"}).execute()["createdPeople"]]
    _, sync = sync_all(people, personFields="names", requestSyncToken=True)
    with pytest.raises(HttpError) as exc:  # an unknown name: nothing is deleted
        people.people().batchDeleteContacts(body={
            "resourceNames": [made[0], "people/c404"]}).execute()
    assert exc.value.resp.status == 404
    assert people.people().batchDeleteContacts(body={
        "resourceNames": made[:2]}).execute() == {}
    assert [c["resourceName"] for c in ctl.contacts(USER)] == [made[2]]
    seen, _ = sync_all(people, personFields="names", syncToken=sync)
    assert sorted((p["resourceName"], p.get("metadata", {}).get("deleted")) for p in seen) \
        == sorted((m, True) for m in made[:2])
    with pytest.raises(HttpError) as exc:
        people.people().batchDeleteContacts(body={
            "resourceNames": [f"people/c{i}" for i in range(501)]}).execute()
    assert error(exc) == (400, "INVALID_ARGUMENT")
    with pytest.raises(HttpError) as exc:
        people.people().batchDeleteContacts(body={"resourceNames": []}).execute()
    assert exc.value.resp.status == 400


def test_deleting_a_group_without_its_contacts_only_drops_the_membership(ctl, people):
    vip = group(people, "VIP")
    made = [c["person"]["resourceName"] for c in people.people().batchCreateContacts(body={
        "contacts": [{"contactPerson": person(n, groups=[vip])} for n in ("Ann", "Ben")],
        "readMask": "names"}).execute()["createdPeople"]]
    outsider = people.people().createContact(body=person("Outsider")).execute()
    _, sync = sync_all(people, personFields="names", requestSyncToken=True)
    people.contactGroups().delete(resourceName=vip, deleteContacts=False).execute()
    assert len(ctl.contacts(USER)) == 3
    seen, sync = sync_all(people, personFields="memberships", syncToken=sync)
    assert sorted(p["resourceName"] for p in seen) == sorted(made)
    for p in seen:
        assert [m["contactGroupMembership"]["contactGroupResourceName"]
                for m in p["memberships"]] == ["contactGroups/myContacts"]
    assert members(people, "contactGroups/myContacts")[0] == 3
    doomed = group(people, "Doomed")
    people.contactGroups().members().modify(resourceName=doomed, body={
        "resourceNamesToAdd": made[:1]}).execute()
    people.contactGroups().delete(resourceName=doomed, deleteContacts=True).execute()
    assert sorted(c["resourceName"] for c in ctl.contacts(USER)) == \
        sorted([made[1], outsider["resourceName"]])


def test_a_contact_cannot_leave_its_last_group(ctl, people):
    p = people.people().createContact(body=person("Solo")).execute()
    resp = people.contactGroups().members().modify(
        resourceName="contactGroups/myContacts",
        body={"resourceNamesToRemove": [p["resourceName"]]}).execute()
    assert resp == {"canNotRemoveLastContactGroupResourceNames": [p["resourceName"]]}
    assert members(people, "contactGroups/myContacts") == (1, [p["resourceName"]])


def test_people_and_calendar_sync_tokens_expire_separately(ctl, people, cal):
    people.people().createContact(body=person("Ann")).execute()
    _, psync = sync_all(people, personFields="names", requestSyncToken=True)
    csync = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    ctl.expire(people_sync_tokens=True)
    with pytest.raises(HttpError) as exc:
        sync_all(people, personFields="names", syncToken=psync)
    details = json.loads(exc.value.content)["error"]["details"]
    assert [d["reason"] for d in details] == ["EXPIRED_SYNC_TOKEN"]
    assert cal.events().list(calendarId="primary", syncToken=csync).execute()["items"] == []
    _, psync = sync_all(people, personFields="names", requestSyncToken=True)
    ctl.expire(calendar_sync_tokens=True)
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", syncToken=csync).execute()
    assert exc.value.resp.status == 410
    assert sync_all(people, personFields="names", syncToken=psync)[0] == []
