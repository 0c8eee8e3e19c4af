"""How an activity looks wherever it is listed: its CSS classes, its colour accent, whether
it repeats, and the calendar's item for it. Template globals in Python rather than Jinja
macros: a calendar draws hundreds of activities per page, and a macro call costs about ten
times a function call (a month's hundred items took 9 ms as macros on a slow machine, about
4 ms here). The macros of ``crm/_macros.html`` that other pages use call these too, so each
rule is written once."""
from types import SimpleNamespace

from flask import current_app, g, url_for
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


def calendar_item(entry, activity_url=None, back=None):
    """One activity on one day of a calendar grid (``entry`` a CalendarEntry of a CRM
    activity; Google events have their own macro, ``google_item``). ``activity_url`` builds
    its link (the page's url_builder), else a url_for with ``next=back``. The marks read
    the display attributes :func:`portal.crm.activities.annotate` sets; an activity nobody
    annotated is annotated here."""
    a = entry.activity
    if getattr(a, "locked_reason", _MISSING) is _MISSING:
        from portal.crm.activities import annotate

        annotate([a])
    label = entry.time_label
    classes = "cal-item " + activity_css(a)
    if entry.continued:
        classes += " continued"
    if entry.continues:
        classes += " continues"
    href = activity_url(a.id) if activity_url is not None \
        else url_for("crm.activity_detail", activity_id=a.id, next=back)
    title = f"{label} · {a.subject}"
    if a.location:
        title += f" · {a.location}"
    if a.conference_url:
        title += f" · {a.conference_name or 'Video call'}: {a.conference_url}"
    marks = _marks()
    # Plain strings, each value escaped once (Markup.format goes through a Python formatter,
    # several times slower).
    parts = [f'<a class="{escape(classes)}"{color_attrs(a)}\n   href="{escape(href)}"\n'
             f'   title="{escape(title)}"\n   data-activity-id="{escape(a.id)}">']
    if a.status == "Held":
        parts.append(marks["held"])
    parts.append(f'<span class="cal-time">{escape(label)}</span>')
    # The marks come before the subject: a long subject is cut off with an ellipsis.
    if a.from_google:
        parts.append(marks["google_mark"])
    elif a.google_synced:
        parts.append(marks["synced_mark"])
    if is_repeating(a):
        parts.append(marks["repeat_mark"])
    if a.conference_url:
        parts.append(marks["conference_mark"])
    parts.append(f' <span class="cal-subject">{escape(a.subject)}</span>\n</a>')
    return Markup("".join(parts))


_MISSING = object()
#: the marks, rendered once per request (their icon links depend on the request's root) by
#: the same macros the other pages draw them with, from stand-ins that carry one mark each
_MARKS = """{% from 'bootstrap5/utils.html' import render_icon %}\
{% from 'crm/_macros.html' import activity_badges with context %}\
{{ render_icon('check2-circle', size='0.9em') }}<span class="visually-hidden">Held: </span> \x00\
{{ activity_badges(from_google) }}\x00{{ activity_badges(synced) }}\x00\
{{ activity_badges(repeats) }}\x00\
<span class="conference-mark" data-testid="conference-mark">\
{{ render_icon('camera-video', size='0.9em') }}\
<span class="visually-hidden"> Video call</span></span>"""


def _marks():
    marks = g.get("_calendar_item_marks")
    if marks is None:
        template = current_app.extensions.get("calendar_item_marks")
        if template is None:
            template = current_app.extensions["calendar_item_marks"] = \
                current_app.jinja_env.from_string(_MARKS)
        plain = dict(from_google=False, google_synced=False, recurring=False)
        rendered = template.render(
            from_google=SimpleNamespace(**dict(plain, from_google=True)),
            synced=SimpleNamespace(**dict(plain, google_synced=True)),
            repeats=SimpleNamespace(**dict(plain, recurring=True)))
        marks = g._calendar_item_marks = dict(zip(
            ("held", "google_mark", "synced_mark", "repeat_mark", "conference_mark"),
            rendered.split("\x00")))
    return marks


@bp.record_once
def _register(state):
    # Globals, not a context processor: imported macros see them too.
    state.app.jinja_env.globals.update(activity_css=activity_css, color_attrs=color_attrs,
                                       is_repeating=is_repeating,
                                       calendar_item=calendar_item)
