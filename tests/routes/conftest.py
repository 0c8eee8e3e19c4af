"""What the URL-map tests share: every rule of the app, a small world with one object of
each kind that a URL can name (owned by Sam), and clients logged in as anonymous, Sam (the
owner), Rita (another user) and Ada (an admin).

Users get a password hash computed once and sessions set directly (as Flask-Login would
after a login), so the hundreds of requests these tests make are not spent on scrypt."""
import re
from html.parser import HTMLParser

import pytest
from werkzeug.security import generate_password_hash

from portal.extensions import db

#: endpoints that serve files: not application logic
FILE_ENDPOINTS = {"static": "portal.css", "bootstrap.static": "css/bootstrap.min.css"}
_HASH = {}


def rules(app):
    """(endpoint, rule, method) for every route of the app but HEAD/OPTIONS."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, rule.rule, method))
    return out


def all_rules():
    from portal import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    return rules(app)


def pytest_generate_tests(metafunc):
    """A test asking for ``route`` runs once per (endpoint, rule, method) of the URL map."""
    if "route" in metafunc.fixturenames:
        found = all_rules()
        metafunc.parametrize("route", found, ids=[f"{m} {r}" for _, r, m in found])


def _user(email, role="user", name=None):
    from portal.accounts.models import User

    if "hash" not in _HASH:
        _HASH["hash"] = generate_password_hash("correct-horse-42")
    user = User(email=email, name=name or email.split("@")[0].title(), role=role,
                time_zone="Europe/Madrid", password_hash=_HASH["hash"])
    db.session.add(user)
    db.session.flush()
    return user


class World:
    """One object of each kind a URL can name; everything belongs to Sam."""

    def __init__(self, **items):
        self.__dict__.update(items)

    def url_values(self, rule):
        """Values for the rule's arguments: the existing object each names."""
        values = {}
        for name in rule.arguments:
            values[name] = {
                "activity_id": self.activity.id, "type_id": self.activity_type.id,
                "task_id": self.task.id, "user_id": self.rita.id,
                "contact_id": self.contact.id, "mapping_id": self.mapping.id,
                "run_id": self.run.id, "tag_id": self.tag.id, "email_id": self.email.id,
                "filename": FILE_ENDPOINTS.get(rule.endpoint, "x"),
            }[name]
        return values


@pytest.fixture
def world(app, connect_user, activity_types):
    """The world, with Sam connected to googlesim (pages reach Google)."""
    return _build_world(activity_types, connect_user)


@pytest.fixture
def plain_world(app, activity_types):
    """The world without Google: Sam's calendar mapping exists, no connection."""
    return _build_world(activity_types)


def _build_world(activity_types, connect_user=None):
    from datetime import timedelta

    from portal.accounts.models import UserEmail
    from portal.core.types import utcnow
    from portal.crm.models import Activity, Contact, Tag
    from portal.google.models import CalendarMapping
    from portal.scheduler import services as scheduler
    from portal.scheduler.models import CronTask
    from portal.sync.core.runs import SyncRun

    ada = _user("ada@example.com", role="admin", name="Ada Admin")
    sam = _user("sam@example.com")
    rita = _user("rita@example.com")
    db.session.commit()
    if connect_user is not None:
        sam, mapping = connect_user("sam@example.com", time_zone="Europe/Madrid")
    else:
        mapping = CalendarMapping(user_id=sam.id, activity_type_id=activity_types["Meeting"].id,
                                  calendar_id="sam@example.com", calendar_summary="Sam")
        db.session.add(mapping)
        db.session.commit()
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    activity = Activity(subject="Sam's meeting", activity_type=activity_types["Meeting"],
                        organizer=sam, created_by=sam, time_zone=sam.time_zone,
                        start_at=start, end_at=start + timedelta(hours=1))
    contact = Contact(owner=sam, first_name="Lucía", last_name="Fernández")
    tag = Tag(name="Sam's tag", visibility="private", owner=sam)
    run = SyncRun(job_id="sync-fuzz-1", mapping_id=mapping.id, user_id=sam.id,
                  direction="both", status="succeeded", message="done")
    email = UserEmail(user_id=sam.id, email="sam.private@gmail.com")
    db.session.add_all([activity, contact, tag, run, email])
    scheduler.ensure_default_tasks()
    db.session.commit()
    task = db.session.scalars(db.select(CronTask).order_by(CronTask.id)).first()
    return World(ada=ada, sam=sam, rita=rita, activity=activity, contact=contact, tag=tag,
                 email=email,
                 run=run, mapping=mapping, task=task,
                 activity_type=activity_types["Call"])


@pytest.fixture
def as_user(app):
    """``as_user(user_or_None)``: a client with that user's session (None: anonymous) and
    ``.token``, a CSRF token valid for its session."""

    def make(user):
        client = app.test_client()
        if user is not None:
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
        page = client.get("/profile" if user is not None else "/login")
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
        client.token = match.group(1)
        return client

    return make


class Form:
    """One <form method="post"> of a page: its action and its fields as the page filled them
    (what a browser would submit unchanged)."""

    def __init__(self, action):
        self.action = action
        self.fields = {}  # name -> list of values
        self.options = {}  # select name -> its first option's value

    def names(self):
        return set(self.fields) - {"csrf_token"}

    def values(self):
        return {name: list(values) for name, values in self.fields.items()
                if name != "csrf_token"}


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.form, self.select, self.textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            if (attrs.get("method") or "get").lower() == "post":
                self.form = Form(attrs.get("action") or "")
                self.forms.append(self.form)
            return
        if self.form is None or not attrs.get("name"):
            if tag == "option" and self.select is not None:
                self._option(attrs)
            return
        name, fields = attrs["name"], self.form.fields
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                fields.setdefault(name, [])
                if "checked" in attrs:
                    fields[name].append(attrs.get("value") or "y")
            elif kind not in ("submit", "button", "image", "reset", "file"):
                fields.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select":
            self.select = name
            fields.setdefault(name, [])
        elif tag == "textarea":
            self.textarea = name
            fields.setdefault(name, [""])
        elif tag == "button" and (attrs.get("type") or "submit") == "submit":
            fields.setdefault(name, [attrs.get("value") or ""])

    def _option(self, attrs):
        value = attrs.get("value") or ""
        self.form.options.setdefault(self.select, value)
        if "selected" in attrs:
            self.form.fields[self.select].append(value)

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select" and self.form is not None and self.select:
            if not self.form.fields[self.select]:
                self.form.fields[self.select].append(self.form.options.get(self.select, ""))
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea and self.form is not None:
            self.form.fields[self.textarea] = [data]


@pytest.fixture
def page_forms():
    """``page_forms(html)``: the POST forms of a page (see :class:`Form`)."""

    def parse(html):
        parser = _Forms()
        parser.feed(html)
        return parser.forms

    return parse


class _FormFields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea", "button") and attrs.get("name"):
            self.names.add(attrs["name"])


@pytest.fixture
def form_fields():
    """``form_fields(html)``: the names of every field of every form on a page."""

    def names(html):
        parser = _FormFields()
        parser.feed(html)
        return parser.names - {"csrf_token"}

    return names
