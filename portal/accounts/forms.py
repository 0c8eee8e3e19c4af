"""Account forms: login, profile, admin user editing."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from portal.accounts.models import ROLES
from portal.accounts.passwords import MIN_LENGTH, RULES
from portal.core.timezones import is_valid_zone


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in")
    submit = SubmitField("Log in")


def _check_zone(form, field):
    if not is_valid_zone(field.data):
        raise ValidationError("Choose a time zone from the list, e.g. Europe/Madrid.")


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)],
                       description="Used to log in and to recognise you among Google attendees.")
    time_zone = StringField("Time zone", validators=[DataRequired(), _check_zone],
                            description="IANA name, e.g. America/New_York.")
    submit = SubmitField("Save profile")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password",
                                 validators=[DataRequired(), Length(min=MIN_LENGTH)],
                                 description=RULES)
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")])
    submit = SubmitField("Change password")


class UserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    time_zone = StringField("Time zone", default="UTC", validators=[DataRequired(), _check_zone])
    role = SelectField("Role", choices=[(r, r.capitalize()) for r in ROLES])
    active = BooleanField("Active", default=True)
    password = PasswordField("Password", validators=[Optional(), Length(min=MIN_LENGTH)],
                             description=RULES + " Leave empty to keep the current one.")
    submit = SubmitField("Save user")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_LENGTH)],
                             description=RULES)
    submit = SubmitField("Reset password")
