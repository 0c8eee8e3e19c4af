"""Activity forms: the create/edit form and the list filters.

Times are typed in the user's zone and converted to UTC here, at the edge; all-day
activities take a first and a last date (both inclusive).
"""
from datetime import datetime, time, timedelta

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, RadioField,
                     SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField,
                     TimeField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.core.timezones import local_to_utc, to_local
from portal.crm import recurrence_rules as rr
from portal.crm.calendar_view import is_recurring, summarize_recurrence
from portal.crm.models import PRIORITIES, STATUSES
from portal.crm.reminders import Reminders

VISIBILITY_LABELS = {"default": "Calendar default", "public": "Public", "private": "Private"}
REMINDER_MAX_MINUTES = 40320  # four weeks, Google's limit
DATE_HINT = "Enter a date like 2026-11-24."
TIME_HINT = "Enter a time like 14:30."
#: the Repeat choice that leaves a rule the form cannot show as it is
KEEP_RULE = "keep"
REPEAT_CHOICES = [(rr.NO_REPEAT, "Does not repeat"), ("DAILY", "Daily"), ("WEEKLY", "Weekly"),
                  ("MONTHLY", "Monthly"), ("YEARLY", "Yearly")]
INTERVAL_MESSAGE = f"Enter a number from 1 to {rr.MAX_INTERVAL}."
COUNT_MESSAGE = f"Enter a number of occurrences from 1 to {rr.MAX_COUNT}."


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


#: a subject typed in the form; Google's own titles may be longer and are kept
SUBJECT_MAX = 2000
REMINDER_METHODS = (("popup", "Notification"), ("email", "Email"))
REMINDER_RANGE = "Enter minutes from 0 to 40320 (four weeks)."
#: reminder rows on the form (Google keeps at most five)
REMINDER_ROWS = 5


class ActivityForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired("Enter a subject.")])
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
    #: several lines (an address from Google) are kept as they are
    location = TextAreaField("Location", validators=[Optional(), Length(max=2000)],
                             render_kw={"rows": 2})
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
    #: Google creates the Meet when the activity is exported (see sync/calendar/conference.py)
    conference = BooleanField(
        "Add Google Meet video conferencing",
        description="Google Calendar adds a Meet link when the activity is synced; the link "
                    "then shows on the activity. Untick to remove the video call.")
    #: not an activity field: a one-off request for this save (see save_activity)
    notify_guests = BooleanField(
        "Email the guests about this change",
        description="Google Calendar sends the invitation or update to the participants and "
                    "invitees when this change is synced. Otherwise the calendar changes "
                    "without emails.")
    #: Google's reminders: the calendar's defaults, or up to five notifications/emails
    reminders_default = BooleanField(
        "Use the calendar's default reminders",
        description="Google Calendar's own reminders for this calendar. Untick to choose.")
    reminder_method = SelectField("Reminder", choices=list(REMINDER_METHODS), default="popup")
    reminder_minutes = IntegerField(
        "Minutes before", validators=[Optional(), NumberRange(0, REMINDER_MAX_MINUTES,
                                                              REMINDER_RANGE)],
        description="Leave empty for no reminder.")
    visibility = SelectField("Visibility", choices=list(VISIBILITY_LABELS.items()),
                             default="default")
    # -- Repeat (see recurrence_rules); range checks live in _check_repeat so that values
    # left in hidden, irrelevant inputs never block a save
    repeat_freq = SelectField("Repeat", choices=REPEAT_CHOICES, default=rr.NO_REPEAT)
    repeat_interval = IntegerField("Every", default=1,
                                   description="Days, weeks, months or years between "
                                               "repeats: 1 for every one, 2 for every other.")
    repeat_weekdays = SelectMultipleField(
        "On", choices=list(zip(rr.WEEKDAYS, rr.WEEKDAY_LABELS)),
        invalid_choice_message="Pick weekdays from the list.")
    repeat_ends = RadioField("Ends", default=rr.ENDS_NEVER,
                             choices=[(rr.ENDS_NEVER, "Never"),
                                      (rr.ENDS_COUNT, "After a number of occurrences"),
                                      (rr.ENDS_UNTIL, "On a date")])
    repeat_count = IntegerField("Occurrences")
    repeat_until = DateField("Last date", validators=[Optional()],
                             invalid_value_message=DATE_HINT)
    #: the version the form was opened at; a mismatch means someone else saved meanwhile
    version = HiddenField()
    submit = SubmitField("Save activity")

    def __init__(self, *args, types=(), users=(), contacts=(), zone_name="UTC",
                 activity=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_name = zone_name
        #: the activity being edited (None for a new one): values the form shows coarser
        #: than they are stored (seconds) are kept when the person did not change them
        self.original = activity
        #: the recurrence the activity has now; a series keeps repeating in its own zone,
        #: whoever edits it
        self.current_recurrence = (activity.recurrence or "") if activity is not None else ""
        self.rule_zone = (activity.time_zone or zone_name) \
            if activity is not None and is_recurring(activity) else zone_name
        current_weekday = None
        if activity is not None:
            current_weekday = rr.weekday_code(_series_start_day(activity, self.rule_zone))
        self.current_choice = rr.parse_rrule(self.current_recurrence, zone_name=self.rule_zone,
                                             start_weekday=current_weekday)
        #: a summary of the rule the form cannot express ("" when it can)
        self.kept_rule_summary = ""
        if self.current_choice is None:
            self.kept_rule_summary = summarize_recurrence(
                self.current_recurrence, self.rule_zone) or "a custom rule"
            self.repeat_freq.choices = [
                (KEEP_RULE, f"Keep the current rule ({self.kept_rule_summary})"),
                *REPEAT_CHOICES]
            if not self.is_submitted():
                self.repeat_freq.data = KEEP_RULE
        #: the recurrence text to save (set by validate)
        self.recurrence = self.current_recurrence
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
        self.conference.data = bool(activity.conference)
        self.fill_reminders(activity.reminders)
        self.visibility.data = activity.visibility
        self.version.data = str(activity.version)
        self._fill_repeat(self.current_choice,
                          _series_start_day(activity, self.rule_zone))

    def _fill_repeat(self, choice, start_day):
        if start_day is not None:
            self.repeat_weekdays.data = [rr.weekday_code(start_day)]
        if choice is None:
            self.repeat_freq.data = KEEP_RULE
            return
        self.repeat_freq.data = choice.freq
        if not choice.repeats:
            return
        self.repeat_interval.data = choice.interval
        if choice.weekdays:
            self.repeat_weekdays.data = list(choice.weekdays)
        self.repeat_ends.data = choice.ends
        self.repeat_count.data = choice.count
        self.repeat_until.data = choice.until

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
        if day is not None:
            self.repeat_weekdays.data = [rr.weekday_code(day)]

    # -- reminders ------------------------------------------------------------------------

    def reminder_rows(self):
        """[(method field, minutes field)] for each reminder row, the first one first."""
        return [(self.reminder_method, self.reminder_minutes)] + [
            (getattr(self, f"reminder_method_{n}"), getattr(self, f"reminder_minutes_{n}"))
            for n in range(1, REMINDER_ROWS)]

    def fill_reminders(self, reminders):
        self.reminders_default.data = reminders.use_default
        rows = self.reminder_rows()
        for (method, minutes), (kind, value) in zip(rows, reminders.overrides):
            method.data, minutes.data = kind, value

    def reminders(self):
        """The reminders to save, or None when the post had no Reminders section (an older
        page, a script): then the activity keeps its own."""
        if not self.reminder_minutes.raw_data and not self.reminders_default.raw_data:
            return None
        if self.reminders_default.data:
            return Reminders(True, ())
        pairs = [(method.data, minutes.data) for method, minutes in self.reminder_rows()
                 if minutes.data is not None]
        return Reminders.of(False, pairs)

    # -- checking -----------------------------------------------------------------------

    def validate(self, extra_validators=None):
        super().validate(extra_validators)
        self._check_subject_length()
        if self.all_day.data:
            # Times are ignored for all-day activities, whatever is left in them.
            for field in (self.start_time, self.end_time):
                field.errors = []
                field.data = None
            dates_ok = self._check_all_day()
        else:
            dates_ok = self._check_timed()
        # _check_repeat clears the errors of Repeat inputs that do not apply, so the
        # verdict is taken from every field afterwards.
        self._check_repeat()
        return dates_ok and not any(f.errors for f in self)

    def _series_start(self):
        """The first occurrence's local date in the zone the series repeats in."""
        if self.all_day.data or self.start_utc is None:
            return self.start_date.data
        return to_local(self.start_utc, self.rule_zone).date()

    def _check_repeat(self):
        """Turn the Repeat inputs into :attr:`recurrence`; messages go next to the inputs.
        Inputs that do not apply (the weekdays of a daily rule, a count when it never
        ends...) are ignored, whatever they hold."""
        repeat_fields = (self.repeat_interval, self.repeat_weekdays, self.repeat_ends,
                         self.repeat_count, self.repeat_until)
        freq = self.repeat_freq.data
        if not self.repeat_freq.raw_data:
            # A post without the Repeat section (an older page, a script) changes nothing.
            for field in (self.repeat_freq, *repeat_fields):
                field.errors = []
            return True
        if self._repeat_untouched():
            # The rule the form showed, on the same start: nothing to check, nothing to
            # rewrite (a description edit must never be refused over the rule).
            for field in repeat_fields:
                field.errors = []
            self.recurrence = self.current_recurrence
            return True
        if freq == KEEP_RULE or freq == rr.NO_REPEAT or self.repeat_freq.errors:
            for field in repeat_fields:
                field.errors = []
            if not self.repeat_freq.errors:
                choice = None if freq == KEEP_RULE else rr.RepeatChoice()
                self.recurrence = rr.recurrence_text(choice, self.current_recurrence,
                                                     all_day=bool(self.all_day.data),
                                                     zone_name=self.rule_zone)
            return not self.repeat_freq.errors
        ok = True
        interval = self.repeat_interval
        if not (interval.raw_data or [""])[0].strip():
            interval.errors, interval.data = [], 1  # left empty: every day, week...
        if interval.errors or interval.data is None \
                or not 1 <= interval.data <= rr.MAX_INTERVAL:
            interval.errors = [INTERVAL_MESSAGE]
            ok = False
        start_day = self._series_start()
        weekdays = ()
        if freq == "WEEKLY":
            weekdays = tuple(self.repeat_weekdays.data or ())
            if not self.repeat_weekdays.errors and not weekdays:
                self.repeat_weekdays.errors.append("Choose at least one weekday.")
            elif start_day is not None and not self.repeat_weekdays.errors \
                    and rr.weekday_code(start_day) not in weekdays:
                label = rr.WEEKDAY_LABELS[start_day.weekday()]
                self.repeat_weekdays.errors.append(
                    f"The first occurrence is on a {start_day:%A}: tick {label} too, "
                    f"or move the start date.")
            ok = ok and not self.repeat_weekdays.errors
        else:
            self.repeat_weekdays.errors = []
        ends = self.repeat_ends.data if self.repeat_ends.data in rr.ENDS else None
        if ends is None:
            self.repeat_ends.errors = ["Choose how the series ends."]
            ok = False
        else:
            self.repeat_ends.errors = []
        count = self.repeat_count
        if ends == rr.ENDS_COUNT:
            if count.errors or count.data is None or not 1 <= count.data <= rr.MAX_COUNT:
                count.errors = [COUNT_MESSAGE]
                ok = False
        else:
            count.errors = []
        until = self.repeat_until
        if ends == rr.ENDS_UNTIL:
            if until.data is None and not until.errors:
                until.errors.append("Enter the last date of the series.")
            elif until.data is not None and start_day is not None and until.data < start_day:
                until.errors.append("The series cannot end before its first occurrence "
                                    f"({start_day:%d %b %Y}).")
            ok = ok and not until.errors
        else:
            until.errors = []
        if not ok or start_day is None:
            return False
        choice = rr.RepeatChoice(
            freq=freq, interval=interval.data, weekdays=weekdays, ends=ends,
            count=count.data if ends == rr.ENDS_COUNT else None,
            until=until.data if ends == rr.ENDS_UNTIL else None)
        self.recurrence = rr.recurrence_text(choice, self.current_recurrence,
                                             all_day=bool(self.all_day.data),
                                             zone_name=self.rule_zone,
                                             start_weekday=rr.weekday_code(start_day))
        return True

    def _check_subject_length(self):
        """Long titles come from Google; only a subject typed here is held to the limit,
        so an edit of another field is never refused over the title."""
        subject = self.subject.data or ""
        unchanged = self.original is not None and subject.strip() == (
            self.original.subject or "").strip()
        if len(subject) > SUBJECT_MAX and not unchanged:
            self.subject.errors.append(f"Keep the subject under {SUBJECT_MAX} characters.")

    def _repeat_untouched(self):
        """True when the Repeat inputs say what the form showed and the series starts where
        it did."""
        current = self.current_choice
        if self.original is None or current is None or not current.repeats \
                or self.repeat_freq.errors or self.repeat_freq.data != current.freq:
            return False
        if bool(self.all_day.data) != bool(self.original.all_day):
            return False
        if self.all_day.data:
            if self.start_date.data != self.original.start_date:
                return False
        elif self.start_utc is None or self.start_utc != self.original.start_at:
            return False
        interval = self.repeat_interval.data if self.repeat_interval.data is not None else 1
        weekdays = tuple(d for d in rr.WEEKDAYS if d in (self.repeat_weekdays.data or ()))
        if current.freq != "WEEKLY":
            weekdays = current.weekdays
        ends = self.repeat_ends.data
        return (interval == current.interval and weekdays == current.weekdays
                and ends == current.ends
                and (ends != rr.ENDS_COUNT or self.repeat_count.data == current.count)
                and (ends != rr.ENDS_UNTIL or self.repeat_until.data == current.until))

    def _time_zone(self):
        """The zone to save: a series keeps repeating in its own; an activity whose times
        the person did not touch keeps its own (a flight Google keeps in Tokyo time stays
        so when only its title is edited); else the viewer's, the zone they typed in."""
        if self.recurrence:
            return self.rule_zone
        original = self.original
        if original is not None and bool(self.all_day.data) == bool(original.all_day):
            if original.all_day:
                unchanged = (self.start_date.data, self.end_date.data) == (
                    original.start_date, original.end_date)
            else:
                unchanged = (self.start_utc, self.end_utc) == (original.start_at,
                                                               original.end_at)
            if unchanged:
                return original.time_zone or self.zone_name
        return self.zone_name

    def _kept_if_unchanged(self, typed_local, typed_utc, stored):
        """``stored`` when the typed wall-clock time is what the form showed of it (to the
        minute), else the typed time: an edit of another field never drops its seconds, nor
        moves a time in the repeated hour of a DST change to its first occurrence."""
        if stored is None or typed_utc is None:
            return typed_utc
        shown = to_local(stored, self.zone_name).replace(second=0, microsecond=0, tzinfo=None)
        return stored if typed_local == shown else typed_utc

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
        original = self.original
        if original is not None and not original.all_day:
            self.start_utc = self._kept_if_unchanged(start_local, self.start_utc,
                                                     original.start_at)
            self.end_utc = self._kept_if_unchanged(end_local, self.end_utc, original.end_at)
        if self.end_utc < self.start_utc:
            self.end_date.errors.append("The end cannot be before the start.")
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
            # Browsers post text areas with CRLF line ends; the CRM (and Google) keep LF.
            location=_lines_of(self.location.data).strip(),
            description=_lines_of(self.description.data),
            organizer_id=self.organizer_id.data,
            show_in_calendar=bool(self.show_in_calendar.data),
            conference=bool(self.conference.data),
            visibility=self.visibility.data,
            time_zone=self._time_zone(),
            recurrence=self.recurrence,
        )
        if not values["conference"]:
            # Unticked: the old link is gone for the CRM at once (the sync removes it in Google)
            values.update(conference_url="", conference_name="")
        reminders = self.reminders()
        if reminders is not None:
            values["reminders"] = reminders
        if values["all_day"]:
            values.update(start_date=self.start_date.data, end_date=self.end_date.data,
                          start_at=None, end_at=None)
        else:
            values.update(start_at=self.start_utc, end_at=self.end_utc,
                          start_date=None, end_date=None)
        return values


for _n in range(1, REMINDER_ROWS):
    setattr(ActivityForm, f"reminder_method_{_n}",
            SelectField("Reminder", choices=list(REMINDER_METHODS), default="popup"))
    setattr(ActivityForm, f"reminder_minutes_{_n}", IntegerField(
        "Minutes before", validators=[Optional(), NumberRange(0, REMINDER_MAX_MINUTES,
                                                              REMINDER_RANGE)]))


def _lines_of(text):
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _series_start_day(activity, zone_name):
    """The local date ``activity`` starts on, in the zone its series repeats in."""
    if activity.all_day:
        return activity.start_date
    if activity.start_at is None:
        return None
    return to_local(activity.start_at, zone_name).date()


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
