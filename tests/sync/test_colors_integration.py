"""Colours, both ways, through googlesim with the real client, RQ and Redis: an activity
type's colour goes to Google as the nearest event colour; a colour chosen in Google is
imported, shown, and never repainted by the type's colour on an unrelated CRM edit."""
import json
from datetime import datetime, timezone

import google.oauth2.credentials
import google_auth_httplib2
import httplib2
import pytest
from googleapiclient.discovery import build

from portal.core.colors import EVENT_COLORS
from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google.models import CalendarMapping
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import EventLink
from tests.conftest import CALENDAR_SCOPE, CLIENT_ID

START = datetime(2031, 5, 6, 8, 0, tzinfo=timezone.utc)


def _activity(activity_id):
    return db.session.get(Activity, activity_id)


def test_a_new_export_sends_the_types_colour(connect_user, make_activity, sim, sync,
                                             activity_types):
    ann, mapping = connect_user()
    activity_types["Meeting"].color = "#4f8a3c"  # a darker green: nearest is Basil (10)
    db.session.commit()
    meeting = make_activity(ann, start=START)
    assert sync(mapping).created == 1
    event = sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))
    assert event["colorId"] == "10"


def test_a_colour_chosen_in_google_is_imported_shown_and_survives_a_crm_edit(
        connect_user, make_activity, sim, sync, client, login):
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"colorId": "3"})  # Grape
    run = sync(mapping)
    assert run.updated == 1 and run.conflicts == 0
    assert _activity(meeting.id).color == EVENT_COLORS["3"]

    crm.save_activity(_activity(meeting.id), actor=ann, subject="Renamed in the CRM")
    db.session.commit()
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["summary"], event["colorId"]) == ("Renamed in the CRM", "3")

    login(client, ann)
    html = client.get("/?view=week&date=2031-05-06").get_data(as_text=True)
    assert f'data-activity-id="{meeting.id}"' in html
    assert f'data-color="{EVENT_COLORS["3"]}"' in html


def test_changing_the_type_in_the_crm_sends_the_new_types_colour(
        connect_user, make_activity, sim, sync, activity_types):
    ann, meetings = connect_user()
    calls_calendar = sim.create_calendar(ann.email, "Calls")["id"]
    calls = CalendarMapping(user_id=ann.id, activity_type_id=activity_types["Call"].id,
                            calendar_id=calls_calendar, calendar_summary="Calls",
                            export_enabled=True, import_enabled=True)
    db.session.add(calls)
    db.session.commit()
    meeting = make_activity(ann, start=START)
    sync(meetings)
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"colorId": "4"})
    sync(meetings)
    assert _activity(meeting.id).color == EVENT_COLORS["4"]

    crm.save_activity(_activity(meeting.id), actor=ann, activity_type=activity_types["Call"])
    db.session.commit()
    assert _activity(meeting.id).color is None  # follows its new type again
    for mapping in (meetings, calls):
        assert sync(mapping).errors == 0
    # The event moved to the Calls calendar (same id) and took Call's Blueberry.
    event = sim.get_event(ann.email, calls_calendar, event_id)
    assert (event["summary"], event["colorId"]) == ("Demo meeting", "9")


def test_an_event_made_in_google_keeps_its_colour_or_its_calendars(connect_user, sim, sync):
    ann, mapping = connect_user()
    when = {"start": {"dateTime": "2031-05-06T10:00:00+02:00"},
            "end": {"dateTime": "2031-05-06T11:00:00+02:00"}}
    coloured = sim.insert_event(ann.email, ann.email, dict(summary="Coloured", colorId="11",
                                                           **when))
    plain = sim.insert_event(ann.email, ann.email, dict(summary="Plain", **when))
    assert sync(mapping).created == 2
    by_subject = {a.subject: a for a in db.session.scalars(db.select(Activity))}
    assert by_subject["Coloured"].color == EVENT_COLORS["11"]
    assert by_subject["Plain"].color == ""  # the calendar's colour in Google
    assert by_subject["Plain"].display_color == by_subject["Plain"].activity_type.color
    for activity in by_subject.values():
        crm.save_activity(activity, actor=ann, location="Room 2")
    db.session.commit()
    assert sync(mapping).errors == 0
    assert sim.get_event(ann.email, ann.email, coloured["id"])["colorId"] == "11"
    assert "colorId" not in sim.get_event(ann.email, ann.email, plain["id"])


