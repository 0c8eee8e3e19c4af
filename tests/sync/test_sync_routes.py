"""Synchronize now, the run page and the run list, as a user sees them."""
import re

from portal.extensions import db
from portal.sync.core.runs import SyncRun


def test_synchronize_now_queues_opens_the_run_page_and_shows_the_outcome(
        client, login, connect_user, make_activity, work, sim):
    ann, mapping = connect_user()
    make_activity(ann, subject="Visible sync")
    login(client, ann)
    response = client.post_form("/sync/now", {"mapping_id": mapping.id}, page="/sync/runs")
    assert response.status_code == 302
    run_url = response.headers["Location"]
    page = client.get(run_url).get_data(as_text=True)
    assert "Queued" in page and "run-progress" in page
    work()
    page = client.get(run_url).get_data(as_text=True)
    assert "Succeeded" in page
    assert re.search(r'data-count="created">1<', page)
    assert "Visible sync" in page
    status = client.get(run_url + "?format=json").get_json()
    assert status["finished"] and status["created"] == 1
    runs = client.get("/sync/runs").get_data(as_text=True)
    assert run_url.split("/")[-1] in runs and "Succeeded" in runs
    assert "Last successful sync" in runs


def test_second_click_says_already_running(client, login, connect_user):
    ann, mapping = connect_user()
    login(client, ann)
    first = client.post_form("/sync/now", {"mapping_id": mapping.id}, page="/sync/runs")
    second = client.post_form("/sync/now", {"mapping_id": mapping.id}, page="/sync/runs",
                              follow_redirects=True)
    assert "already running" in second.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(SyncRun.id))) == 1
    assert first.status_code == 302


def test_users_only_see_their_own_runs_and_mappings(client, login, connect_user, make_user):
    ann, ann_mapping = connect_user("ann@example.com")
    bob, bob_mapping = connect_user("bob@example.com")
    run = SyncRun(job_id="job-ann", mapping_id=ann_mapping.id, user_id=ann.id)
    db.session.add(run)
    db.session.commit()
    login(client, bob)
    assert client.get(f"/sync/runs/{run.id}").status_code == 404
    assert client.get(f"/sync/runs/{run.id}?format=json").status_code == 404
    assert "job-ann" not in client.get("/sync/runs").get_data(as_text=True)
    response = client.post_form("/sync/now", {"mapping_id": ann_mapping.id}, page="/sync/runs")
    assert response.status_code == 404


def test_synchronize_now_needs_csrf_and_login(client, login, connect_user):
    ann, mapping = connect_user()
    assert client.post("/sync/now").status_code in (302, 400)
    login(client, ann)
    assert client.post("/sync/now", data={"mapping_id": mapping.id}).status_code == 400
    assert db.session.scalar(db.select(db.func.count(SyncRun.id))) == 0


def test_admin_opens_any_users_run_from_the_scheduler_page(client, login, connect_user,
                                                          make_user):
    ann, mapping = connect_user("ann@example.com")
    run = SyncRun(job_id="job-ann", mapping_id=mapping.id, user_id=ann.id, message="All good")
    db.session.add(run)
    db.session.commit()
    login(client, make_user(role="admin"))
    response = client.get(f"/sync/runs/{run.id}")
    assert response.status_code == 200 and "All good" in response.get_data(as_text=True)
