"""Helpers for the adversarial end-to-end scenarios (issue 9).

Every scenario drives real flows: googlesim through the real google-api-python-client, the
real database, RQ jobs on a real worker (the ``sync`` fixture), and the real pages through
the test client. The helpers here only read what a user would see: what Google holds (the
sim's control API, as the account's owner) and what the CRM shows (rows and pages).
"""
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google import services as google_services
from portal.sync.calendar.models import EventLink

UTC = timezone.utc


# -- what Google holds ----------------------------------------------------------------------

def live(sim, email, calendar_id=None):
    """The events a Google user sees in one calendar (cancelled ones left out)."""
    return [ev for ev in sim.events(email, calendar_id or email)
            if ev.get("status") != "cancelled"]


def live_by_summary(sim, email, calendar_id=None):
    return {ev.get("summary", ""): ev for ev in live(sim, email, calendar_id)}


def google_instances(user, event_id, calendar_id=None):
    """The occurrences Google shows for a series (exceptions applied), via the real client."""
    calendar = google_services.client_for(user).calendar
    items = calendar.events().instances(calendarId=calendar_id or user.email,
                                        eventId=event_id).execute()
    return [i for i in items["items"] if i.get("status") != "cancelled"]


def attendee(event, email):
    return next(a for a in event.get("attendees") or () if a["email"] == email)


