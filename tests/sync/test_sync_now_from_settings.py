"""*Synchronize now* on the Google Calendar settings page, for all calendars or one."""
import re

from portal.extensions import db
from portal.sync.core.runs import SyncRun


def _sync_forms(html):
    return re.findall(r'<form[^>]*data-testid="sync-now-form".*?</form>', html, re.S)


def test_settings_page_offers_synchronize_now_for_all_and_each_calendar(
        connect_user, activity_types, client, login, work, sim, make_activity):
    ann, meeting_map = connect_user("ann@example.com")
    second = sim.create_calendar("ann@example.com", "Calls")
    _, call_map = connect_user("ann@example.com", type_name="Call", calendar_id=second["id"],
                               calendar_summary="Calls")
    login(client, ann)
    forms = _sync_forms(client.get("/google/sync").get_data(as_text=True))
    assert len(forms) == 3  # all calendars, then one per synced calendar
    assert "mapping_id" not in forms[0]
    assert {f'value="{meeting_map.id}"' in forms[1] or f'value="{meeting_map.id}"' in forms[2],
            f'value="{call_map.id}"' in forms[1] or f'value="{call_map.id}"' in forms[2]} == {True}

    make_activity(ann, subject="Kick-off")
    response = client.post_form("/sync/now", {"mapping_id": meeting_map.id},
                                page="/sync/runs")
    assert response.status_code == 302 and "/runs/" in response.headers["Location"]
    work()
    run = db.session.scalars(db.select(SyncRun)).one()
    assert (run.mapping_id, run.status, run.created) == (meeting_map.id, "succeeded", 1)
