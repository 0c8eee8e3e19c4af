"""Links from Google data are hrefs only when they are https on a Google host (or the
configured GOOGLE_BASE_URL origin)."""
import pytest

from portal.core.links import safe_google_link

SIM = "http://127.0.0.1:5055"


@pytest.mark.parametrize("url", [
    "https://www.google.com/calendar/event?eid=abc",
    "https://calendar.google.com/calendar/r/eventedit/abc",
    "https://meet.google.com/abc-defg-hij",
    "https://drive.google.com/open?id=1",
    "https://docs.google.com/document/d/1/edit",
    "https://google.com/",
    "https://WWW.GOOGLE.COM:443/calendar",
    SIM + "/calendar/event?eid=abc",
])
def test_google_links_are_kept(url):
    assert safe_google_link(url, SIM) == url


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:x",
    "http://www.google.com/calendar/event?eid=abc",  # not https
    "https://google.com.evil.example/", "https://evilgoogle.com/", "https://google.co/",
    "https://www.google.com@evil.example/", "https://user:pw@www.google.com/",
    "https://www.google.com:8443/", "https://www.google.com/\nSet-Cookie:x",
    "https://www.google.com\\@evil.example/", "//www.google.com/", "/relative",
    "https://[::1/", "http://127.0.0.1:5056/other-port", "https://127.0.0.1:5055/",
    "https://www.google.com/" + "a" * 3000, "", None, 42,
])
def test_anything_else_is_not_a_link(url):
    assert safe_google_link(url, SIM) is None


def test_the_sandbox_origin_counts_only_when_configured():
    assert safe_google_link(SIM + "/x", None) is None


def test_an_activity_page_links_only_a_safe_google_link(app, client, login, connect_user,
                                                        sim, sync):
    from portal.crm.models import Activity
    from portal.extensions import db
    from portal.sync.calendar.models import EventLink

    ann, mapping = connect_user()
    # Someone else's meeting: its edit page is the read-only page with the Google link.
    sim.insert_event(ann.email, ann.email, {
        "summary": "From Google", "start": {"dateTime": "2031-01-06T10:00:00Z"},
        "end": {"dateTime": "2031-01-06T11:00:00Z"},
        "organizer": {"email": "boss@outside.org"},
        "attendees": [{"email": ann.email, "responseStatus": "needsAction"}]})
    assert sync(mapping, "import").created == 1
    activity = db.session.scalars(db.select(Activity)).one()
    link = db.session.scalars(db.select(EventLink)).one()
    login(client, ann)
    for path in (f"/activities/{activity.id}", f"/activities/{activity.id}/edit"):
        html = client.get(path).get_data(as_text=True)
        assert f'href="{link.html_link.replace("&", "&amp;")}"' in html, path
    link.html_link = "javascript:alert(document.cookie)"
    db.session.commit()
    for path in (f"/activities/{activity.id}", f"/activities/{activity.id}/edit"):
        html = client.get(path).get_data(as_text=True)
        assert "javascript:" not in html, path
        assert 'data-testid="open-in-google' not in html, path
