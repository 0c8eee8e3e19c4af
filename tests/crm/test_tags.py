"""Tags: private, public and corporate visibility, who manages which, and no leaks."""
import pytest

from portal.crm import contacts as svc
from portal.crm.models import Contact, Tag
from portal.extensions import db


@pytest.fixture
def people(make_user):
    return {"admin": make_user(role="admin", name="Ada"), "sam": make_user(name="Sam"),
            "rita": make_user(name="Rita")}


@pytest.fixture
def tags(people):
    made = {
        "corp": svc.create_tag(people["admin"], "Key account", "corporate"),
        "public": svc.create_tag(people["sam"], "Prospect", "public"),
        "sam_private": svc.create_tag(people["sam"], "Sam secret", "private"),
        "rita_private": svc.create_tag(people["rita"], "Rita secret", "private"),
        "admin_private": svc.create_tag(people["admin"], "Admin secret", "private"),
    }
    db.session.commit()
    return made


def _names(tags):
    return [t.name for t in tags]


def test_visible_tags_are_shared_ones_plus_own_private(people, tags):
    assert _names(svc.visible_tags(people["sam"])) == ["Key account", "Prospect", "Sam secret"]
    assert _names(svc.visible_tags(people["rita"])) == ["Key account", "Prospect", "Rita secret"]
    # Admins manage everything shared, but other people's private tags stay private.
    assert _names(svc.visible_tags(people["admin"])) == ["Key account", "Prospect",
                                                         "Admin secret"]


def test_only_admins_create_corporate_tags(people):
    with pytest.raises(svc.TagError, match="Only admins"):
        svc.create_tag(people["sam"], "Partner", "corporate")
    assert svc.create_tag(people["admin"], "Partner", "corporate").visibility == "corporate"


def test_who_may_manage_which_tag(people, tags):
    sam, rita, admin = people["sam"], people["rita"], people["admin"]
    assert svc.can_manage_tag(admin, tags["corp"]) and not svc.can_manage_tag(sam, tags["corp"])
    assert svc.can_manage_tag(sam, tags["public"]) and svc.can_manage_tag(admin, tags["public"])
    assert not svc.can_manage_tag(rita, tags["public"])
    assert svc.can_manage_tag(sam, tags["sam_private"])
    assert not svc.can_manage_tag(admin, tags["sam_private"])


def test_names_are_unique_ignoring_case_where_people_would_confuse_them(people, tags):
    with pytest.raises(svc.TagError, match="already a public tag"):
        svc.create_tag(people["rita"], "prospect", "public")
    with pytest.raises(svc.TagError, match="already a corporate tag"):
        svc.create_tag(people["sam"], "KEY ACCOUNT", "private")
    with pytest.raises(svc.TagError, match="private tag of yours"):
        svc.create_tag(people["sam"], "sam SECRET", "private")
    # Another user's private name is free: refusing it would reveal that tag.
    assert svc.create_tag(people["sam"], "Rita secret", "public")
    with pytest.raises(svc.TagError, match="Enter a tag name"):
        svc.create_tag(people["sam"], "   ", "private")


def test_tag_page_lists_only_visible_tags_and_manage_buttons(client, login, people, tags):
    login(client, people["rita"])
    html = client.get("/tags").get_data(as_text=True)
    assert "Key account" in html and "Prospect" in html and "Rita secret" in html
    assert "Sam secret" not in html and "Admin secret" not in html
    assert f"/tags/{tags['rita_private'].id}/edit" in html
    assert f"/tags/{tags['public'].id}/edit" not in html
    assert f"/tags/{tags['corp'].id}/edit" not in html


def test_creating_tags_through_the_page(client, login, people):
    login(client, people["sam"])
    response = client.post_form("/tags", {"name": "  Hot   lead ", "visibility": "public"})
    assert response.status_code == 302
    tag = db.session.scalar(db.select(Tag).where(Tag.name == "Hot lead"))
    assert tag.visibility == "public" and tag.owner_id == people["sam"].id
    response = client.post_form("/tags", {"name": "Boss", "visibility": "corporate"})
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = client.post_form("/tags", {"name": "hot LEAD", "visibility": "private"})
    assert "already a public tag" in response.get_data(as_text=True)


