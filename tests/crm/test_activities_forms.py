"""Creating and editing activities through the forms: validation, time zones, versions."""
import re
from datetime import date, datetime, timezone

from sqlalchemy import select

from portal.crm.models import Activity
from portal.extensions import db

UTC = timezone.utc


def form_data(activity_types, **overrides):
    data = {"subject": "Pricing call", "activity_type_id": str(activity_types["Call"].id),
            "status": "Planned", "priority": "Medium", "start_date": "2026-11-24",
            "start_time": "10:00", "end_date": "2026-11-24", "end_time": "11:00",
            "location": "", "description": "", "show_in_calendar": "y",
            "reminder_minutes": "", "visibility": "default"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def only_activity():
    return db.session.scalars(select(Activity)).one()


def test_create_timed_activity_converts_the_users_zone_to_utc(client, make_user, login,
                                                             activity_types):
    user = make_user(time_zone="Europe/Madrid")
    login(client, user)
    response = client.post_form("/activities/new", form_data(activity_types))
    assert response.status_code == 302
    activity = only_activity()
    assert activity.start_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert activity.end_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert activity.time_zone == "Europe/Madrid"
    assert activity.organizer_id == user.id and activity.created_by_id == user.id
    assert activity.show_in_calendar is True and activity.version == 1
    assert activity.start_date is None


def test_new_form_defaults_show_in_calendar_on_and_prefills_the_slot(client, make_user, login,
                                                                     activity_types):
    login(client, make_user())
    html = client.get("/activities/new?date=2026-11-24&time=14:00").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*id="show_in_calendar"[^>]*>', html).group(0)
    assert "checked" in checkbox
    assert 'value="2026-11-24"' in html
    assert 'value="14:00"' in html and 'value="15:00"' in html


def test_new_form_survives_garbage_prefill(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.get("/activities/new?date=garbage&time=25:99&user=x&all_day=maybe")
    assert response.status_code == 200


def test_subject_is_required_and_typed_values_are_kept(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(activity_types, subject="",
                                                             location="Room 4"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a subject." in html
    assert re.search(r'<textarea[^>]*name="location"[^>]*>\s*Room 4</textarea>', html)
    assert db.session.scalar(select(Activity.id)) is None


def test_end_before_start_is_shown_next_to_the_end(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(activity_types, end_time="09:00"))
    html = response.get_data(as_text=True)
    assert "The end cannot be before the start." in html
    # The message sits with the end-date field, not at the top of the page.
    end_field = html.index('id="end_date"')
    assert html.index("The end cannot be before the start.") > end_field
    assert html.index("The end cannot be before the start.") < html.index('id="end_time"')
    assert 'value="09:00"' in html
    assert db.session.scalar(select(Activity.id)) is None


def test_end_equal_to_start_is_a_zero_length_activity(client, make_user, login, activity_types):
    """Google has them (a deadline); the CRM saves them too."""
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(activity_types, end_time="10:00"))
    assert response.status_code == 302
    activity = only_activity()
    assert activity.start_at == activity.end_at


def test_all_day_stores_whole_dates_with_an_inclusive_last_day(client, make_user, login,
                                                               activity_types):
    login(client, make_user(time_zone="America/New_York"))
    response = client.post_form("/activities/new", form_data(
        activity_types, all_day="y", start_date="2026-11-24", end_date="2026-11-26",
        start_time="", end_time="garbage"))
    assert response.status_code == 302
    activity = only_activity()
    assert activity.all_day
    assert (activity.start_date, activity.end_date) == (date(2026, 11, 24), date(2026, 11, 26))
    assert activity.start_at is None and activity.end_at is None


def test_all_day_without_last_day_is_a_one_day_activity(client, make_user, login, activity_types):
    login(client, make_user())
    client.post_form("/activities/new", form_data(activity_types, all_day="y", end_date=""))
    activity = only_activity()
    assert activity.start_date == activity.end_date == date(2026, 11, 24)


def test_all_day_last_day_before_first_day_is_refused(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(
        activity_types, all_day="y", start_date="2026-11-24", end_date="2026-11-23"))
    html = response.get_data(as_text=True)
    assert "The last day cannot be before the first day." in html
    assert html.index("The last day cannot be before") > html.index('id="end_date"')


def test_malformed_dates_and_times_are_errors_not_crashes(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(
        activity_types, start_date="24/11/2026", start_time="noon", reminder_minutes="soon",
        activity_type_id="999999", status="Done", organizer_id="abc"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a date like 2026-11-24." in html
    assert "Enter a time like 14:30." in html
    assert 'value="24/11/2026"' in html and 'value="noon"' in html
    assert db.session.scalar(select(Activity.id)) is None


def test_missing_times_for_a_timed_activity_are_reported(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(activity_types, start_time="",
                                                             end_date=""))
    html = response.get_data(as_text=True)
    assert "Enter the start time." in html and "Enter the end date." in html


def test_time_in_the_spring_forward_gap_is_saved_with_a_note(client, make_user, login,
                                                            activity_types):
    login(client, make_user(time_zone="Europe/Madrid"))
    # 02:30 does not exist in Madrid on 29 March 2026.
    response = client.post_form("/activities/new", form_data(
        activity_types, start_date="2026-03-29", start_time="02:30", end_date="2026-03-29",
        end_time="04:00"), follow_redirects=True)
    assert response.status_code == 200
    assert "does not exist" in response.get_data(as_text=True)
    activity = only_activity()
    assert activity.start_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert activity.end_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def test_ambiguous_fall_back_time_takes_the_first_occurrence(client, make_user, login,
                                                             activity_types):
    login(client, make_user(time_zone="Europe/Madrid"))
    # 02:30 happens twice in Madrid on 25 October 2026.
    response = client.post_form("/activities/new", form_data(
        activity_types, start_date="2026-10-25", start_time="02:30", end_date="2026-10-25",
        end_time="03:30"))
    assert response.status_code == 302
    activity = only_activity()
    assert activity.start_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert activity.end_at == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)


def test_edit_shows_times_in_the_viewers_zone_and_bumps_the_version(client, make_user, login,
                                                                    make_activity,
                                                                    activity_types):
    user = make_user(time_zone="Asia/Tokyo")
    activity = make_activity(user, start=datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    login(client, user)
    html = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert 'value="10:00"' in html and 'value="2026-11-24"' in html
    response = client.post_form(f"/activities/{activity.id}/edit", form_data(
        activity_types, subject="Renamed", start_time="10:00", end_time="12:00",
        version=str(activity.version)))
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert saved.subject == "Renamed"
    assert saved.end_at == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    assert saved.version == 2


def test_changing_only_participants_still_changes_the_version(client, make_user, login,
                                                              make_activity, activity_types):
    user, colleague = make_user(), make_user(name="Colleague")
    activity = make_activity(user, start=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    login(client, user)
    client.post_form(f"/activities/{activity.id}/edit", form_data(
        activity_types, subject=activity.subject, activity_type_id=str(activity.activity_type_id),
        participants=str(colleague.id), version="1"))
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert [p.id for p in saved.participants] == [colleague.id]
    assert saved.version == 2


def test_stale_edit_is_refused_and_keeps_what_was_typed(client, make_user, login, make_activity,
                                                        activity_types):
    user = make_user()
    activity = make_activity(user, start=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    activity.subject = "Changed elsewhere"
    db.session.commit()  # version 2 now
    login(client, user)
    response = client.post_form(f"/activities/{activity.id}/edit", form_data(
        activity_types, subject="My edit", version="1"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "changed this activity after you opened it" in html
    assert 'value="My edit"' in html
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).subject == "Changed elsewhere"


def test_organizer_is_never_also_a_participant(client, make_user, login, activity_types):
    user = make_user()
    login(client, user)
    client.post_form("/activities/new", form_data(activity_types, participants=str(user.id)))
    assert only_activity().participants == []


def test_handing_the_activity_to_a_colleague_keeps_the_creator_as_participant(
        client, make_user, login, activity_types):
    user, colleague = make_user(), make_user(name="Colleague")
    login(client, user)
    client.post_form("/activities/new", form_data(activity_types, organizer_id=str(colleague.id)))
    activity = only_activity()
    assert activity.organizer_id == colleague.id
    assert [p.id for p in activity.participants] == [user.id]
    assert activity.created_by_id == user.id


def test_invitees_are_limited_to_the_users_own_contacts(client, make_user, login, activity_types):
    from portal.crm.models import Contact

    user, other = make_user(), make_user()
    mine = Contact(owner=user, last_name="Mine")
    theirs = Contact(owner=other, last_name="Theirs")
    db.session.add_all([mine, theirs])
    db.session.commit()
    login(client, user)
    html = client.get("/activities/new").get_data(as_text=True)
    assert "Mine" in html and "Theirs" not in html
    response = client.post_form("/activities/new", form_data(activity_types,
                                                             invitees=str(theirs.id)))
    assert "Pick contacts from the list." in response.get_data(as_text=True)
    client.post_form("/activities/new", form_data(activity_types, invitees=str(mine.id)))
    assert [c.id for c in only_activity().invitees] == [mine.id]


def test_reminder_must_be_within_four_weeks(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new", form_data(activity_types,
                                                             reminder_minutes="50000"))
    assert "Enter minutes from 0 to 40320" in response.get_data(as_text=True)
    client.post_form("/activities/new", form_data(activity_types, reminder_minutes="15"))
    assert only_activity().reminder_minutes == 15


def test_show_in_calendar_can_be_turned_off(client, make_user, login, activity_types):
    login(client, make_user())
    client.post_form("/activities/new", form_data(activity_types, show_in_calendar=None))
    assert only_activity().show_in_calendar is False


def test_inactive_types_are_not_offered_for_new_activities(client, make_user, login,
                                                           activity_types):
    activity_types["Task"].active = False
    db.session.commit()
    login(client, make_user())
    html = client.get("/activities/new").get_data(as_text=True)
    assert ">Task<" not in html and ">Call<" in html
    response = client.post_form("/activities/new", form_data(
        activity_types, activity_type_id=str(activity_types["Task"].id)))
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_post_without_csrf_is_refused(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post("/activities/new", data=form_data(activity_types))
    assert response.status_code == 400
    assert db.session.scalar(select(Activity.id)) is None


def test_save_redirects_to_a_local_next_only(client, make_user, login, activity_types):
    login(client, make_user())
    response = client.post_form("/activities/new?next=/%3Fview%3Dmonth", form_data(activity_types),
                                page="/activities/new")
    assert response.headers["Location"].endswith("/?view=month")
    response = client.post_form("/activities/new?next=https://evil.example/",
                                form_data(activity_types), page="/activities/new")
    assert "evil.example" not in response.headers["Location"]
