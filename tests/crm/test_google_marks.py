"""Activities imported from Google are marked "from Google" in every view. The user's own
meetings stay editable in the CRM (the edit goes back to Google); meetings someone else
organizes are read-only, for admins too (Google would refuse the change), with an answer.
CRM activities exported to Google show a "synced" mark. Imports run for real: googlesim,
the real client and an RQ worker."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db

UTC = timezone.utc
START = datetime(2031, 3, 11, 9, tzinfo=UTC)  # a Tuesday


def gevent(summary, start=START, **extra):
    body = {"summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                    "timeZone": "Europe/Berlin"}}
    body.update(extra)
    return body


def item_html(html, subject):
    """The calendar item (or table row) holding ``subject``."""
    match = re.search(r'<a class="cal-item[^"]*"[^>]*>(?:(?!</a>).)*?' + re.escape(subject)
                      + r'.*?</a>', html, re.S)
    assert match, f"{subject} not on the page"
    return match.group(0)


def row_html(html, subject):
    match = re.search(r'<tr class="[^"]*"[^>]*data-activity-id[^>]*>(?:(?!</tr>).)*?'
                      + re.escape(subject) + r'.*?</tr>', html, re.S)
    assert match, f"{subject} not in the list"
    return match.group(0)


BOSS = "boss@outside.org"


@pytest.fixture
def imported(connect_user, sim, sync, make_activity):
    """Ann with a meeting someone outside organizes (in her calendar as a guest's copy),
    one CRM activity exported to Google, and her own event made in Google."""
    ann, mapping = connect_user()
    event = sim.insert_event(ann.email, ann.email, gevent(
        "Dentist from Google", organizer={"email": BOSS},
        attendees=[{"email": BOSS, "organizer": True, "responseStatus": "accepted"},
                   {"email": ann.email, "responseStatus": "needsAction"}]))
    sim.insert_event(ann.email, ann.email, gevent("My own from Google",
                                                  start=START + timedelta(hours=5)))
    make_activity(ann, subject="Budget review", start=START + timedelta(hours=3))
    run = sync(mapping)
    assert run.status == "succeeded", run.message
    google = db.session.scalars(db.select(Activity).where(
        Activity.subject == "Dentist from Google")).one()
    crm_owned = db.session.scalars(db.select(Activity).where(
        Activity.subject == "Budget review")).one()
    return ann, google, crm_owned, event


@pytest.mark.parametrize("view", ["week", "day", "month"])
def test_calendar_views_mark_imported_events_and_synced_ones(client, login, imported, view):
    ann, google, crm_owned, _ = imported
    login(client, ann)
    html = client.get(f"/?view={view}&date=2031-03-11").get_data(as_text=True)
    from_google = item_html(html, "Dentist from Google")
    assert "from-google" in from_google and 'data-testid="google-mark"' in from_google
    ours = item_html(html, "Budget review")
    assert "from-google" not in ours and 'data-testid="google-mark"' not in ours
    assert 'data-testid="synced-mark"' in ours


def test_list_marks_imported_events_and_offers_no_edit_button(client, login, imported):
    ann, google, crm_owned, _ = imported
    login(client, ann)
    html = client.get("/activities").get_data(as_text=True)
    row = row_html(html, "Dentist from Google")
    assert 'data-testid="google-mark"' in row and ">Edit<" not in row
    ours = row_html(html, "Budget review")
    assert 'data-testid="google-mark"' not in ours and ">Edit<" in ours


def test_detail_says_why_it_is_read_only_and_links_to_google(client, login, imported):
    ann, google, _, event = imported
    login(client, ann)
    html = client.get(f"/activities/{google.id}").get_data(as_text=True)
    assert 'data-testid="google-badge"' in html
    note = re.search(r'data-testid="read-only-note">(.*?)</div>', html, re.S).group(1)
    assert BOSS in note and "only the organizer can change it" in note
    assert f'href="{event["htmlLink"]}"' in note and "Open in Google Calendar" in note
    assert f"/activities/{google.id}/edit" not in html
    assert f"/activities/{google.id}/delete" not in html


@pytest.mark.parametrize("role", ["user", "admin"])
@pytest.mark.parametrize("action", ["edit", "delete"])
def test_imported_events_cannot_be_edited_or_deleted_even_by_admins(
        client, login, imported, make_user, role, action):
    ann, google, _, event = imported
    login(client, ann if role == "user" else make_user(role="admin"))
    url = f"/activities/{google.id}/{action}"
    page = client.get(url)
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "read-only in the CRM" in text and BOSS in text
    assert event["htmlLink"] in text
    # Even a well-formed POST (a CSRF token from a page that has one) is refused.
    token = client.csrf_token("/activities/new")
    posted = client.post(url, data={"csrf_token": token, "subject": "Hijacked"})
    assert posted.status_code == 403
    db.session.expire_all()
    kept = db.session.get(Activity, google.id)
    assert kept is not None and kept.subject == "Dentist from Google"


def test_crm_owned_exported_activity_stays_editable(client, login, imported):
    ann, _, crm_owned, _ = imported
    login(client, ann)
    assert client.get(f"/activities/{crm_owned.id}/edit").status_code == 200
    html = client.get(f"/activities/{crm_owned.id}").get_data(as_text=True)
    assert 'data-testid="synced-badge"' in html and 'data-testid="google-badge"' not in html


def test_can_edit_is_false_for_someone_elses_meeting_for_everyone(imported, make_user):
    ann, google, crm_owned, _ = imported
    admin = make_user(role="admin")
    fresh = db.session.get(Activity, google.id)
    assert not crm.can_edit(ann, fresh) and not crm.can_edit(admin, fresh)
    assert crm.can_edit(ann, crm_owned) and crm.can_edit(admin, crm_owned)


def test_own_meeting_made_in_google_is_marked_and_editable(client, login, imported):
    ann = imported[0]
    own = db.session.scalars(db.select(Activity).where(
        Activity.subject == "My own from Google")).one()
    login(client, ann)
    html = client.get(f"/activities/{own.id}").get_data(as_text=True)
    assert 'data-testid="google-badge"' in html and 'data-testid="read-only-note"' not in html
    assert client.get(f"/activities/{own.id}/edit").status_code == 200
    assert crm.can_edit(ann, own)


@pytest.mark.parametrize("view", ["week", "month"])
def test_calendar_looks_up_google_links_in_one_query(client, login, connect_user, sim, sync,
                                                     app, view):
    from sqlalchemy import event as sa_event

    ann, mapping = connect_user()
    for n in range(6):
        sim.insert_event(ann.email, ann.email,
                         gevent(f"Imported {n}", START + timedelta(days=n % 5, hours=n)))
    sync(mapping)
    login(client, ann)
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = client.get(f"/?view={view}&date=2031-03-11").get_data(as_text=True)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    marked = {m.group(1) for m in re.finditer(
        r'data-activity-id="(\d+)">(?:(?!</a>).)*data-testid="google-mark"', html, re.S)}
    assert len(marked) == 6
    # One look-up for every item's marks, not one per item.
    assert len([s for s in statements if "event_links" in s]) == 1


def test_contact_page_marks_the_imported_and_synced_activities(client, login, imported):
    from portal.crm.models import Contact, ContactEmail

    ann, google, crm_owned, _ = imported
    contact = Contact(owner=ann, first_name="Lucía", last_name="Fernández")
    contact.emails.append(ContactEmail(email="lucia@example.org"))
    google.invitees.append(contact)
    crm_owned.invitees.append(contact)
    db.session.commit()
    login(client, ann)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    google_item = html.split("Dentist from Google")[0].rsplit("<li", 1)[1]
    synced_item = html.split("Budget review")[0].rsplit("<li", 1)[1]
    assert 'data-testid="google-mark"' in google_item
    assert 'data-testid="google-mark"' not in synced_item
    assert 'data-testid="synced-mark"' in synced_item
