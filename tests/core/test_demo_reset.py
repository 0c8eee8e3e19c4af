"""`flask seed-demo --reset` (`make reset-demo`): the demo starts over without a reinstall."""
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.crm.models import Activity, ActivityType, Contact
from portal.extensions import db
from portal.scheduler.models import CronTask
from portal.scheduler.services import DEFAULT_TASKS
from portal.sync.core.runs import SyncRun


def _counts():
    db.session.expire_all()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Activity, Contact, ActivityType, CronTask)}


def test_reset_drops_everything_and_seeds_the_demo_again(app, make_user, make_activity):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "sam@example.com / sam-sales-demo" in result.output
    fresh = _counts()
    assert fresh["User"] == 3 and fresh["Activity"] > 10

    # What a newcomer might do to the demo: new users, activities, types, runs.
    stranger = make_user(email="stranger@example.com")
    make_activity(stranger, subject="Left over")
    db.session.add(ActivityType(name="Visit", position=9))
    db.session.add(SyncRun(job_id="old-run", user_id=stranger.id))
    db.session.commit()
    assert runner.invoke(args=["seed-demo", "--if-empty"]).output.startswith(
        "Database already has users")

    result = runner.invoke(args=["seed-demo", "--reset"])
    assert result.exit_code == 0, result.output
    assert "admin@example.com / ada-admin-demo" in result.output
    # the same demo again; the Scheduler's tasks (a migration seeds them) are back too
    assert _counts() == dict(fresh, CronTask=len(DEFAULT_TASKS))
    assert db.session.scalar(select(User).where(User.email == "stranger@example.com")) is None
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
    assert sorted(db.session.scalars(select(ActivityType.name))) == ["Call", "Meeting", "Task"]


def test_the_demo_logins_work_after_a_reset(app, client):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    assert runner.invoke(args=["seed-demo", "--reset"]).exit_code == 0
    response = client.post_form("/login", {"email": "sam@example.com",
                                           "password": "sam-sales-demo"})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_reset_and_if_empty_together_is_a_usage_error(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--reset", "--if-empty"])
    assert result.exit_code == 2 and "contradict" in result.output
