"""Where users reach the contacts sync (Actions menus, the Google sync page's Contacts card,
run pages) and what disconnecting or switching Google accounts does to it."""
import html
import re
from datetime import datetime, timedelta, timezone

from portal.extensions import db
from portal.google import services as google_services
from portal.sync.contacts.models import ContactLink
from tests.sync.test_contacts_integration import (  # noqa: F401  (fixtures)
    CALENDAR, CONTACTS, contacts_user, make_contact, people_in, sync_contacts,
)


def text_of(response):
    """The page's words (markup dropped) with each element's data-testid kept as a word."""
    page = re.sub(r'<[^>]*data-testid="([^"]+)"[^>]*>', r" [\1] ", response.get_data(as_text=True))
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(re.sub(r"\s+", " ", page))


def reconnect(user, sim, email):
    from tests.conftest import CLIENT_ID

    sim.create_account(email, time_zone="Europe/Berlin")
    scopes = [CALENDAR, CONTACTS, "openid", "email"]
    tokens = sim.issue_tokens(email, CLIENT_ID, scopes)
    google_services.complete_connect(
        user, email=email, granted_scopes=scopes, refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
    db.session.commit()


def test_actions_menus_lead_to_both_syncs(client, login, contacts_user, sim):
    ann, _ = contacts_user()
    login(client, ann)
    contacts = client.get("/contacts").get_data(as_text=True)
    menu = contacts[contacts.index('data-testid="contacts-actions"'):]
    menu = menu[:menu.index("</ul>")]
    assert "Synchronize contacts" in menu and "Synchronize now" in menu
    assert 'action="/google/contacts/sync-now"' in menu and 'href="/google/contacts"' in menu
    activities = client.get("/activities").get_data(as_text=True)
    menu = activities[activities.index('data-testid="activities-actions"'):]
    menu = menu[:menu.index("</ul>")]
    assert "Synchronize activities" in menu and "Set up..." in menu
    assert 'action="/sync/now"' in menu and 'href="/google/sync"' in menu
    # the menu's Synchronize now really starts a contacts run
    response = client.post_form("/google/contacts/sync-now", page="/contacts")
    assert response.status_code == 302 and "/sync/runs/" in response.headers["Location"]


def test_google_sync_page_has_a_contacts_card(client, login, contacts_user, sync_contacts,
                                              sim):
    ann, settings = contacts_user()
    login(client, ann)
    card = text_of(client.get("/google/sync"))
    card = card[card.index("[contacts-card]"):]
    assert "Contacts tagged Clients" in card and "Latest sync [contacts-card-last-sync] Never" \
        in card
    assert "[contacts-card-sync-now] Synchronize now" in card
    sync_contacts(ann, settings)
    card = text_of(client.get("/google/sync"))
    card = card[card.index("[contacts-card]"):]
    assert "[contacts-card-last-sync] Never" not in card


def test_contacts_run_page_names_the_tag_and_links_each_contact(client, login, contacts_user,
                                                                 sync_contacts, sim):
    ann, settings = contacts_user()
    lea = make_contact(ann, "Fernández", "Lea", emails=[("lea@acme.example", "work")])
    run = sync_contacts(ann, settings)
    login(client, ann)
    raw = client.get(f"/sync/runs/{run.id}").get_data(as_text=True)
    page = text_of(client.get(f"/sync/runs/{run.id}"))
    assert "Contacts tagged Clients ↔ Google Contacts" in page
    assert f'href="/contacts/{lea.id}"' in raw
    runs = text_of(client.get("/sync/runs"))
    assert "Google Contacts" in runs


def test_forgetting_links_on_disconnect_then_reconnecting_duplicates_nobody(
        client, login, contacts_user, sync_contacts, sim):
    ann, settings = contacts_user()
    make_contact(ann, "Fernández", "Lea", emails=[("lea@acme.example", "work")])
    assert sync_contacts(ann, settings).status == "succeeded"
    login(client, ann)
    client.post_form("/google/disconnect", {"links": "forget"}, page="/google/disconnect")
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(ContactLink.id))) == 0
    reconnect(ann, sim, ann.email)
    assert sync_contacts(ann, settings).status == "succeeded"
    assert len(people_in(sim, ann.email)) == 1
    from portal.crm.models import Contact

    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 1


def test_a_different_google_account_gets_its_own_label_and_people(contacts_user,
                                                                  sync_contacts, sim):
    ann, settings = contacts_user()
    make_contact(ann, "Fernández", "Lea", emails=[("lea@acme.example", "work")])
    assert sync_contacts(ann, settings).status == "succeeded"
    old_group = settings.group_resource_name
    reconnect(ann, sim, "ann.other@example.com")
    run = sync_contacts(ann, db.session.merge(settings))
    assert run.status == "succeeded", run.message
    moved = people_in(sim, "ann.other@example.com")
    assert [p["names"][0]["familyName"] for p in moved] == ["Fernández"]
    # the old account keeps its people; the CRM has one contact still
    assert len(people_in(sim, ann.email, old_group)) == 1
    from portal.crm.models import Contact

    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 1
