"""Forms for contacts, tags and the activity-type picklist."""
from flask_wtf import FlaskForm
from wtforms import (DateField, FieldList, Form, FormField, HiddenField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.crm.contacts import LABELS, TAG_NAME_MAX, ContactError, normalize_email

LABEL_CHOICES = [(label, label.capitalize()) for label in LABELS]
#: rows of each kind the form shows at least (existing ones plus blanks)
MIN_ROWS = 3


class EmailRowForm(Form):
    """One email line; blank lines are ignored."""

    email = StringField("Email", validators=[Optional(), Length(max=254)],
                        filters=[lambda v: (v or "").strip()])
    label = SelectField("Label", choices=LABEL_CHOICES, default="work")

    def validate_email(self, field):
        if field.data:
            try:
                normalize_email(field.data)
            except ContactError:
                raise ValidationError("Enter a valid email address, like name@example.com.")


class PhoneRowForm(Form):
    number = StringField("Phone", filters=[lambda v: (v or "").strip()], validators=[
        Optional(), Length(max=64),
        Regexp(r"^\+?[0-9][0-9 ()./\-]*(\s*(x|ext\.?)\s*[0-9]+)?$",
               message="Use digits, spaces and + ( ) - . only, e.g. +34 600 123 456.")])
    label = SelectField("Label", choices=LABEL_CHOICES, default="mobile")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        allowed = {value for value, _ in self.choices or []}
        if any(value not in allowed for value in self.data or []):
            raise ValidationError("Choose tags from the list (it may have changed; reload).")


def _strip(value):
    return (value or "").strip()


class ContactForm(FlaskForm):
    first_name = StringField("First name", filters=[_strip], validators=[Length(max=100)])
    last_name = StringField("Last name", filters=[_strip], validators=[
        DataRequired("Enter a last name."), Length(max=100)])
    organization = StringField("Organization", filters=[_strip], validators=[Length(max=200)])
    job_title = StringField("Job title", filters=[_strip], validators=[Length(max=200)])
    emails = FieldList(FormField(EmailRowForm), min_entries=MIN_ROWS, max_entries=50)
    phones = FieldList(FormField(PhoneRowForm), min_entries=MIN_ROWS, max_entries=50)
    street = StringField("Street", filters=[_strip], validators=[Length(max=255)])
    city = StringField("City", filters=[_strip], validators=[Length(max=100)])
    postal_code = StringField("Postal code", filters=[_strip], validators=[Length(max=32)])
    region = StringField("Region / state", filters=[_strip], validators=[Length(max=100)])
    country = StringField("Country", filters=[_strip], validators=[Length(max=100)])
    birthday = DateField("Birthday", validators=[Optional()])
    notes = TextAreaField("Notes", filters=[_strip], validators=[Length(max=20000)])
    tags = MultiCheckboxField("Tags", coerce=int, choices=[])
    owner_id = SelectField("Owner", coerce=int, choices=[])
    #: the contact's version when the form was opened, to catch edits made meanwhile
    version = HiddenField()
    submit = SubmitField("Save contact")

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._today = today

    def validate_birthday(self, field):
        if field.data and self._today and field.data > self._today:
            raise ValidationError("A birthday cannot be in the future.")
        if field.data and field.data.year < 1900:
            raise ValidationError("Enter a year after 1900.")

    def validate_emails(self, field):
        seen = set()
        for row in field.entries:
            value = (row.form.email.data or "").lower()
            if value and not row.form.email.errors:
                if value in seen:
                    row.form.email.errors.append("This address is listed twice.")
                    raise ValidationError("An email address is listed twice.")
                seen.add(value)


class TagForm(FlaskForm):
    name = StringField("Tag name", filters=[lambda v: " ".join((v or "").split())],
                       validators=[DataRequired("Enter a tag name."), Length(max=TAG_NAME_MAX)])
    visibility = SelectField("Visible to", choices=[])
    submit = SubmitField("Create tag")


class TagRenameForm(FlaskForm):
    name = StringField("Tag name", filters=[lambda v: " ".join((v or "").split())],
                       validators=[DataRequired("Enter a tag name."), Length(max=TAG_NAME_MAX)])
    submit = SubmitField("Rename tag")


class ActivityTypeColorForm(FlaskForm):
    """A type's colour, from an ``<input type=color>``; the service checks ``#rrggbb``."""

    color = StringField("Colour", filters=[lambda v: (v or "").strip()])


class ActivityTypeNameForm(FlaskForm):
    """Adding a type, or renaming one (the same single field)."""

    name = StringField("Name", filters=[lambda v: " ".join((v or "").split())],
                       validators=[DataRequired("Enter a name for the activity type."),
                                   Length(max=64)])
    submit = SubmitField("Add type")
