"""sendUpdates: googlesim records the guest emails Google would send, and only then."""
import pytest

from googlesim.testing import TEST_USER as OWNER


@pytest.fixture
def calendar(ctl, cal):
    ctl.create_account("guest-in-google@example.com")
    return cal


BODY = {"summary": "Board meeting",
        "start": {"dateTime": "2030-01-07T10:00:00Z"}, "end": {"dateTime": "2030-01-07T11:00:00Z"},
        "attendees": [{"email": OWNER, "organizer": True},
                      {"email": "client@outside.example"},
                      {"email": "guest-in-google@example.com"}]}


def test_silent_writes_send_nothing(ctl, calendar):
    event = calendar.events().insert(calendarId="primary", body=BODY).execute()
    calendar.events().patch(calendarId="primary", eventId=event["id"],
                            body={"summary": "Moved"}, sendUpdates="none").execute()
    assert ctl.outbox() == []


def test_send_updates_all_mails_every_guest_but_the_organizer(ctl, calendar):
    event = calendar.events().insert(calendarId="primary", body=BODY, sendUpdates="all").execute()
    calendar.events().patch(calendarId="primary", eventId=event["id"],
                            body={"summary": "Moved"}, sendUpdates="all").execute()
    calendar.events().delete(calendarId="primary", eventId=event["id"],
                             sendUpdates="all").execute()
    mails = [(m["kind"], m["to"]) for m in ctl.outbox()]
    guests = ["client@outside.example", "guest-in-google@example.com"]
    assert mails == [("invitation", g) for g in guests] + [("update", g) for g in guests] \
        + [("cancellation", g) for g in guests]


def test_external_only_skips_guests_with_google_accounts(ctl, calendar):
    calendar.events().insert(calendarId="primary", body=BODY, sendUpdates="externalOnly").execute()
    assert [m["to"] for m in ctl.outbox()] == ["client@outside.example"]


def test_reset_empties_the_outbox(ctl, calendar):
    calendar.events().insert(calendarId="primary", body=BODY, sendUpdates="all").execute()
    ctl.reset()
    assert ctl.outbox() == []


def test_batch_parts_carry_their_own_send_updates(ctl, calendar, base):
    from googleapiclient.http import BatchHttpRequest

    batch = BatchHttpRequest(batch_uri=base + "/batch/calendar/v3")
    batch.add(calendar.events().insert(calendarId="primary", body=BODY, sendUpdates="none"))
    batch.add(calendar.events().insert(calendarId="primary", body=dict(BODY, summary="Loud"),
                                       sendUpdates="all"))
    batch.execute(http=calendar._http)
    assert {m["summary"] for m in ctl.outbox()} == {"Loud"}
