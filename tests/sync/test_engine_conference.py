"""Video conferences in the pure engine: asked for on insert, a field group of their own in
patches and merges, never dropped by a patch of other fields."""
from dataclasses import replace

from portal.sync.calendar import engine as e

from tests.sync.test_engine import activity, event_for, kinds, link, mapping

MEET = {"conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
        "conferenceId": "abc-defg-hij",
        "entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/abc"}]}


def synced(a, **base_changes):
    base = dict(e.crm_state(a), v=e.BASE_VERSION)
    base.update(base_changes)
    return link(a, synced_version=a.version, etag='"1"', base_fields=base)


def test_a_ticked_activity_is_inserted_asking_for_a_meet_of_its_own():
    first, second = activity(1, conference=True), activity(2, conference=True)
    [one, two] = e.plan_export(mapping(), [first, second], [])
    requests = [a.body["conferenceData"]["createRequest"] for a in (one, two)]
    assert all(r["conferenceSolutionKey"] == {"type": "hangoutsMeet"} for r in requests)
    assert requests[0]["requestId"] != requests[1]["requestId"]
    assert "conferenceData" not in e.plan_export(mapping(), [activity(3)], [])[0].body


def test_ticking_later_patches_the_request_and_unticking_removes_it():
    before = activity(version=2)
    ticked = replace(before, version=3, conference=True)
    [patch] = e.plan_export(mapping(), [ticked], [synced(before)])
    assert patch.kind == e.PATCH_EVENT and set(patch.body) == {"conferenceData"}
    assert patch.body["conferenceData"]["createRequest"]["requestId"]
    with_meet = replace(before, conference=True, conference_url="https://meet.google.com/abc")
    unticked = replace(with_meet, version=3, conference=False, conference_url="")
    [patch] = e.plan_export(mapping(), [unticked], [synced(with_meet)])
    assert patch.body == {"conferenceData": None}


def test_other_edits_never_send_conference_data():
    with_meet = activity(version=2, conference=True,
                         conference_url="https://meet.google.com/abc")
    edited = replace(with_meet, version=3, subject="Renamed")
    [patch] = e.plan_export(mapping(), [edited], [synced(with_meet)])
    assert patch.body == {"summary": "Renamed"}


def test_a_conference_added_in_google_is_imported_beside_a_crm_edit_even_on_old_links():
    a = activity(version=2)
    old_link = synced(a)
    old_link = replace(old_link, base_fields={k: v for k, v in old_link.base_fields.items()
                                              if k != "conference"})  # before conferences
    crm = replace(a, version=3, subject="CRM title")
    google = event_for(a, conferenceData=MEET, hangoutLink="https://meet.google.com/abc")
    actions = e.plan_import(mapping(), [google], [old_link], [crm])
    assert kinds(actions) == [e.MERGED, e.UPDATE_ACTIVITY, e.PATCH_EVENT]
    update, patch = actions[1], actions[2]
    assert update.groups == ("conference",)
    assert (update.fields["conference"], update.fields["conference_url"],
            update.fields["conference_name"]) == (True, "https://meet.google.com/abc",
                                                  "Google Meet")
    assert patch.body == {"summary": "CRM title"}


def test_any_conference_solution_is_read_with_its_join_link():
    zoom = {"conferenceSolution": {"key": {"type": "addOn"}, "name": "Zoom Meeting"},
            "entryPoints": [{"entryPointType": "phone", "uri": "tel:+1-555"},
                            {"entryPointType": "video", "uri": "https://zoom.example/j/1"}]}
    fields = e.activity_fields(event_for(activity(), conferenceData=zoom))
    assert (fields["conference"], fields["conference_url"], fields["conference_name"]) == (
        True, "https://zoom.example/j/1", "Zoom Meeting")
    none = e.activity_fields(event_for(activity()))
    assert (none["conference"], none["conference_url"]) == (False, "")
