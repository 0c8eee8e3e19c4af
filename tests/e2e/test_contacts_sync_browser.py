"""Contacts sync in a real browser: tag a contact, Synchronize now from the Contacts list's
Actions menu, see it in Google; edit it in Google, synchronize again, see it in the CRM."""
from tests.sync.test_contacts_integration import contacts_user  # noqa: F401  (fixture)


def synchronize_contacts(page, work):
    page.goto("/contacts")
    page.get_by_test_id("contacts-actions").get_by_role("button", name="Actions").click()
    page.get_by_test_id("contacts-actions").get_by_role("button",
                                                        name="Synchronize now").click()
    page.wait_for_url("**/sync/runs/*")
    work()  # an RQ worker runs the queued job; the page follows it live
    page.get_by_test_id("run-status").get_by_text("Succeeded").wait_for()


def test_tag_sync_edit_in_google_sync_back(page, browser_login, contacts_user, work, sim):
    ann, _settings = contacts_user("ann@example.com")
    browser_login(page, ann)
    page.goto("/contacts/new")
    page.get_by_label("First name").fill("Lucía")
    page.get_by_label("Last name").fill("Fernández")
    page.get_by_label("Organization").fill("Acme Iberia")
    page.get_by_label("Email 1", exact=True).fill("lucia@acme.example")
    page.get_by_label("Clients").check()
    page.get_by_role("button", name="Save contact").click()
    page.get_by_role("heading", name="Lucía Fernández").wait_for()

    synchronize_contacts(page, work)
    assert page.get_by_test_id("run-counts").locator('[data-count="created"]').inner_text() == "1"
    [person] = sim.contacts(ann.email)
    assert person["names"][0]["familyName"] == "Fernández"
    assert person["organizations"][0]["name"] == "Acme Iberia"

    sim.patch_contact(ann.email, person["resourceName"], {
        "organizations": [{"name": "Acme Iberia", "title": "Head of Sales"}]})
    synchronize_contacts(page, work)
    page.get_by_test_id("run-log").get_by_role("link").first.click()
    page.get_by_role("heading", name="Lucía Fernández").wait_for()
    assert page.get_by_text("Head of Sales at Acme Iberia").is_visible()
