"""Redis going away and coming back while the web keeps running: *Synchronize now* and
the Scheduler's *Run now* say the job queue is not reachable (no 500), and work again by
themselves once Redis is back."""
import html

import pytest
from redis import Redis

from portal.extensions import db
from portal.jobs import embedded
from portal.sync.core.runs import SyncRun

UNREACHABLE = "The job queue is not reachable; nothing was lost."


@pytest.fixture
def own_redis(app, tmp_path):
    """The app switched to a Redis server of this test's own, which it may stop and start."""
    instance = tmp_path / "redis"
    url = embedded.start(instance)
    previous = app.extensions.get("portal_redis"), app.config["REDIS_URL"]
    app.config["REDIS_URL"] = url
    app.extensions["portal_redis"] = Redis.from_url(url)
    try:
        yield instance
    finally:
        app.extensions["portal_redis"].close()
        app.extensions["portal_redis"], app.config["REDIS_URL"] = previous
        embedded.stop(instance)


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def test_synchronize_now_while_redis_is_down_then_back(client, login, connect_user,
                                                       own_redis):
    ann, mapping = connect_user()
    login(client, ann)
    embedded.stop(own_redis)
    response = client.post_form("/sync/now", {"mapping_id": mapping.id}, page="/google/sync",
                                follow_redirects=True)
    assert response.status_code == 200
    assert UNREACHABLE in _text(response)
    assert db.session.scalars(db.select(SyncRun)).all() == []

    embedded.start(own_redis)  # same socket; the web is not restarted
    response = client.post_form("/sync/now", {"mapping_id": mapping.id}, page="/google/sync")
    assert response.status_code == 302 and "/sync/runs/" in response.headers["Location"]
    db.session.expire_all()
    [run] = db.session.scalars(db.select(SyncRun)).all()
    assert run.status == "queued"
    assert Redis.from_url(embedded.url(own_redis)).llen("rq:queue:portal-test") == 1


def test_run_now_while_redis_is_down_then_back(admin_client, own_redis):
    from portal.scheduler import services
    from portal.scheduler.models import CronTask

    services.ensure_default_tasks()
    db.session.commit()
    task = db.session.scalars(db.select(CronTask)).first()
    embedded.stop(own_redis)
    response = admin_client.post_form(f"/admin/scheduler/{task.id}/run",
                                      page="/admin/scheduler/", follow_redirects=True)
    assert response.status_code == 200
    assert UNREACHABLE in _text(response)

    embedded.start(own_redis)
    response = admin_client.post_form(f"/admin/scheduler/{task.id}/run",
                                      page="/admin/scheduler/", follow_redirects=True)
    assert "queued; its outcome shows here" in _text(response)
    assert Redis.from_url(embedded.url(own_redis)).llen("rq:queue:portal-test") == 1
