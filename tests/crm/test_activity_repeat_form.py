"""The Repeat section of the activity form, through the test client: what is saved, what an
edit shows, and messages next to the inputs when something is off."""
import re
from datetime import date, datetime, timezone

from sqlalchemy import select

from portal.crm.models import Activity
from portal.extensions import db

UTC = timezone.utc
GOOGLE_RULE = "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"


def form_data(activity_types, **overrides):
    """A timed activity on Tuesday 24 Nov 2026, 10:00-11:00, repeating as overridden."""
    data = {"subject": "Stand-up", "activity_type_id": str(activity_types["Meeting"].id),
            "status": "Planned", "priority": "Medium", "start_date": "2026-11-24",
            "start_time": "10:00", "end_date": "2026-11-24", "end_time": "11:00",
            "show_in_calendar": "y", "visibility": "default", "repeat_freq": "",
            "repeat_interval": "1", "repeat_ends": "never", "repeat_count": "",
            "repeat_until": ""}
    data.update(overrides)
    return data


def only_activity():
    db.session.expire_all()
    return db.session.scalars(select(Activity)).one()


def nothing_saved():
    return db.session.scalar(select(Activity.id)) is None


def error_after(html, field_id, message):
    """``message`` is shown after the input ``field_id`` (next to it, not only on top)."""
    return message in html and html.index(message) > html.index(f'id="{field_id}"')


def test_weekly_series_every_two_weeks_on_two_days_with_a_count(client, make_user, login,
                                                                activity_types):
    login(client, make_user(time_zone="Europe/Berlin"))
    response = client.post_form("/activities/new", form_data(
        activity_types, repeat_freq="WEEKLY", repeat_interval="2",
        repeat_weekdays=["TU", "TH"], repeat_ends="count", repeat_count="10"))
    assert response.status_code == 302
    activity = only_activity()
    assert activity.recurrence == "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=10"
    assert activity.time_zone == "Europe/Berlin"
    detail = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Every 2 weeks on Tue, Thu, 10 times" in detail


def test_until_date_is_the_end_of_that_day_in_the_users_zone(client, make_user, login,
                                                            activity_types):
    login(client, make_user(time_zone="America/New_York"))
    client.post_form("/activities/new", form_data(
        activity_types, repeat_freq="DAILY", repeat_ends="until", repeat_until="2026-12-04"))
    # 23:59:59 EST on 4 Dec is 04:59:59 UTC on the 5th
    assert only_activity().recurrence == "RRULE:FREQ=DAILY;UNTIL=20261205T045959Z"


def test_all_day_series_ends_on_a_date(client, make_user, login, activity_types):
    login(client, make_user())
    client.post_form("/activities/new", form_data(
        activity_types, all_day="y", repeat_freq="YEARLY", repeat_ends="until",
        repeat_until="2030-11-24"))
    activity = only_activity()
    assert activity.all_day and activity.recurrence == "RRULE:FREQ=YEARLY;UNTIL=20301124"


def test_does_not_repeat_saves_no_rule_whatever_the_hidden_inputs_hold(client, make_user,
                                                                      login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(
        activity_types, repeat_interval="abc", repeat_ends="count", repeat_count="9999"))
    assert response.status_code == 302
    assert only_activity().recurrence == ""


def test_new_form_has_the_repeat_section_with_the_starts_weekday_ticked(client, make_user,
                                                                        login, activity_types):
    login(client, make_user())
    html = client.get("/activities/new?date=2026-11-26&time=09:00").get_data(as_text=True)
    assert re.search(r"<legend[^>]*>Repeat</legend>", html)
    for control in ("repeat_freq", "repeat_interval", "repeat_count", "repeat_until"):
        assert f'for="{control}"' in html, f"{control} has no label"
    ticked = re.findall(r'name="repeat_weekdays"[^>]*value="(\w\w)" checked', html)
    assert ticked == ["TH"]  # 26 Nov 2026 is a Thursday
    assert '<option selected value="">Does not repeat</option>' in html


