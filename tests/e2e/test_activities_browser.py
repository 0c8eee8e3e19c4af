"""A person plans their week in a real browser: create from the week view, edit, delete."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from portal.core.timezones import local_now
from portal.crm.models import Activity
from portal.extensions import db


def slot(page, day, hour):
    return page.locator(f'[data-testid="week-grid"] '
                        f'td[data-date="{day.isoformat()}"][data-hour="{hour}"]')


def test_create_an_activity_from_the_week_view_and_see_it_there(page, make_user, browser_login,
                                                                activity_types):
    user = make_user(name="Wendy Week", time_zone="Europe/Madrid")
    browser_login(page, user)
    page.get_by_role("link", name="Calendar", exact=True).click()
    page.get_by_role("link", name="Week", exact=True).click()
    today = local_now("Europe/Madrid").date()
    wednesday = today - timedelta(days=today.weekday()) + timedelta(days=2)
    label = f"New activity on {wednesday:%A %d %B %Y} at 10:00"

    page.get_by_role("link", name=label).click()
    page.wait_for_url("**/activities/new**")
    assert page.get_by_label("Start date").input_value() == wednesday.isoformat()
    assert page.get_by_label("Start time").input_value() == "10:00"
    page.get_by_label("Subject").fill("Kick-off with Acme")
    page.get_by_label("Activity type").select_option(label="Meeting")
    page.get_by_label("End time").fill("11:30")
    page.get_by_role("button", name="Save activity").click()

    page.wait_for_url(lambda url: "/activities/" not in url)
    assert page.get_by_text("Activity “Kick-off with Acme” created.").is_visible()
    item = slot(page, wednesday, 10).get_by_role("link", name="Kick-off with Acme")
    assert item.is_visible()
    assert "10:00–11:30" in item.inner_text()
    # The only place it shows on the grid is that day and hour.
    assert page.locator('[data-testid="week-grid"] .cal-item').count() == 1

    db.session.expire_all()
    activity = db.session.scalars(select(Activity)).one()
    # Madrid is UTC+1 in winter and UTC+2 in summer; either way stored in UTC.
    local = activity.start_at.astimezone(local_now("Europe/Madrid").tzinfo)
    assert (local.date(), local.hour) == (wednesday, 10)
    assert activity.organizer_id == user.id


def test_edit_then_delete_with_confirmation(page, make_user, browser_login, make_activity):
    user = make_user(name="Eddie Edit", time_zone="UTC")
    make_activity(user, subject="Budget review",
                  start=datetime(2026, 11, 26, 14, 0, tzinfo=timezone.utc))
    browser_login(page, user)
    page.goto("/?view=week&date=2026-11-24")
    thursday = datetime(2026, 11, 26).date()

    slot(page, thursday, 14).get_by_role("link", name="Budget review").click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Subject").fill("Budget review (final)")
    page.get_by_label("Status").select_option("Held")
    page.get_by_role("button", name="Save activity").click()
    page.wait_for_url("**/?view=week**")
    item = slot(page, thursday, 14).locator(".cal-item")
    assert "Budget review (final)" in item.inner_text()
    assert "held" in item.get_attribute("class")

    item.click()
    page.get_by_role("link", name="Delete…").click()
    assert page.get_by_role("heading", name="Delete this activity?").is_visible()
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url("**/?view=week**")
    assert slot(page, thursday, 14).locator(".cal-item").count() == 1

    slot(page, thursday, 14).locator(".cal-item").click()
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete activity").click()
    page.wait_for_url("**/?view=week**")
    assert page.get_by_text("Activity “Budget review (final)” deleted.").is_visible()
    assert page.locator('[data-testid="week-grid"] .cal-item').count() == 0
