"""Busy times in a real browser: the new-activity form shows the organizer's busy blocks;
picking a participant and changing the day refreshes them (static JS, no inline script)."""


def test_busy_times_follow_participants_and_day(page, browser_login, connect_user, sim):
    ann, _ = connect_user("ann@example.com", time_zone="Europe/Berlin")
    bob, _ = connect_user("bob@example.com", time_zone="Europe/Berlin")
    sim.insert_event(ann.email, ann.email, {
        "summary": "Dentist", "start": {"dateTime": "2031-05-06T09:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T10:00:00+02:00"}})
    sim.insert_event(bob.email, bob.email, {
        "summary": "Workshop", "start": {"dateTime": "2031-05-07T13:00:00+02:00"},
        "end": {"dateTime": "2031-05-07T17:00:00+02:00"}})
    browser_login(page, ann)
    page.goto("/activities/new?date=2031-05-06")
    box = page.get_by_test_id("busy-times")
    assert box.locator(f'li[data-user-id="{ann.id}"]').inner_text().endswith("09:00–10:00")

    page.get_by_label("Participants (users)").select_option(str(bob.id))
    bob_line = box.locator(f'li[data-user-id="{bob.id}"]')
    bob_line.wait_for()
    assert bob_line.inner_text().endswith("free all day")

    page.get_by_label("Start date").fill("2031-05-07")
    page.get_by_label("Start date").dispatch_event("change")
    box.get_by_text("13:00–17:00").wait_for()
    assert box.locator(f'li[data-user-id="{ann.id}"]').inner_text().endswith("free all day")
