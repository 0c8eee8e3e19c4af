"""*Add into CRM* in a real browser: a Google event of a calendar whose import is off shows
on the CRM calendar once asked; one click makes it a CRM activity."""
from datetime import datetime, timedelta, timezone

from portal.core.timezones import local_now
from portal.crm.models import Activity
from portal.extensions import db
from portal.sync.calendar.models import EventLink


def test_google_event_appears_and_is_added_into_crm(page, browser_login, connect_user, sim):
    ann, mapping = connect_user("ann@example.com", time_zone="Europe/Berlin",
                                import_enabled=False)
    day = local_now("Europe/Berlin").date() + timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 13, 0, tzinfo=timezone.utc)
    event = sim.insert_event(ann.email, ann.email, {
        "summary": "Coffee with Lea ☕",
        "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(),
                "timeZone": "Europe/Berlin"}})
    browser_login(page, ann)
    page.goto(f"/?view=day&date={day.isoformat()}")
    assert page.get_by_test_id("google-event").count() == 0
    page.get_by_test_id("google-toggle").click()

    offered = page.get_by_test_id("google-event").filter(has_text="Coffee with Lea ☕")
    offered.wait_for()
    offered.get_by_role("button", name="Add into CRM").click()

    page.get_by_text("was added into the CRM").wait_for()
    assert page.get_by_test_id("google-event").count() == 0
    item = page.get_by_role("link", name="Coffee with Lea ☕")
    assert item.first.is_visible()
    item.first.click()
    page.get_by_test_id("activity-detail").wait_for()
    assert page.get_by_role("link", name="Edit").is_visible()

    db.session.expire_all()
    [activity] = db.session.scalars(db.select(Activity)).all()
    assert activity.subject == "Coffee with Lea ☕" and activity.organizer_id == ann.id
    [link] = db.session.scalars(db.select(EventLink)).all()
    assert (link.event_id, link.owner) == (event["id"], "crm")
