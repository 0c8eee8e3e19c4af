"""A person makes a weekly meeting in a real browser and finds it in two consecutive weeks."""
from datetime import date, timedelta

from sqlalchemy import select

from portal.crm.models import Activity
from portal.extensions import db


def slot(page, day, hour):
    return page.locator(f'[data-testid="week-grid"] '
                        f'td[data-date="{day.isoformat()}"][data-hour="{hour}"]')


def test_a_weekly_activity_shows_in_two_consecutive_weeks(page, make_user, browser_login,
                                                          activity_types):
    user = make_user(name="Rita Repeat", time_zone="Europe/Madrid")
    browser_login(page, user)
    wednesday = date(2026, 11, 25)
    page.goto(f"/activities/new?date={wednesday.isoformat()}&time=09:00")

    # The weekly inputs only show once Weekly is chosen; the start's weekday is ticked.
    assert page.get_by_label("Wed", exact=True).is_hidden()
    page.get_by_label("Subject").fill("Weekly sync")
    page.get_by_label("Activity type").select_option(label="Meeting")
    page.get_by_label("Repeat", exact=True).select_option(label="Weekly")
    assert page.get_by_label("Wed", exact=True).is_checked()
    page.get_by_label("After a number of occurrences").check()
    page.get_by_label("Number of occurrences (1–730)").fill("2")
    page.get_by_role("button", name="Save activity").click()
    page.wait_for_url("**/activities/*")
    assert page.get_by_text("Weekly on Wed, 2 times").is_visible()

    db.session.expire_all()
    assert db.session.scalars(select(Activity)).one().recurrence == \
        "RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=2"
    for week in range(3):
        day = wednesday + timedelta(weeks=week)
        page.goto(f"/?view=week&date={day.isoformat()}")
        items = page.locator('[data-testid="week-grid"] .cal-item')
        if week < 2:
            assert slot(page, day, 9).get_by_role("link", name="Weekly sync").is_visible()
            assert items.count() == 1
        else:
            assert items.count() == 0  # two times only
