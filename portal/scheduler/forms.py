from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from portal.scheduler.services import MAX_FREQUENCY_MINUTES, MIN_FREQUENCY_MINUTES


class FrequencyForm(FlaskForm):
    minutes = IntegerField(
        "Every (minutes)",
        validators=[InputRequired("Enter a number of minutes."),
                    NumberRange(MIN_FREQUENCY_MINUTES, MAX_FREQUENCY_MINUTES,
                                f"Choose between {MIN_FREQUENCY_MINUTES} and "
                                f"{MAX_FREQUENCY_MINUTES} minutes.")])
    submit = SubmitField("Save")