def local(value, zone):
    """An RFC 3339 string or aware datetime as naive local wall-clock time in ``zone``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def when(naive_local, zone):
    """A Google ``start``/``end`` object: a local time without offset plus its zone."""
    return {"dateTime": naive_local, "timeZone": zone}


# -- what the CRM shows ---------------------------------------------------------------------

def activities(**where):
    query = db.select(Activity).order_by(Activity.id)
    for key, value in where.items():
        query = query.where(getattr(Activity, key) == value)
    return db.session.scalars(query).all()


def fresh(activity):
    db.session.expire_all()
    return db.session.get(Activity, activity.id if hasattr(activity, "id") else activity)


def edit(activity, actor=None, **values):
    """A person edits the activity in the CRM (through the one write path) and saves."""
    activity = fresh(activity)
    crm.save_activity(activity, actor=actor or activity.organizer, **values)
    db.session.commit()
    return fresh(activity)


def delete(activity, actor=None):
    activity = fresh(activity)
    crm.delete_activity(activity, actor=actor or activity.organizer)
    db.session.commit()


def links(**where):
    query = db.select(EventLink).order_by(EventLink.id)
    for key, value in where.items():
        query = query.where(getattr(EventLink, key) == value)
    return db.session.scalars(query).all()


def entries(run, action=None):
    return [e for e in run.entries if action is None or e.action == action]


# -- a browser's view of a form -------------------------------------------------------------

#: input types whose value a browser strips of line breaks (HTML's value sanitization)
_SINGLE_LINE = ("text", "search", "tel", "url", "email", "password", "hidden")


class _FormParser(HTMLParser):
    """Collects every <form> of a page with the fields a browser would submit."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []  # [{"attrs": {...}, "fields": [(name, value)], "buttons": [...]}]
        self.form = None
        self.select = None
        self.select_multiple = False
        self.options = []
        self.option = None
        self.textarea = None
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = {"attrs": a, "fields": [], "buttons": []}
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        fields = self.form["fields"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            name = a.get("name")
            if not name or kind in ("file", "image", "reset", "button"):
                return
            if kind == "submit":
                self.form["buttons"].append((name, a.get("value", "")))
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields.append((name, a.get("value", "on")))
                return
            value = a.get("value") or ""
            if kind in _SINGLE_LINE:
                value = value.replace("\r", "").replace("\n", "")
            fields.append((name, value))
        elif tag == "button" and a.get("name"):
            self.form["buttons"].append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = a.get("name")
            self.select_multiple = "multiple" in a
            self.options = []
        elif tag == "option" and self.select:
            self.option = (a.get("value"), "selected" in a)
            self.text = []
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.text = []

    def handle_data(self, data):
        if self.textarea or self.option is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if self.form is None:
            return
        fields = self.form["fields"]
        if tag == "form":
            self.form = None
        elif tag == "option" and self.option is not None:
            value, selected = self.option
            self.options.append((value if value is not None else "".join(self.text), selected))
            self.option = None
        elif tag == "select" and self.select:
            chosen = [v for v, s in self.options if s]
            if not chosen and not self.select_multiple and self.options:
                chosen = [self.options[0][0]]
            for value in chosen:
                fields.append((self.select, value))
            self.select = None
        elif tag == "textarea" and self.textarea:
            # HTML reads CR LF and CR as LF, then drops one newline right after <textarea>
            text = "".join(self.text).replace("\r\n", "\n").replace("\r", "\n")
            if text.startswith("\n"):
                text = text[1:]
            # and browsers submit a textarea's line breaks as CRLF
            text = text.replace("\n", "\r\n")
            fields.append((self.textarea, text))
            self.textarea = None


def page_forms(html):
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def find_form(html, testid=None, has_field=None):
    for form in page_forms(html):
        names = {n for n, _ in form["fields"]} | {n for n, _ in form["buttons"]}
        if testid is not None and form["attrs"].get("data-testid") != testid:
            continue
        if has_field is not None and has_field not in names:
            continue
        return form
    raise AssertionError(f"no form {testid or has_field!r} on the page")


def form_fields(html, testid="activity-form"):
    return find_form(html, testid=testid)["fields"]


def post_form_page(client, url, changes, testid=None, has_field=None, button=None,
                   action=None):
    """Open ``url``, change some inputs of one form as a person would, press ``button``
    (a name, or (name, value)) and return the response of the POST.

    ``changes``: input name -> value (a list for multi-selects, None to untick/empty)."""
    from werkzeug.datastructures import MultiDict

    page = client.get(url)
    assert page.status_code == 200, f"{url} answered {page.status_code}"
    form = find_form(page.get_data(as_text=True), testid=testid, has_field=has_field)
    data = {}
    for name, value in form["fields"]:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        elif isinstance(value, (list, tuple)):
            data[name] = [str(v) for v in value]
        else:
            data[name] = [str(value)]
    if button is not None:
        name, value = button if isinstance(button, tuple) else (button, dict(
            form["buttons"]).get(button, ""))
        data[name] = [value]
    return client.post(action or form["attrs"].get("action") or url,
                       data=MultiDict([(k, v) for k, vs in data.items() for v in vs]))


def submit_activity_form(client, activity_id, **changes):
    """Open the activity's edit page, change some inputs, save; returns the response."""
    return post_form_page(client, f"/activities/{activity_id}/edit", changes,
                          testid="activity-form")


def create_activity_via_form(client, **fields):
    """Fill in the *New activity* page and save; returns the response."""
    return post_form_page(client, "/activities/new", fields, testid="activity-form")


def answer_from_crm(client, activity_id, answer):
    """Press Yes / Maybe / No on the activity page."""
    page = client.get(f"/activities/{activity_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert 'data-testid="rsvp"' in html, "the page offers no answer buttons"
    return client.post(f"/activities/{activity_id}/answer",
                       data={"csrf_token": token.group(1), "answer": answer})




def crm_calendar(user, first, last):
    """What ``user``'s CRM calendar shows from ``first`` to ``last`` (aware datetimes):
    sorted (start instant or date, subject) of every occurrence."""
    db.session.expire_all()
    items = crm.occurrences_in_range(user, first, last, zone_name=user.time_zone)
    return sorted(((i.start_at if not i.all_day else i.start_date), i.subject) for i in items)


def google_starts(user, event_id, calendar_id=None):
    """The instants of a series' occurrences as Google shows them (aware UTC)."""
    return sorted(datetime.fromisoformat(i["start"]["dateTime"]).astimezone(UTC)
                  for i in google_instances(user, event_id, calendar_id))


# -- Google connection and mapping pages ----------------------------------------------------

CLIENT_ID = "portal-sync.apps.googleusercontent.com"  # registered by tests/conftest.py
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"


def reconnect(sim, user, email=None):
    """The user goes through *Authorize and Connect* again (``email``: the Google account
    chosen on the consent page; default the one they had)."""
    from datetime import timedelta

    from portal.core.types import utcnow

    email = email or google_services.get_connection(user).google_email
    sim.create_account(email)
    scopes = [CALENDAR_SCOPE, "openid", "email"]
    tokens = sim.issue_tokens(email, CLIENT_ID, scopes)
    google_services.complete_connect(
        user, email=email, granted_scopes=scopes, refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=utcnow() + timedelta(seconds=tokens["expires_in"]))
    db.session.commit()


def disconnect(client, links="forget"):
    response = post_form_page(client, "/google/disconnect", {"links": links},
                              has_field="links")
    assert response.status_code == 302
    return response


def save_mapping(client, activity_type, **row):
    """Change one row of the *Google Calendar* mapping form and save it. ``row``: calendar,
    export_enabled, import_enabled (True/False), conflict_rule, delete_in_crm,
    old_calendar_action ("leave"/"delete")."""
    changes = {}
    for key, value in row.items():
        name = f"t{activity_type.id}-{key}"
        if value is True:
            value = "y"
        elif value is False:
            value = None
        changes[name] = value
    response = post_form_page(client, "/google/sync", changes, has_field="save_mappings",
                              button="save_mappings")
    assert response.status_code == 302, _errors(response)
    return response


def _errors(response):
    html = response.get_data(as_text=True)
    return re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]*)', html) or html[-1500:]
