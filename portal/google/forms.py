"""Forms of the Google pages. The mapping form is built per request: one row per active
activity type, with the user's calendars as choices."""
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, Form, FormField, PasswordField, RadioField,
                     SelectField, StringField, SubmitField, URLField)
from wtforms.validators import DataRequired, Length, Optional

from portal.google.models import (CONFLICT_CRM_WINS, CONFLICT_GOOGLE_WINS,
                                  CONFLICT_MOST_RECENT, RETIRED_DELETE, RETIRED_LEAVE,
                                  SYNC_PERIODS)
from portal.google.services import NEW_CALENDAR


class CredentialsForm(FlaskForm):
    api_key = PasswordField("API key", validators=[Optional(), Length(max=255)],
                            description="Optional. Leave empty to keep the stored key.")
    remove_api_key = BooleanField("Remove the stored API key")
    client_id = StringField("OAuth client ID", validators=[DataRequired(), Length(max=255)])
    client_secret = PasswordField("Client secret", validators=[Optional(), Length(max=255)])
    redirect_url = URLField("Redirect URL", validators=[DataRequired(), Length(max=500)],
                            description="Add exactly this URL to the client's "
                                        "\"Authorized redirect URIs\" at Google.")
    submit = SubmitField("Check and save")


class DisconnectForm(FlaskForm):
    links = RadioField(
        "What should happen to the links between your activities and Google events?",
        choices=[("keep", "Keep them, in case I reconnect this same Google account later"),
                 ("forget", "Forget them (a later connection matches the events again)")],
        default="keep", validators=[DataRequired()])
    submit = SubmitField("Disconnect")


PERIOD_LABELS = {15: "Every 15 minutes", 30: "Every 30 minutes", 60: "Every hour",
                 240: "Every 4 hours", 1440: "Daily"}


def _minutes(value):
    """Coerce a posted period; garbage becomes None, which the choices then refuse with
    "Not a valid choice" (``int`` would give "could not coerce")."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SyncSettingsForm(FlaskForm):
    auto_sync = BooleanField("Synchronize calendar automatically")
    period_minutes = SelectField("How often", coerce=_minutes, default=60,
                                 choices=[(p, PERIOD_LABELS[p]) for p in SYNC_PERIODS])
    sync_from = DateField("Synchronize from", validators=[Optional()],
                          description="Nothing older than this day is exported or imported. "
                                      "Leave empty for no limit.")
    save_settings = SubmitField("Save sync settings")


CONFLICT_CHOICES = [(CONFLICT_CRM_WINS, "CRM wins"), (CONFLICT_GOOGLE_WINS, "Google wins"),
                    (CONFLICT_MOST_RECENT, "Most recent change wins")]
OLD_CALENDAR_CHOICES = [(RETIRED_LEAVE, "Leave them there"),
                        (RETIRED_DELETE, "Delete them from that calendar")]


def calendar_choices(calendars, extra=()):
    """Drop-down choices: not synced, the user's calendars, any ``extra`` (id, label) still
    mapped but no longer listed by Google, and "create a new calendar"."""
    choices = [("", "Not synchronized")]
    for cal in calendars:
        label = cal["summary"] + (" (primary)" if cal["primary"] else "")
        if cal["accessRole"] not in ("owner", "writer"):
            label += " (read-only)"
        choices.append((cal["id"], label))
    choices.extend(extra)
    choices.append((NEW_CALENDAR, "Create a new calendar named ..."))
    return choices


def mapping_form(activity_types, choices, **kwargs):
    """A FlaskForm with one ``t<id>`` sub-form per activity type."""

    class MappingForm(FlaskForm):
        save_mappings = SubmitField("Save calendar mappings")

    for activity_type in activity_types:
        name = activity_type.name

        class Row(Form):
            calendar = SelectField(f"Google calendar for {name}", choices=choices)
            new_calendar_name = StringField(f"New calendar name for {name}",
                                            validators=[Optional(), Length(max=200)])
            export_enabled = BooleanField(f"Export {name} to Google")
            import_enabled = BooleanField(f"Import {name} from Google")
            conflict_rule = SelectField(f"When {name} changed on both sides",
                                        choices=CONFLICT_CHOICES, default=CONFLICT_CRM_WINS)
            delete_in_crm = BooleanField(f"Delete {name} in the CRM when deleted in Google")
            # Asked only when the calendar changes; checked by the route.
            old_calendar_action = RadioField(
                f"Events of {name} already exported to the old calendar",
                choices=OLD_CALENDAR_CHOICES, validate_choice=False)

        setattr(MappingForm, f"t{activity_type.id}", FormField(Row, label=name))
    return MappingForm(**kwargs)
