"""Activity services: the calendar range query, the single write path and its signals."""
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.crm import activities as services
from portal.crm.calendar_view import utc_range
from portal.crm.models import Activity
from portal.extensions import db

UTC = timezone.utc


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def subjects(items):
    return sorted(a.subject for a in items)


def test_activities_in_range_returns_overlapping_timed_and_all_day(make_user, make_activity):
    user = make_user()
    make_activity(user, subject="inside", start=at(24, 10))
    make_activity(user, subject="starts before", start=at(22, 23), minutes=24 * 60)
    make_activity(user, subject="ends at range start", start=at(22, 23), minutes=60)
    make_activity(user, subject="after", start=at(30, 0))
    make_activity(user, subject="all-day inside", all_day=True, start_date=date(2026, 11, 29),
                  end_date=date(2026, 11, 29))
    make_activity(user, subject="all-day across", all_day=True, start_date=date(2026, 11, 20),
                  end_date=date(2026, 11, 23))
    make_activity(user, subject="all-day before", all_day=True, start_date=date(2026, 11, 20),
                  end_date=date(2026, 11, 22))
    start, end = utc_range(date(2026, 11, 23), date(2026, 11, 29), "UTC")
    found = services.activities_in_range(user, start, end)
    assert subjects(found) == ["all-day across", "all-day inside", "inside", "starts before"]


def test_activities_in_range_uses_the_viewers_dates_for_all_day_items(make_user, make_activity):
    user = make_user(time_zone="Pacific/Auckland")
    make_activity(user, subject="Monday holiday", all_day=True, start_date=date(2026, 11, 23),
                  end_date=date(2026, 11, 23))
    # Monday 23 November in Auckland starts on Sunday 22 November at 11:00 UTC.
    start, end = utc_range(date(2026, 11, 23), date(2026, 11, 23), "Pacific/Auckland")
    assert subjects(services.activities_in_range(user, start, end)) == ["Monday holiday"]


def test_activities_in_range_includes_participation_and_skips_hidden(make_user, make_activity):
    user, colleague = make_user(), make_user()
    make_activity(colleague, subject="invited", start=at(24, 9), participants=[user])
    make_activity(user, subject="hidden", start=at(24, 11), show_in_calendar=False)
    make_activity(colleague, subject="not mine", start=at(24, 12))
    start, end = utc_range(date(2026, 11, 23), date(2026, 11, 29), "UTC")
    assert subjects(services.activities_in_range(user, start, end)) == ["invited"]
    assert subjects(services.activities_in_range(user, start, end, include_hidden=True)) == [
        "hidden", "invited"]


def test_other_owners_calendar_is_limited_to_what_the_viewer_may_see(make_user, make_activity):
    viewer, owner = make_user(), make_user()
    admin = make_user(role="admin")
    make_activity(owner, subject="shared", start=at(24, 9), participants=[viewer])
    make_activity(owner, subject="owner only", start=at(24, 10))
    start, end = utc_range(date(2026, 11, 23), date(2026, 11, 29), "UTC")
    assert subjects(services.activities_in_range(viewer, start, end, owner=owner)) == ["shared"]
    assert subjects(services.activities_in_range(admin, start, end, owner=owner)) == [
        "owner only", "shared"]
    # An admin's own calendar holds only their own activities.
    assert services.activities_in_range(admin, start, end) == []


def test_zero_length_activity_at_the_range_start_is_included(make_user, make_activity):
    user = make_user()
    make_activity(user, subject="deadline", start=at(23, 0), minutes=0)
    start, end = utc_range(date(2026, 11, 23), date(2026, 11, 23), "UTC")
    assert subjects(services.activities_in_range(user, start, end)) == ["deadline"]


def test_calendar_owners(make_user, make_activity):
    me, boss, other = make_user(name="Me"), make_user(name="Boss"), make_user(name="Other")
    admin = make_user(role="admin", name="Admin")
    make_activity(boss, start=at(24, 9), participants=[me])
    assert [u.name for u in services.calendar_owners(me)] == ["Boss", "Me"]
    assert services.may_open_calendar(me, boss) and not services.may_open_calendar(me, other)
    assert {u.name for u in services.calendar_owners(admin)} == {"Me", "Boss", "Other", "Admin"}