def test_a_link_synced_before_colours_existed_keeps_googles_colour(
        connect_user, make_activity, sim, sync):
    """Its remembered base has no colour: Google's colour is imported, not overwritten by
    the type's, and the next CRM edit leaves it alone."""
    ann, mapping = connect_user()
    meeting = make_activity(ann, start=START)
    sync(mapping)
    link = db.session.scalars(db.select(EventLink)).one()
    state = json.loads(link.event_state)
    del state["fields"]["color"]
    link.event_state = json.dumps(state)
    db.session.commit()
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"colorId": "5", "summary": "In Google"})
    run = sync(mapping)
    assert run.conflicts == 0 and run.errors == 0
    assert _activity(meeting.id).color == EVENT_COLORS["5"]
    crm.save_activity(_activity(meeting.id), actor=ann, description="notes")
    db.session.commit()
    sync(mapping)
    assert sim.get_event(ann.email, ann.email, event_id)["colorId"] == "5"


def test_the_palette_is_googles_colors_get(connect_user, sim):
    """The portal's fixed palette matches what colors.get answers (real client)."""
    ann, _ = connect_user()
    tokens = sim.issue_tokens(ann.email, CLIENT_ID, [CALENDAR_SCOPE])
    http = google_auth_httplib2.AuthorizedHttp(
        google.oauth2.credentials.Credentials(tokens["access_token"]),
        http=httplib2.Http(proxy_info=None))
    service = build("calendar", "v3", http=http, static_discovery=True,
                    client_options={"api_endpoint": sim.base_url + "/calendar/v3/"})
    palette = service.colors().get().execute()["event"]
    assert {cid: c["background"] for cid, c in palette.items()} == EVENT_COLORS


@pytest.mark.parametrize("rule", ["crm_wins", "google_wins", "most_recent"])
def test_an_admin_recolouring_the_type_edits_no_activity(connect_user, make_activity, sim,
                                                         sync, activity_types, rule):
    """A new type colour is no CRM edit: a colour then chosen in Google is imported without
    a conflict under every rule, an edit of another field in Google repaints nothing, and
    the new colour goes out with the activity's next change in the CRM."""
    ann, mapping = connect_user()
    mapping.conflict_rule = rule
    activity_types["Meeting"].color = "#5484ed"               # Blueberry (9)
    db.session.commit()
    meeting, plain = make_activity(ann, start=START), make_activity(ann, start=START)
    sync(mapping)
    meeting_event, plain_event = google_event_id(meeting.uid), google_event_id(plain.uid)

    activity_types["Meeting"].color = "#dc2127"               # the admin: Tomato (11)
    db.session.commit()
    sim.patch_event(ann.email, ann.email, meeting_event, {"colorId": "3"})      # Grape
    sim.patch_event(ann.email, ann.email, plain_event, {"summary": "Renamed in Google"})
    run = sync(mapping)
    assert (run.conflicts, run.errors) == (0, 0)
    assert sim.get_event(ann.email, ann.email, meeting_event)["colorId"] == "3"
    assert _activity(meeting.id).color == EVENT_COLORS["3"]
    assert sim.get_event(ann.email, ann.email, plain_event)["colorId"] == "9"
    assert _activity(plain.id).subject == "Renamed in Google"

    crm.save_activity(_activity(plain.id), actor=ann, location="Room 9")
    db.session.commit()
    sync(mapping)
    assert sim.get_event(ann.email, ann.email, plain_event)["colorId"] == "11"