def test_other_users_private_tags_answer_404_and_foreign_shared_ones_403(client, login,
                                                                          people, tags):
    login(client, people["rita"])
    assert client.get(f"/tags/{tags['sam_private'].id}/edit").status_code == 404
    assert client.get(f"/tags/{tags['sam_private'].id}/delete").status_code == 404
    assert client.get(f"/tags/{tags['public'].id}/edit").status_code == 403
    assert client.get(f"/tags/{tags['corp'].id}/delete").status_code == 403


def test_admin_renames_and_deletes_a_corporate_tag(admin_client, people, make_user):
    corp = svc.create_tag(people["admin"], "Gold", "corporate")
    db.session.commit()
    # admin_client logged in as its own admin; corporate tags are any admin's to manage
    response = admin_client.post_form(f"/tags/{corp.id}/edit", {"name": "Platinum"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Tag, corp.id).name == "Platinum"
    assert "cannot be undone" in admin_client.get(f"/tags/{corp.id}/delete").get_data(as_text=True)
    corp_id = corp.id
    admin_client.post_form(f"/tags/{corp_id}/delete")
    db.session.expire_all()
    assert db.session.get(Tag, corp_id) is None


def test_deleting_a_tag_takes_it_off_contacts(client, login, people, tags):
    sam = people["sam"]
    contact = Contact(owner_id=sam.id, last_name="Tagged", tags=[tags["public"]])
    db.session.add(contact)
    db.session.commit()
    login(client, sam)
    client.post_form(f"/tags/{tags['public'].id}/delete")
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).tags == []


def test_tag_filter_never_offers_or_applies_someone_elses_private_tag(client, login, people, tags):
    sam, rita = people["sam"], people["rita"]
    db.session.add(Contact(owner_id=sam.id, last_name="Weber", tags=[tags["sam_private"]]))
    db.session.commit()
    login(client, rita)
    html = client.get("/contacts").get_data(as_text=True)
    assert "Sam secret" not in html and "Rita secret" in html
    # Guessing the id of a private tag filters nothing and reveals nothing.
    html = client.get(f"/contacts?tag={tags['sam_private'].id}").get_data(as_text=True)
    assert "Sam secret" not in html


def test_admin_viewing_a_users_contact_does_not_see_their_private_tag(people, tags, client,
                                                                      login):
    sam, admin = people["sam"], people["admin"]
    contact = Contact(owner_id=sam.id, last_name="Weber",
                      tags=[tags["sam_private"], tags["public"]])
    db.session.add(contact)
    db.session.commit()
    login(client, admin)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Prospect" in page and "Sam secret" not in page
    listing = client.get("/contacts").get_data(as_text=True)
    assert "Weber" in listing and "Sam secret" not in listing
    edit = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert "Sam secret" not in edit


def test_admin_saving_a_users_contact_keeps_their_private_tags(people, tags):
    sam, admin = people["sam"], people["admin"]
    contact = Contact(owner_id=sam.id, last_name="Weber",
                      tags=[tags["sam_private"], tags["public"]])
    db.session.add(contact)
    db.session.commit()
    svc.save_contact(admin, svc.ContactData(last_name="Weber", tag_ids=[tags["corp"].id]),
                     contact=contact)
    db.session.commit()
    assert sorted(t.name for t in contact.tags) == ["Key account", "Sam secret"]
    assert _names(svc.contact_tags_for(contact, sam)) == ["Key account", "Sam secret"]
    assert _names(svc.contact_tags_for(contact, admin)) == ["Key account"]


def test_attaching_a_tag_the_editor_cannot_see_is_refused(people, tags):
    with pytest.raises(svc.ContactError, match="Choose tags from the list"):
        svc.save_contact(people["rita"], svc.ContactData(
            last_name="X", tag_ids=[tags["sam_private"].id]))
