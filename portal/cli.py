"""Flask CLI commands: ``flask users create-admin``, ``flask secrets rotate``,
``flask seed-demo``."""
import click
from flask.cli import AppGroup

from portal.accounts import services as accounts
from portal.extensions import db

users_cli = AppGroup("users", help="Manage portal users.")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True, default="Administrator")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--time-zone", default="UTC", show_default=True)
def create_admin(email, name, password, time_zone):
    """Create an admin user (the first one, or another)."""
    from portal.core.timezones import is_valid_zone

    if not is_valid_zone(time_zone):
        raise click.BadParameter(f"unknown time zone {time_zone!r}", param_hint="--time-zone")
    try:
        user = accounts.create_user(email=email, name=name, password=password, role="admin",
                                    time_zone=time_zone)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Admin {user.email} created.")


secrets_cli = AppGroup("secrets", help="Secrets stored in the database.")


@secrets_cli.command("rotate")
def rotate_secrets():
    """Re-encrypt every stored secret with the first of ENCRYPTION_KEYS."""
    from portal.core import crypto

    done, unreadable = crypto.reencrypt_all(db)
    db.session.commit()
    click.echo(f"{done} secret(s) re-encrypted with the first key.")
    if unreadable:
        raise click.ClickException(
            f"{unreadable} secret(s) cannot be decrypted with any configured key and were left "
            "as they are: add the key they were written with to ENCRYPTION_KEYS and run this "
            "again, or have them entered again (users reconnect Google; an admin re-enters "
            "the client secret).")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
@click.option("--reset", is_flag=True,
              help="Delete ALL data first (users, activities, contacts, Google links, runs), "
                   "then seed the demo again.")
def seed_demo(if_empty, reset):
    """Fill the database with a demo admin, two users, activities and contacts."""
    from portal import demo

    if reset and if_empty:
        raise click.UsageError("--reset and --if-empty contradict each other; pick one.")
    created = demo.reset() if reset else demo.seed(only_if_empty=if_empty)
    if created:
        click.echo("Demo data created. Logins:")
        for email, password in created:
            click.echo(f"  {email} / {password}")
    else:
        click.echo("Database already has users; demo not seeded.")


def init_app(app):
    from portal.google.cli import cli as google_cli
    from portal.jobs.cli import redis_cli
    from portal.jobs.worker import worker_command
    from portal.scheduler.dispatch import scheduler_command

    app.cli.add_command(users_cli)
    app.cli.add_command(secrets_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(google_cli)
    app.cli.add_command(redis_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