def test_invalid_repeat_inputs_show_messages_next_to_them_and_keep_what_was_typed(
        client, make_user, login, activity_types):
    login(client, make_user())
    html = client.post_form("/activities/new", form_data(
        activity_types, repeat_freq="DAILY", repeat_interval="150", repeat_ends="count",
        repeat_count="0")).get_data(as_text=True)
    assert error_after(html, "repeat_interval", "Enter a number from 1 to 99.")
    assert error_after(html, "repeat_count", "Enter a number of occurrences from 1 to 730.")
    assert 'value="150"' in html and 'value="0"' in html
    assert nothing_saved()


def test_weekly_without_a_weekday_is_refused(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(activity_types,
                                                             repeat_freq="WEEKLY"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert error_after(html, "repeat_weekdays-0", "Choose at least one weekday.")
    assert nothing_saved()


def test_weekly_must_include_the_first_days_weekday(client, make_user, login, activity_types):
    login(client, make_user())
    html = client.post_form("/activities/new", form_data(
        activity_types, repeat_freq="WEEKLY", repeat_weekdays=["MO"])).get_data(as_text=True)
    assert "The first occurrence is on a Tuesday: tick Tue too" in html
    assert nothing_saved()


def test_end_date_before_the_start_is_refused_and_kept(client, make_user, login,
                                                       activity_types):
    login(client, make_user())
    html = client.post_form("/activities/new", form_data(
        activity_types, repeat_freq="DAILY", repeat_ends="until",
        repeat_until="2026-11-23")).get_data(as_text=True)
    assert error_after(html, "repeat_until",
                       "The series cannot end before its first occurrence (24 Nov 2026).")
    assert 'value="2026-11-23"' in html
    assert nothing_saved()


def test_garbage_never_gives_a_server_error(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(
        activity_types, repeat_freq="SECONDLY", repeat_interval="1e9",
        repeat_weekdays=["XX"], repeat_ends="sometimes", repeat_until="31/12/2026"))
    assert response.status_code == 200
    assert nothing_saved()


def test_edit_prefills_an_expressible_rule(client, make_user, login, make_activity):
    user = make_user(time_zone="Europe/Berlin")
    activity = make_activity(user, start=datetime(2026, 11, 24, 9, tzinfo=UTC),
                             recurrence="RRULE:FREQ=WEEKLY;BYDAY=TU,FR;UNTIL=20261231T225959Z")
    login(client, user)
    html = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert '<option selected value="WEEKLY">Weekly</option>' in html
    assert re.findall(r'name="repeat_weekdays"[^>]*value="(\w\w)" checked', html) == \
        ["TU", "FR"]
    until_radio = re.search(r'<input[^>]*id="repeat_ends-2"[^>]*>', html).group(0)
    assert 'value="until"' in until_radio and "checked" in until_radio
    assert 'value="2026-12-31"' in html
    assert "Keep the current rule" not in html


def test_saving_an_untouched_form_keeps_the_rule_and_its_exceptions_verbatim(
        client, make_user, login, make_activity, activity_types):
    user = make_user(time_zone="Europe/Berlin")
    rule = ("RRULE:FREQ=WEEKLY;WKST=SU;BYDAY=TU\n"
            "EXDATE;TZID=Europe/Berlin:20261201T100000")
    activity = make_activity(user, start=datetime(2026, 11, 24, 9, tzinfo=UTC),
                             recurrence=rule)
    login(client, user)
    page = f"/activities/{activity.id}/edit"
    client.post_form(page, form_data(activity_types, subject="Renamed", repeat_freq="WEEKLY",
                                     repeat_weekdays=["TU"], version=str(activity.version)))
    saved = only_activity()
    assert saved.subject == "Renamed" and saved.recurrence == rule


def test_changing_the_rule_keeps_the_cancelled_dates(client, make_user, login, make_activity,
                                                     activity_types):
    user = make_user(time_zone="Europe/Berlin")
    exdate = "EXDATE;TZID=Europe/Berlin:20261201T100000"
    activity = make_activity(user, start=datetime(2026, 11, 24, 9, tzinfo=UTC),
                             recurrence="RRULE:FREQ=WEEKLY;BYDAY=TU\n" + exdate)
    login(client, user)
    client.post_form(f"/activities/{activity.id}/edit", form_data(
        activity_types, repeat_freq="WEEKLY", repeat_weekdays=["TU", "TH"],
        repeat_ends="count", repeat_count="6", version=str(activity.version)))
    assert only_activity().recurrence.splitlines() == [
        "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=6", exdate]


def test_a_rule_the_form_cannot_show_is_summarized_and_kept_by_default(
        client, make_user, login, make_activity, activity_types):
    user = make_user()
    activity = make_activity(user, start=datetime(2026, 11, 30, 9, tzinfo=UTC),
                             recurrence=GOOGLE_RULE)
    login(client, user)
    page = f"/activities/{activity.id}/edit"
    html = client.get(page).get_data(as_text=True)
    assert re.search(r'<option selected value="keep">Keep the current rule \(Monthly on Mon, '
                     r'Tue, Wed, Thu, Fri\)</option>', html)
    assert "Current rule:" in html

    client.post_form(page, form_data(activity_types, subject="Month-end close",
                                     start_date="2026-11-30", end_date="2026-11-30",
                                     start_time="09:00", end_time="10:00",
                                     repeat_freq="keep", version=str(activity.version)))
    saved = only_activity()
    assert saved.subject == "Month-end close" and saved.recurrence == GOOGLE_RULE


def test_a_kept_rule_can_be_replaced_or_removed_on_purpose(client, make_user, login,
                                                           make_activity, activity_types):
    user = make_user()
    activity = make_activity(user, start=datetime(2026, 11, 24, 10, tzinfo=UTC),
                             recurrence=GOOGLE_RULE)
    login(client, user)
    page = f"/activities/{activity.id}/edit"
    client.post_form(page, form_data(activity_types, repeat_freq="MONTHLY",
                                     version=str(activity.version)))
    assert only_activity().recurrence == "RRULE:FREQ=MONTHLY"
    client.post_form(page, form_data(activity_types, repeat_freq="",
                                     version=str(only_activity().version)))
    assert only_activity().recurrence == ""


def test_a_series_keeps_repeating_in_its_own_zone_when_edited_from_another(
        client, make_user, login, make_activity, activity_types):
    admin = make_user(role="admin", time_zone="America/New_York")
    owner = make_user(time_zone="Europe/Berlin")
    # Monday 00:30 in Berlin is still Sunday evening in New York.
    activity = make_activity(owner, start=datetime(2026, 11, 22, 23, 30, tzinfo=UTC),
                             recurrence="RRULE:FREQ=WEEKLY;BYDAY=MO")
    login(client, admin)
    page = f"/activities/{activity.id}/edit"
    html = client.get(page).get_data(as_text=True)
    assert re.findall(r'name="repeat_weekdays"[^>]*value="(\w\w)" checked', html) == ["MO"]
    client.post_form(page, form_data(
        activity_types, subject="Night shift", start_date="2026-11-22", start_time="18:30",
        end_date="2026-11-22", end_time="19:30", repeat_freq="WEEKLY",
        repeat_weekdays=["MO"], version=str(activity.version)))
    saved = only_activity()
    assert saved.subject == "Night shift"
    assert saved.time_zone == "Europe/Berlin"
    assert saved.recurrence == "RRULE:FREQ=WEEKLY;BYDAY=MO"
    assert saved.start_at == datetime(2026, 11, 22, 23, 30, tzinfo=UTC)


def test_a_post_without_the_repeat_section_changes_no_rule(client, make_user, login,
                                                           make_activity, activity_types):
    user = make_user()
    activity = make_activity(user, start=datetime(2026, 11, 24, 10, tzinfo=UTC),
                             recurrence=GOOGLE_RULE)
    login(client, user)
    data = {k: v for k, v in form_data(activity_types, version=str(activity.version)).items()
            if not k.startswith("repeat_")}
    client.post_form(f"/activities/{activity.id}/edit", data)
    assert only_activity().recurrence == GOOGLE_RULE
    assert date(2026, 11, 24) == only_activity().start_at.date()