def test_save_activity_creates_with_defaults_and_signals(make_user, activity_types):
    user = make_user()
    seen = []

    def listener(activity, **kw):
        seen.append((activity.subject, kw["created"], kw["source"], kw["actor"]))

    services.activity_saved.connect(listener)
    try:
        activity = services.save_activity(Activity(), actor=user, subject="Call Acme",
                                          activity_type=activity_types["Call"],
                                          start_at=at(24, 9), end_at=at(24, 10))
        db.session.commit()
    finally:
        services.activity_saved.disconnect(listener)
    assert activity.organizer_id == user.id and activity.created_by_id == user.id
    assert activity.status == "Planned" and activity.show_in_calendar is True
    assert seen == [("Call Acme", True, "crm", user)]


def test_save_activity_bumps_version_on_every_change_and_not_without(make_user, make_activity):
    user, colleague = make_user(), make_user()
    activity = make_activity(user, start=at(24, 9))
    assert activity.version == 1
    services.save_activity(activity, actor=user, subject="Renamed")
    db.session.commit()
    assert activity.version == 2
    services.save_activity(activity, actor=user, participants=[colleague])
    db.session.commit()
    assert activity.version == 3
    services.save_activity(activity, actor=user, subject="Renamed")
    db.session.commit()
    assert activity.version == 3


def test_save_activity_reports_changed_fields_and_source(make_user, make_activity):
    user = make_user()
    activity = make_activity(user, start=at(24, 9))
    seen = []

    def listener(sender, **kw):
        seen.append((kw["changed"], kw["source"], kw["created"]))

    services.activity_saved.connect(listener)
    try:
        services.save_activity(activity, source=services.SOURCE_GOOGLE, location="Room 1")
    finally:
        services.activity_saved.disconnect(listener)
    changed, source, created = seen[0]
    assert "location" in changed and "subject" not in changed
    assert (source, created) == ("google", False)


@pytest.mark.parametrize("values, field", [
    ({"subject": "  "}, "subject"),
    ({"end_at": at(24, 8)}, "end_date"),
    ({"all_day": True, "start_date": date(2026, 11, 24), "end_date": date(2026, 11, 23)},
     "end_date"),
    ({"status": "Done"}, "status"),
    ({"reminder_minutes": -5}, "reminder_minutes"),
])
def test_save_activity_enforces_the_rules_for_every_writer(make_user, make_activity, values,
                                                           field):
    activity = make_activity(make_user(), start=at(24, 9))
    with pytest.raises(services.ActivityError) as error:
        services.save_activity(activity, **values)
    assert error.value.field == field
    db.session.rollback()


def test_switching_to_all_day_drops_the_instants(make_user, make_activity):
    activity = make_activity(make_user(), start=at(24, 9))
    services.save_activity(activity, all_day=True, start_date=date(2026, 11, 24))
    db.session.commit()
    assert activity.start_at is None and activity.end_at is None
    assert activity.start_date == activity.end_date == date(2026, 11, 24)


def test_save_activity_rejects_unknown_fields(make_user, make_activity):
    activity = make_activity(make_user(), start=at(24, 9))
    with pytest.raises(TypeError):
        services.save_activity(activity, version=7)


def test_delete_activity_signals_before_deleting(make_user, make_activity):
    user = make_user()
    activity = make_activity(user, start=at(24, 9))
    activity_id = activity.id
    seen = []

    def listener(sender, **kw):
        seen.append((sender.id, db.session.get(Activity, sender.id) is not None, kw["actor"]))

    services.activity_deleting.connect(listener)
    try:
        services.delete_activity(activity, actor=user)
        db.session.commit()
    finally:
        services.activity_deleting.disconnect(listener)
    assert seen == [(activity_id, True, user)]
    assert db.session.get(Activity, activity_id) is None


def test_list_query_filters_by_overlap_in_the_users_zone(make_user, make_activity):
    user = make_user(time_zone="America/New_York")
    # 02:00 UTC on the 25th is still the evening of the 24th in New York.
    make_activity(user, subject="evening", start=at(25, 2))
    make_activity(user, subject="next day", start=at(25, 15))
    start, end = utc_range(date(2026, 11, 24), date(2026, 11, 24), "America/New_York")
    query = services.list_query(user, start_utc=start, end_utc=end,
                                first_date=date(2026, 11, 24), last_date=date(2026, 11, 24))
    assert subjects(db.session.scalars(query)) == ["evening"]
    assert timedelta(hours=24) == end - start
