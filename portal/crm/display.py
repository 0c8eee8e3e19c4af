"""How an activity looks wherever it is listed: its CSS classes, its colour accent, whether
it repeats. Template globals in Python rather than Jinja macros: a calendar draws hundreds
of activities per page, and a macro call costs about ten times a function call. The
macros of ``crm/_macros.html`` that other pages use call these too, so each rule is
written once."""
from markupsafe import Markup, escape

from portal.crm.blueprint import bp

_STATUS_CLASSES = {"Held": "held", "Not Held": "not-held"}


def activity_css(activity):
    """``activity`` plus ``held``/``not-held`` and the ``from-google`` hook for activities
    the sync marks as coming from Google."""
    classes = "activity"
    status_class = _STATUS_CLASSES.get(activity.status)
    if status_class:
        classes += " " + status_class
    if getattr(activity, "from_google", False):
        classes += " from-google"
    return classes


def color_attrs(activity):
    """The activity's colour (its own from Google, else its type's) as the accent the CSS
    uses: an inline style attribute, which the CSP allows (never inline script). The value
    is always #rrggbb (the picklist editor and the Google palette are the only sources),
    and escaped all the same."""
    color = getattr(activity, "display_color", None)
    if not color:
        return Markup("")
    color = escape(color)
    return Markup(f' style="--cal-accent: {color}" data-color="{color}"')


def is_repeating(activity):
    """A series, or one occurrence of it shown in the calendar."""
    if getattr(activity, "recurring", False):
        return True
    return "RRULE" in (getattr(activity, "recurrence", None) or "").upper()


@bp.record_once
def _register(state):
    # Globals, not a context processor: imported macros see them too.
    state.app.jinja_env.globals.update(activity_css=activity_css, color_attrs=color_attrs,
                                       is_repeating=is_repeating)
