"""Contacts: permissions, the form (validation, emails, phones, tags), search and deletion."""
from datetime import date, timedelta

import pytest

from portal.crm import contacts as svc
from portal.crm.models import Contact, ContactEmail, ContactPhone
from portal.extensions import db


@pytest.fixture
def make_contact(app):
    """Factory: ``make_contact(owner, "Last", first_name=..., emails=[...], tags=[...])``."""

    def factory(owner, last_name="Doe", emails=(), phones=(), tags=(), **fields):
        contact = Contact(owner_id=owner.id, last_name=last_name, **fields)
        for position, email in enumerate(emails):
            contact.emails.append(ContactEmail(email=email, label="work", position=position))
        for position, number in enumerate(phones):
            contact.phones.append(ContactPhone(number=number, label="mobile", position=position))
        contact.tags.extend(tags)
        db.session.add(contact)
        db.session.commit()
        return contact

    return factory


def _form(**overrides):
    data = {"first_name": "Ana", "last_name": "García", "organization": "Acme",
            "job_title": "Buyer", "emails-0-email": "Ana@Acme.Example", "emails-0-label": "work",
            "emails-1-email": "", "emails-1-label": "home", "emails-2-email": "",
            "emails-2-label": "work", "phones-0-number": "+34 600 123 456",
            "phones-0-label": "mobile", "phones-1-number": "", "phones-1-label": "work",
            "phones-2-number": "", "phones-2-label": "work", "city": "Madrid",
            "birthday": "1985-04-12", "notes": "Met at the fair."}
    data.update(overrides)
    return data


def _contact(contact_id):
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


def test_create_contact_stores_emails_lower_case_and_redirects_to_it(client, make_user, login):
    user = make_user()
    login(client, user)
    response = client.post_form("/contacts/new", _form())
    assert response.status_code == 302
    contact = db.session.scalar(db.select(Contact))
    assert response.headers["Location"].endswith(f"/contacts/{contact.id}")
    assert contact.owner_id == user.id
    assert [(e.email, e.label) for e in contact.emails] == [("ana@acme.example", "work")]
    assert [(p.number, p.label) for p in contact.phones] == [("+34 600 123 456", "mobile")]
    assert contact.birthday == date(1985, 4, 12)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Ana García" in page and "ana@acme.example" in page and "Met at the fair." in page


def test_form_errors_are_shown_next_to_fields_and_input_is_kept(client, make_user, login):
    login(client, make_user())
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    response = client.post_form("/contacts/new", _form(
        last_name="", **{"emails-0-email": "not-an-email", "phones-0-number": "call me",
                         "birthday": tomorrow}))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a last name." in html
    assert "Enter a valid email address" in html
    assert "Use digits, spaces" in html
    assert "A birthday cannot be in the future." in html
    assert 'value="not-an-email"' in html and 'value="Acme"' in html
    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 0


def test_the_same_email_twice_is_refused(client, make_user, login):
    login(client, make_user())
    response = client.post_form("/contacts/new", _form(**{"emails-1-email": "ANA@acme.example"}))
    assert "listed twice" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 0


def test_more_rows_than_the_form_shows_are_accepted(client, make_user, login):
    """The 'add another' button posts a fourth row; the server takes it."""
    login(client, make_user())
    client.post_form("/contacts/new", _form(**{
        "emails-1-email": "b@x.example", "emails-2-email": "c@x.example",
        "emails-3-email": "d@x.example", "emails-3-label": "other"}))
    contact = db.session.scalar(db.select(Contact))
    assert [e.email for e in contact.emails] == ["ana@acme.example", "b@x.example",
                                                 "c@x.example", "d@x.example"]
    assert contact.emails[3].label == "other"


def test_edit_shows_existing_rows_plus_a_blank_and_saves_changes(client, make_user, login,
                                                                  make_contact):
    user = make_user()
    contact = make_contact(user, "Smith", first_name="Jo", emails=[
        "a@x.example", "b@x.example", "c@x.example"], phones=["+1 555 0100"])
    login(client, user)
    html = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'value="c@x.example"' in html and 'name="emails-3-email"' in html
    response = client.post_form(f"/contacts/{contact.id}/edit", {
        "first_name": "Joanna", "last_name": "Smith", "version": str(contact.version),
        "emails-0-email": "b@x.example", "emails-0-label": "home",
        "emails-1-email": "", "emails-2-email": "new@x.example", "emails-2-label": "work",
        "phones-0-number": "", "phones-0-label": "work"})
    assert response.status_code == 302
    saved = _contact(contact.id)
    assert saved.first_name == "Joanna"
    assert [(e.email, e.label) for e in saved.emails] == [("b@x.example", "home"),
                                                          ("new@x.example", "work")]
    assert saved.phones == []


def test_edit_made_meanwhile_is_not_overwritten_silently(client, make_user, login, make_contact):
    user = make_user()
    contact = make_contact(user, "Smith")
    stale_version = str(contact.version)
    contact.notes = "changed in another tab"
    db.session.commit()
    login(client, user)
    response = client.post_form(f"/contacts/{contact.id}/edit", _form(
        last_name="Smythe", version=stale_version))
    assert "Someone else changed this contact" in response.get_data(as_text=True)
    assert _contact(contact.id).last_name == "Smith"


def test_users_see_only_their_own_contacts(client, make_user, login, make_contact):
    me, other = make_user(), make_user()
    mine = make_contact(me, "Mine")
    theirs = make_contact(other, "Theirs")
    login(client, me)
    listing = client.get("/contacts").get_data(as_text=True)
    assert "Mine" in listing and "Theirs" not in listing
    for url in (f"/contacts/{theirs.id}", f"/contacts/{theirs.id}/edit",
                f"/contacts/{theirs.id}/delete"):
        assert client.get(url).status_code == 404
    response = client.post_form(f"/contacts/{theirs.id}/delete", page=f"/contacts/{mine.id}/delete")
    assert response.status_code == 404
    assert _contact(theirs.id) is not None


