"""A person logs in with a real browser and lands in the CRM."""


def test_login_shows_the_calendar_and_the_user_menu(page, make_user, browser_login):
    user = make_user(name="Brenda Browser")
    browser_login(page, user)
    assert page.get_by_role("link", name="Calendar").first.is_visible()
    assert "Brenda Browser" in page.locator("nav").inner_text()


def test_wrong_password_stays_on_login_with_a_message(page, make_user):
    user = make_user()
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Wrong email or password").is_visible()
