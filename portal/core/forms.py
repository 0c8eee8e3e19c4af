"""Form helpers shared by every feature."""
from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A POST-only button: only the CSRF token travels."""