def test_admin_sees_and_edits_every_contact_and_may_reassign(admin_client, make_user,
                                                             make_contact):
    sam, rita = make_user(name="Sam"), make_user(name="Rita")
    contact = make_contact(sam, "Weber")
    listing = admin_client.get("/contacts").get_data(as_text=True)
    assert "Weber" in listing
    assert "Weber" not in admin_client.get(f"/contacts?owner={rita.id}").get_data(as_text=True)
    response = admin_client.post_form(f"/contacts/{contact.id}/edit", _form(
        last_name="Weber", owner_id=str(rita.id), version=str(contact.version)))
    assert response.status_code == 302
    assert _contact(contact.id).owner_id == rita.id


def test_non_admin_cannot_give_a_contact_away(make_user, app):
    me, other = make_user(), make_user()
    with pytest.raises(svc.ContactError, match="Only admins"):
        svc.save_contact(me, svc.ContactData(last_name="X", owner_id=other.id))


def test_delete_asks_for_confirmation_then_deletes(client, make_user, login, make_contact):
    user = make_user()
    contact = make_contact(user, "Gone", emails=["g@x.example"])
    login(client, user)
    page = client.get(f"/contacts/{contact.id}/delete").get_data(as_text=True)
    assert "cannot be undone" in page
    assert _contact(contact.id) is not None
    response = client.post_form(f"/contacts/{contact.id}/delete")
    assert response.status_code == 302
    assert _contact(contact.id) is None
    assert db.session.scalar(db.select(db.func.count(ContactEmail.id))) == 0


def test_deleting_an_invited_contact_takes_it_off_the_activity(client, make_user, login,
                                                                make_contact, make_activity):
    user = make_user()
    contact = make_contact(user, "Invited")
    activity = make_activity(user)
    activity.invitees.append(contact)
    db.session.commit()
    login(client, user)
    assert "taken off the 1 activity" in client.get(
        f"/contacts/{contact.id}/delete").get_data(as_text=True)
    client.post_form(f"/contacts/{contact.id}/delete")
    db.session.expire_all()
    assert activity.invitees == []


def test_search_matches_name_email_and_organization_ignoring_case(make_user, make_contact):
    user = make_user()
    make_contact(user, "Fernandez", first_name="Lucia", organization="Acme Iberia",
                 emails=["lucia@acme.example"])
    make_contact(user, "Weber", first_name="Jonas", organization="Nordlicht",
                 emails=["jw@nordlicht.example"])

    def names(q):
        return [c.last_name for c in svc.search_contacts(user, q=q).items]

    assert names("LUCIA") == ["Fernandez"]
    assert names("nordLICHT") == ["Weber"]
    assert names("jw@") == ["Weber"]
    assert names("lucia acme") == ["Fernandez"]
    assert names("lucia nordlicht") == []
    assert names("%") == []
    assert names("") == ["Fernandez", "Weber"]


def test_list_sorts_by_name_both_ways_and_paginates(client, make_user, login, make_contact):
    user = make_user()
    for name in ("Charlie", "alpha", "Bravo"):
        make_contact(user, name)
    assert [c.last_name for c in svc.search_contacts(user, sort="name").items] == [
        "alpha", "Bravo", "Charlie"]
    assert [c.last_name for c in svc.search_contacts(user, sort="-name").items] == [
        "Charlie", "Bravo", "alpha"]
    page2 = svc.search_contacts(user, sort="name", page=2, per_page=2)
    assert [c.last_name for c in page2.items] == ["Charlie"] and page2.total == 3
    login(client, user)
    html = client.get("/contacts?sort=-name").get_data(as_text=True)
    body = html[html.index("<tbody>"):]
    assert body.index("Charlie") < body.index("alpha")


def test_list_filters_by_tag(client, make_user, login, make_contact):
    user = make_user()
    vip = svc.create_tag(user, "VIP", "public")
    db.session.commit()
    make_contact(user, "Tagged", tags=[vip])
    make_contact(user, "Plain")
    login(client, user)
    html = client.get(f"/contacts?tag={vip.id}").get_data(as_text=True)
    assert "Tagged" in html and "Plain" not in html
    assert "1 contact " in html


def test_contact_form_attaches_visible_tags_only(client, make_user, login):
    user, other = make_user(), make_user()
    mine = svc.create_tag(user, "Mine", "private")
    shared = svc.create_tag(other, "Shared", "public")
    secret = svc.create_tag(other, "Secret", "private")
    db.session.commit()
    login(client, user)
    form_html = client.get("/contacts/new").get_data(as_text=True)
    assert "Mine" in form_html and "Shared" in form_html and "Secret" not in form_html
    response = client.post_form("/contacts/new", _form(tags=[str(mine.id), str(secret.id)]))
    assert response.status_code == 200
    assert "Choose tags from the list" in response.get_data(as_text=True)
    client.post_form("/contacts/new", _form(tags=[str(mine.id), str(shared.id)]))
    contact = db.session.scalar(db.select(Contact))
    assert sorted(t.name for t in contact.tags) == ["Mine", "Shared"]


def test_empty_list_invites_to_add_a_contact(client, make_user, login):
    login(client, make_user())
    html = client.get("/contacts").get_data(as_text=True)
    assert "No contacts yet." in html and "Add your first contact" in html
