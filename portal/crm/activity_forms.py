"""Activity forms: the create/edit form and the list filters.

Times are typed in the user's zone and converted to UTC here, at the edge; all-day
activities take a first and a last date (both inclusive).
"""
from datetime import datetime, time, timedelta

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField, TimeField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.core.timezones import local_to_utc, to_local
from portal.crm.models import PRIORITIES, STATUSES

VISIBILITY_LABELS = {"default": "Calendar default", "public": "Public", "private": "Private"}
REMINDER_MAX_MINUTES = 40320  # four weeks, Google's limit
DATE_HINT = "Enter a date like 2026-11-24."
TIME_HINT = "Enter a time like 14:30."


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ActivityForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired("Enter a subject."),
                                                 Length(max=255)])
    activity_type_id = SelectField("Activity type", coerce=_int_or_none,
                                   validators=[DataRequired("Choose an activity type.")])
    status = SelectField("Status", choices=[(s, s) for s in STATUSES], default=STATUSES[0])
    priority = SelectField("Priority", choices=[(p, p) for p in PRIORITIES], default="Medium")
    all_day = BooleanField("All day")
    start_date = DateField("Start date", validators=[Optional()],
                           invalid_value_message=DATE_HINT)
    start_time = TimeField("Start time", format=["%H:%M", "%H:%M:%S"],
                           validators=[Optional()], invalid_value_message=TIME_HINT)
    end_date = DateField("End date", validators=[Optional()], invalid_value_message=DATE_HINT,
                         description="For all-day activities, the last day (included).")
    end_time = TimeField("End time", format=["%H:%M", "%H:%M:%S"],
                           validators=[Optional()], invalid_value_message=TIME_HINT)
    location = StringField("Location", validators=[Optional(), Length(max=255)])
    description = TextAreaField("Description", validators=[Optional()],
                                render_kw={"rows": 4})
    #: left out, it means the creator (new activities) or the current organizer (edits)
    organizer_id = SelectField(
        "Organizer", coerce=_int_or_none, validators=[Optional()],
        description="The organizer (and admins) may change the activity; participants only "
                    "see it. Hand it to a colleague and you stay on as a participant.")
    participants = SelectMultipleField(
        "Participants (users)", coerce=int, render_kw={"size": 5},
        invalid_choice_message="Pick people from the list.",
        description="Colleagues who take part; they see it read-only. "
                    "Hold Ctrl (⌘ on a Mac) to pick several.")
    invitees = SelectMultipleField("Invitees (contacts)", coerce=int, render_kw={"size": 5},
                                   invalid_choice_message="Pick contacts from the list.",
                                   description="Your contacts who are invited.")
    show_in_calendar = BooleanField("Show in calendar", default=True)
    #: not an activity field: a one-off request for this save (see save_activity)
    notify_guests = BooleanField(
        "Email the guests about this change",
        description="Google Calendar sends the invitation or update to the participants and "
                    "invitees when this change is synced. Otherwise the calendar changes "
                    "without emails.")
    reminder_minutes = IntegerField(
        "Reminder (minutes before)",
        validators=[Optional(), NumberRange(0, REMINDER_MAX_MINUTES,
                                            "Enter minutes from 0 to 40320 (four weeks).")],
        description="Leave empty for no reminder.")
    visibility = SelectField("Visibility", choices=list(VISIBILITY_LABELS.items()),
                             default="default")
    #: the version the form was opened at; a mismatch means someone else saved meanwhile
    version = HiddenField()
    submit = SubmitField("Save activity")

    def __init__(self, *args, types=(), users=(), contacts=(), zone_name="UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_name = zone_name
        self.activity_type_id.choices = [("", "Choose…")] + [
            (t.id, t.name if t.active else f"{t.name} (inactive)") for t in types]
        self.organizer_id.choices = [(u.id, u.name) for u in users]
        self.participants.choices = [(u.id, u.name) for u in users]
        self.invitees.choices = [
            (c.id, c.full_name + (f" · {c.organization}" if c.organization else ""))
            for c in contacts]
        #: notes about moved wall-clock times (DST gaps), shown after saving
        self.notes = []
        self.start_utc = self.end_utc = None

    # -- filling ------------------------------------------------------------------------

    def fill_from(self, activity):
        """Show ``activity`` in the viewer's zone (on GET)."""
        self.subject.data = activity.subject
        self.activity_type_id.data = activity.activity_type_id
        self.status.data = activity.status
        self.priority.data = activity.priority
        self.all_day.data = activity.all_day
        if activity.all_day:
            self.start_date.data, self.end_date.data = activity.start_date, activity.end_date
            self.start_time.data = self.end_time.data = None
        else:
            start = to_local(activity.start_at, self.zone_name)
            end = to_local(activity.end_at, self.zone_name)
            self.start_date.data, self.start_time.data = start.date(), start.time()
            self.end_date.data, self.end_time.data = end.date(), end.time()
        self.location.data = activity.location
        self.description.data = activity.description
        self.organizer_id.data = activity.organizer_id
        self.participants.data = [u.id for u in activity.participants]
        self.invitees.data = [c.id for c in activity.invitees]
        self.show_in_calendar.data = activity.show_in_calendar
        self.reminder_minutes.data = activity.reminder_minutes
        self.visibility.data = activity.visibility
        self.version.data = str(activity.version)

    def prefill(self, day=None, hour=None, minute=0, all_day=False, organizer_id=None):
        """A new activity from a calendar slot: ``day`` at ``hour`` for an hour."""
        if day is not None:
            self.start_date.data = self.end_date.data = day
        self.all_day.data = bool(all_day)
        if not all_day and day is not None:
            start = datetime.combine(day, time(hour if hour is not None else 9, minute))
            end = start + timedelta(hours=1)
            self.start_time.data, self.end_time.data = start.time(), end.time()
            self.end_date.data = end.date()
        if organizer_id is not None:
            self.organizer_id.data = organizer_id

    # -- checking -----------------------------------------------------------------------

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.all_day.data:
            # Times are ignored for all-day activities, whatever is left in them.
            for field in (self.start_time, self.end_time):
                field.errors = []
                field.data = None
            checked = self._check_all_day()
            ok = checked and not any(f.errors for f in self)
        else:
            ok = self._check_timed() and ok
        return ok

    def _check_all_day(self):
        ok = True
        if self.start_date.data is None and not self.start_date.errors:
            self.start_date.errors.append("Enter the first day.")
            ok = False
        if (self.end_date.data is None and not self.end_date.errors
                and self.start_date.data is not None):
            # A one-day activity: the last day is the first day.
            self.end_date.data = self.start_date.data
        if (ok and self.start_date.data and self.end_date.data
                and self.end_date.data < self.start_date.data):
            self.end_date.errors.append("The last day cannot be before the first day.")
            ok = False
        return ok and not self.start_date.errors and not self.end_date.errors

    def _check_timed(self):
        ok = True
        for field, message in ((self.start_date, "Enter the start date."),
                               (self.start_time, "Enter the start time."),
                               (self.end_date, "Enter the end date."),
                               (self.end_time, "Enter the end time.")):
            if field.data is None:
                if not field.errors:
                    field.errors.append(message)
                ok = False
        if not ok:
            return False
        start_local = datetime.combine(self.start_date.data, self.start_time.data)
        end_local = datetime.combine(self.end_date.data, self.end_time.data)
        self.start_utc = local_to_utc(start_local, self.zone_name)
        self.end_utc = local_to_utc(end_local, self.zone_name)
        if self.end_utc <= self.start_utc:
            self.end_date.errors.append("The end must be after the start.")
            return False
        for naive in (start_local, end_local):
            note = wall_clock_note(naive, self.zone_name)
            if note:
                self.notes.append(note)
        return True

    def values(self):
        """Model values for :func:`portal.crm.activities.save_activity` (after validate)."""
        values = dict(
            subject=self.subject.data.strip(),
            activity_type_id=self.activity_type_id.data,
            status=self.status.data,
            priority=self.priority.data,
            all_day=bool(self.all_day.data),
            location=(self.location.data or "").strip(),
            description=self.description.data or "",
            organizer_id=self.organizer_id.data,
            show_in_calendar=bool(self.show_in_calendar.data),
            reminder_minutes=self.reminder_minutes.data,
            visibility=self.visibility.data,
            time_zone=self.zone_name,
        )
        if values["all_day"]:
            values.update(start_date=self.start_date.data, end_date=self.end_date.data,
                          start_at=None, end_at=None)
        else:
            values.update(start_at=self.start_utc, end_at=self.end_utc,
                          start_date=None, end_date=None)
        return values


def wall_clock_note(naive, zone_name):
    """Why a typed local time was moved, or None.

    A time in a DST gap (02:30 on a spring-forward night) does not exist; it is kept as the
    same instant the clock shows just after the jump. An ambiguous time (the repeated hour
    in autumn) takes its first occurrence, which needs no note.
    """
    converted = local_to_utc(naive, zone_name)
    shown = to_local(converted, zone_name).replace(tzinfo=None)
    if shown != naive:
        return (f"{naive:%H:%M} does not exist on {naive:%d %b %Y} in {zone_name} "
                f"(the clocks jump forward); it was saved as {shown:%H:%M}.")
    return None


class ActivityFilterForm(FlaskForm):
    """The list filters: a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    type = SelectField("Type", coerce=_int_or_none, validators=[Optional()])
    status = SelectField("Status", choices=[("", "Any status")] + [(s, s) for s in STATUSES],
                         validators=[Optional()])
    date_from = DateField("From", validators=[Optional()], invalid_value_message=DATE_HINT)
    date_to = DateField("To", validators=[Optional()], invalid_value_message=DATE_HINT)
    sort = SelectField("Sort", choices=[("start", "Start, earliest first"),
                                        ("-start", "Start, latest first")],
                       validators=[Optional()])

    def __init__(self, *args, types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.type.choices = [("", "Any type")] + [(t.id, t.name) for t in types]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if (self.date_from.data and self.date_to.data
                and self.date_to.data < self.date_from.data):
            self.date_to.errors.append("The end of the range is before its start.")
            ok = False
        return ok
