"""Text end to end: unicode of every kind, empty and blank titles, multi-line locations and
descriptions, markup, long texts (googlesim, real client, RQ worker, the real forms)."""
from datetime import datetime

import pytest

from portal.sync.calendar.engine import NO_TITLE, google_event_id

from scenario_kit import UTC, activities, edit, fresh, submit_activity_form

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
UNICODE = {
    "subject": "Café ☕ — 会議 🚀 مرحبا Ωμέγα",
    "location": "Zürich, Bahnhofstraße 1 · 🏢",
    # combining accent, a ZWJ family emoji, right-to-left text, a tab and CJK
    "description": "e\u0301 👨\u200d👩\u200d👧 שלום\tend\n日本語のメモ\n\n— Ann",
}


def test_unicode_goes_out_and_comes_back_exactly_and_settles(connect_user, make_activity,
                                                             sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START, **UNICODE)
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))
    assert (event["summary"], event["location"], event["description"]) == (
        UNICODE["subject"], UNICODE["location"], UNICODE["description"])
    sim.patch_event(ann.email, ann.email, event["id"], {"summary": "Ωμέγα 🚀 (moved)"})
    sync(mapping)
    activity = fresh(meeting)
    assert activity.subject == "Ωμέγα 🚀 (moved)"
    assert activity.description == UNICODE["description"]
    sim.stats_reset()
    run = sync(mapping)
    assert (run.updated, run.created) == (0, 0) and sim.stats()["batch_parts"] == 0


def test_unicode_made_in_google_survives_a_form_edit(connect_user, sim, sync, browser):
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": UNICODE["subject"], "location": UNICODE["location"],
        "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    sync(mapping)
    [activity] = activities()
    assert activity.subject == UNICODE["subject"]
    response = submit_activity_form(browser(ann), activity.id, description="ok ✅")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert (event["summary"], event["location"], event["description"]) == (
        UNICODE["subject"], UNICODE["location"], "ok ✅")


def test_an_empty_title_from_google_never_comes_back_as_a_placeholder(
        connect_user, sim, sync, browser):
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    sync(mapping)
    [activity] = activities()
    assert activity.subject == NO_TITLE  # the CRM needs a subject to show
    edit(activity, location="Room 2")
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert event["location"] == "Room 2"
    assert event.get("summary", "") == ""
    # naming it in the CRM does reach Google
    response = submit_activity_form(browser(ann), activity.id, subject="Finally a name")
    assert response.status_code == 302
    sync(mapping)
    assert sim.get_event(ann.email, ann.email, made["id"])["summary"] == "Finally a name"


def test_a_multi_line_location_survives_a_crm_edit_of_another_field(connect_user, sim, sync):
    ann, mapping = connect_user()
    location = "Building A\nFloor 3, Room 301\nGate code 4711"
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Visit", "location": location,
        "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    sync(mapping)
    [activity] = activities()
    assert activity.location == location
    edit(activity, description="Ring twice")
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert (event["location"], event["description"]) == (location, "Ring twice")


@pytest.mark.parametrize("text", [
    "<b>bold</b> &amp; <script>alert('x')</script> \"quoted\" 'single'",
    "x" * 20000,
    "line 1\n\n\nline 4 \u2028 after a separator",
])
def test_markup_and_long_descriptions_from_google_stay_byte_for_byte(connect_user, sim,
                                                                     sync, text):
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Notes", "description": text,
        "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    sync(mapping)
    [activity] = activities()
    assert activity.description == text
    edit(activity, subject="Notes (read)")
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert (event["summary"], event["description"]) == ("Notes (read)", text)


def test_values_the_crm_cannot_show_survive_a_crm_edit(connect_user, sim, sync):
    """Tentative, confidential, a colour, free/busy, attachments and a Meet conference are
    Google's: a CRM edit of the title and place leaves them as they are."""
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "S", "status": "tentative", "visibility": "confidential", "colorId": "5",
        "transparency": "transparent",
        "attachments": [{"fileUrl": "https://example.org/a.pdf", "title": "a.pdf"}],
        "conferenceData": {"createRequest": {"requestId": "r1",
                                             "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
        "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    before = sim.get_event(ann.email, ann.email, made["id"])
    assert before.get("hangoutLink")
    sync(mapping)
    [a] = activities()
    edit(a, subject="S2", location="L")
    sync(mapping)
    ev = sim.get_event(ann.email, ann.email, made["id"])
    assert (ev["summary"], ev["location"]) == ("S2", "L")
    for key in ("status", "visibility", "colorId", "transparency", "attachments",
                "conferenceData", "hangoutLink"):
        assert ev.get(key) == before.get(key), key
