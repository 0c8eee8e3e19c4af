"""Google Meet and other video calls end to end (googlesim, real client, RQ worker, the real
forms): asked for from the CRM, imported from Google, kept through CRM edits."""
from datetime import datetime

from portal.sync.calendar.engine import google_event_id

from scenario_kit import UTC, activities, edit, fresh, submit_activity_form

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
ZOOM = {"conferenceSolution": {"key": {"type": "addOn"}, "name": "Zoom Meeting"},
        "conferenceId": "9911",
        "entryPoints": [{"entryPointType": "video", "uri": "https://zoom.example/j/9911"}]}


def test_ticking_meet_on_the_form_creates_one_and_the_link_shows(connect_user, make_activity,
                                                                 sim, sync, browser):
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START)
    client = browser(ann)
    response = submit_activity_form(client, meeting.id, conference="y")
    assert response.status_code == 302
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))
    assert event["hangoutLink"].startswith("https://meet.google.com/")
    activity = fresh(meeting)
    assert activity.conference and activity.conference_url == event["hangoutLink"]
    assert activity.conference_name == "Google Meet"
    page = client.get(f"/activities/{meeting.id}").get_data(as_text=True)
    assert f'href="{event["hangoutLink"]}"' in page and "Join Google Meet" in page
    calendar = client.get("/?view=week&date=2031-05-06").get_data(as_text=True)
    assert 'data-testid="conference-mark"' in calendar       # the item's mark...
    assert f'Google Meet: {event["hangoutLink"]}' in calendar  # ...and its popover text
    # Settled: the next run writes nothing, and the Meet stays the same one.
    sim.stats_reset()
    run = sync(mapping)
    assert (run.updated, run.created, sim.stats()["batch_parts"]) == (0, 0, 0)
    assert sim.get_event(ann.email, ann.email, event["id"])["hangoutLink"] == \
        event["hangoutLink"]


def test_a_new_activity_with_meet_is_inserted_with_its_conference(connect_user, sim, sync,
                                                                  make_activity):
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START, conference=True)
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))
    assert event["conferenceData"]["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    assert fresh(meeting).conference_url == event["hangoutLink"]


def test_a_conference_added_in_google_is_imported_and_survives_crm_edits(connect_user,
                                                                         make_activity, sim,
                                                                         sync, browser):
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"conferenceData": {"createRequest": {
        "requestId": "made-in-google", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}})
    before = sim.get_event(ann.email, ann.email, event_id)
    assert before.get("hangoutLink")
    sync(mapping)
    activity = fresh(meeting)
    assert (activity.conference, activity.conference_url) == (True, before["hangoutLink"])
    # A CRM edit through the form (the box shows ticked) patches the title only.
    assert submit_activity_form(browser(ann), meeting.id,
                                subject="Renamed").status_code == 302
    edit(fresh(meeting), location="Room 2")
    sync(mapping)
    after = sim.get_event(ann.email, ann.email, event_id)
    assert (after["summary"], after["location"]) == ("Renamed", "Room 2")
    assert after["conferenceData"] == before["conferenceData"]
    assert after["hangoutLink"] == before["hangoutLink"]


def test_other_conference_solutions_are_shown_but_only_safe_links_are_hrefs(
        connect_user, sim, sync, browser):
    ann, mapping = connect_user()
    sim.insert_event(ann.email, ann.email, {
        "summary": "Vendor call", "conferenceData": ZOOM,
        "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    sync(mapping)
    [activity] = activities()
    assert (activity.conference, activity.conference_name) == (True, "Zoom Meeting")
    page = browser(ann).get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "https://zoom.example/j/9911" in page           # shown as text
    assert 'href="https://zoom.example/j/9911"' not in page  # not a google link: no href


def test_unticking_removes_the_meet_in_google(connect_user, make_activity, sim, sync, browser):
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START, conference=True)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    assert sim.get_event(ann.email, ann.email, event_id).get("hangoutLink")
    assert submit_activity_form(browser(ann), meeting.id, conference=None).status_code == 302
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, event_id)
    assert "conferenceData" not in event and "hangoutLink" not in event
    activity = fresh(meeting)
    assert (activity.conference, activity.conference_url) == (False, "")


def test_a_meet_replaced_in_google_by_another_conference_brings_its_link(
        connect_user, make_activity, sim, sync, browser):
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START, conference=True)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    assert fresh(meeting).conference_name == "Google Meet"
    sim.patch_event(ann.email, ann.email, event_id, {"conferenceData": ZOOM})
    run = sync(mapping)
    assert run.conflicts == 0
    activity = fresh(meeting)
    assert (activity.conference, activity.conference_url, activity.conference_name) == (
        True, "https://zoom.example/j/9911", "Zoom Meeting")
    page = browser(ann).get(f"/activities/{meeting.id}").get_data(as_text=True)
    assert "zoom.example/j/9911" in page and "meet.google.com" not in page
    # Settled, and a CRM edit keeps Google's Zoom.
    edit(fresh(meeting), location="Room 3")
    sync(mapping)
    after = sim.get_event(ann.email, ann.email, event_id)
    assert after["location"] == "Room 3"
    assert after["conferenceData"]["conferenceId"] == "9911"
