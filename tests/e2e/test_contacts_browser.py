"""A person manages contacts and tags in a real browser."""
import re

from portal.crm import contacts as svc
from portal.extensions import db


def test_create_contact_with_an_extra_email_then_find_it_by_search_and_tag(
        page, make_user, browser_login):
    user = make_user(name="Brenda Browser")
    svc.create_tag(user, "Hot lead", "private")
    db.session.commit()
    browser_login(page, user)

    page.get_by_role("link", name="Contacts").first.click()
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Lucía")
    page.get_by_label("Last name").fill("Fernández")
    page.get_by_label("Organization").fill("Acme Iberia")
    page.get_by_label("Email 1", exact=True).fill("Lucia@Acme.example")
    for n in (2, 3):
        page.get_by_label(f"Email {n}", exact=True).fill(f"l{n}@acme.example")
    page.get_by_role("button", name="Add another email").click()
    page.get_by_label("Email 4", exact=True).fill("home@lucia.example")
    page.get_by_label("Email 4 label").select_option("home")
    page.get_by_label("Hot lead").check()
    page.get_by_role("button", name="Save contact").click()

    assert page.get_by_role("heading", name="Lucía Fernández").is_visible()
    assert page.get_by_role("link", name="lucia@acme.example").is_visible()
    assert page.get_by_role("link", name="home@lucia.example").is_visible()

    page.get_by_role("link", name="Contacts").first.click()
    page.get_by_label("Search").fill("ACME")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_test_id("result-count").inner_text().startswith("1 contact")
    page.get_by_label("Tag").select_option(label="Hot lead")
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="Fernández, Lucía").is_visible()


def test_delete_asks_for_confirmation(page, make_user, browser_login):
    user = make_user()
    contact = svc.save_contact(user, svc.ContactData(last_name="Goodbye"))
    db.session.commit()
    browser_login(page, user)
    page.goto(f"/contacts/{contact.id}")
    page.get_by_role("link", name="Delete").click()
    assert page.get_by_text("cannot be undone").is_visible()
    page.get_by_role("button", name="Delete contact").click()
    assert page.get_by_text("Contact Goodbye deleted.").is_visible()
    assert re.search(r"/contacts$", page.url)
