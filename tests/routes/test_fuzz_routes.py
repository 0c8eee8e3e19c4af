"""Every route and method of the URL map, fed bad input: empty, huge (1 MB), unicode, NUL,
malformed dates and times, overflowing numbers and ids, unknown zones, broken RRULEs,
markup. Nothing may answer 500, and every answer carries the security headers.

Generated from the URL map, so a new route is fuzzed without anyone listing it. Each route
is requested as the user who owns the world's objects (an admin for /admin pages), with a
valid CSRF token, so the input reaches the code behind the forms:

1. every route: all query parameters and form fields at once with junk, about 1 MB of
   query string, a 1 MB form field, ids no row can have in the path;
2. GET routes: each query parameter the view actually reads (recorded on a first request),
   alone, with each typed bad value;
3. POST routes: each field of the form on their page (or, for a button posted from another
   page, each field the view reads - recorded), alone, with each typed bad value, the other
   fields as the page filled them (so the rest is valid).
"""
import pytest
from werkzeug.datastructures import ImmutableMultiDict

#: every query parameter a view may read; pass 1 sends them all
QUERY_NAMES = ["view", "date", "start", "user", "date_from", "date_to", "type", "status",
               "sort", "page", "google", "time", "all_day", "next", "q", "tag", "owner",
               "format", "error", "error_description", "state", "code", "scope",
               "mapping_id", "event_id", "activity"]
#: form fields of POST-only buttons, sent on top of those found on the route's page
GENERIC_FIELDS = ["mapping_id", "event_id", "next", "email", "password", "name",
                  "time_zone", "minutes", "links", "remember", "save_settings",
                  "save_mappings", "submit"]
JUNK = ["", "\x00", "ünïcødé ✓ 🎉 <script>alert(1)</script>'\"&"]
TYPED = ["", " ", "\x00", "a\x00b", "ünï🎉", "-1", "0", "1.5", "1e400", str(2**31),
         str(2**63), "9" * 40, "9999-12-31", "0001-01-01", "2024-02-30", "31/12/2031",
         "25:61", "2031-01-01T99:00", "Mars/Olympus", "../../etc/passwd" + "/x" * 40,
         "FREQ=SECONDLY;COUNT=-5", "RRULE:FREQ=YEARLY;BYMONTH=13;BYMONTHDAY=40",
         "FREQ=DAILY;UNTIL=99991231T235959Z", "EXDATE:notadate", "__new__", "x" * 5000]
ONE_MB = 1_000_000
OVERFLOWING_IDS = [2**31, 2**63, 10**40]


class _RecordingArgs(ImmutableMultiDict):
    """Query parameters that note which names the view asked for."""

    seen = None

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        self.seen.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        self.seen.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self.seen.add(key)
        return super().__contains__(key)


def _names_read(app, send):
    """The query parameters and form fields a request reads, by name: ``send()`` is called
    (with everything, then nothing) while ``request.args`` and ``request.form`` record."""
    seen = set()

    class Request(app.request_class):
        @property
        def args(self):
            return _recording(super().args)

        @property
        def form(self):
            return _recording(super().form)

    def _recording(values):
        recording = _RecordingArgs(values)
        recording.seen = seen
        return recording

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "request_class", Request)
        send(True)
        send(False)  # some are read only when another one is missing
    return seen - {"csrf_token"}


def _check(response, what):
    assert response.status_code < 500, f"{what} -> {response.status_code}"
    assert "Content-Security-Policy" in response.headers, what


def _short(value):
    return repr(value if len(value) < 40 else value[:20] + f"... ({len(value)} chars)")


def test_no_input_makes_a_500(app, world, as_user, page_forms, route):
    endpoint, rule, method = route
    [url_rule] = [r for r in app.url_map.iter_rules()
                  if r.endpoint == endpoint and r.rule == rule]
    client = as_user(world.ada if rule.startswith("/admin") else world.sam)
    path = app.url_map.bind("localhost").build(endpoint, world.url_values(url_rule))
    page = client.get(path).get_data(as_text=True) if "GET" in url_rule.methods else ""
    forms = [f for f in page_forms(page) if f.action in ("", path)] if method == "POST" else []
    fields = sorted(set(GENERIC_FIELDS).union(*(f.names() for f in forms)))

    def send(query=None, data=None, target=path):
        if method == "GET":
            return client.get(target, query_string=query)
        return client.post(target, query_string=query,
                           data={**(data or {}), "csrf_token": client.token})

    # 1. everything at once
    for value in JUNK:
        _check(send({n: value for n in QUERY_NAMES}, {n: value for n in fields}),
               f"{method} {path}: all parameters {_short(value)}")
    share = "x" * (ONE_MB // len(QUERY_NAMES))
    _check(send({n: share for n in QUERY_NAMES}), f"{method} {path}: 1 MB of query")
    body = {n: "y" * (ONE_MB // len(fields)) for n in fields}
    body[fields[0]] = "z" * ONE_MB
    _check(send(data=body), f"{method} {path}: 1 MB form field")
    for name in (a for a in url_rule.arguments if a.endswith("_id")):
        for huge in OVERFLOWING_IDS:
            target = path.replace(f"/{world.url_values(url_rule)[name]}", f"/{huge}", 1)
            _check(send(target=target), f"{method} {target}")

    # 2. each query parameter the view reads, alone
    if method == "GET":
        names = _names_read(app, lambda full: send({n: "x" for n in QUERY_NAMES} if full
                                                   else None))
        for name in sorted(names):
            for value in TYPED:
                _check(send({name: value}), f"GET {path}?{name}={_short(value)}")
        return

    # 3. each field of the page's own forms (or, for a button posted from elsewhere, each
    # field the view reads), alone, the rest as the page filled it
    baselines = [f.values() for f in forms] or [{}]
    for baseline in baselines:
        names = set(baseline) | _names_read(
            app, lambda full: send(data={**baseline, **{n: "1" for n in GENERIC_FIELDS}}
                                   if full else baseline))
        for name in sorted(names):
            for value in TYPED:
                _check(send(data={**baseline, name: [value]}),
                       f"POST {path} {name}={_short(value)}")
