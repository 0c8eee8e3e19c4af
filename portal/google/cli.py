"""``flask google sandbox-setup``: point the portal at a running googlesim for ``make run``.

Registers a demo OAuth client in googlesim through its /_sim/clients control API, then saves
matching admin credentials in the portal (checked against googlesim's token endpoint like
the admin page does)."""
import time

import click
import requests
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db

cli = AppGroup("google", help="Google connection tools.")

DEMO_CLIENT_ID = "portal-demo.apps.googleusercontent.com"
DEMO_CLIENT_SECRET = "portal-demo-secret"


def _register_client(sim_url, client_id, client_secret, redirect_uri, wait):
    session = requests.Session()
    session.trust_env = False  # loopback: never through a proxy
    deadline = time.monotonic() + wait
    while True:
        try:
            response = session.post(sim_url + "/_sim/clients", timeout=5,
                                    json={"client_id": client_id, "client_secret": client_secret,
                                          "redirect_uris": [redirect_uri]})
            break
        except requests.ConnectionError:
            if time.monotonic() >= deadline:
                raise click.ClickException(f"googlesim is not answering at {sim_url}") from None
            time.sleep(0.3)
    if response.status_code >= 400:
        raise click.ClickException(f"googlesim refused the client: {response.status_code} "
                                   f"{response.text[:200]}")


@cli.command("sandbox-setup")
@click.option("--sim-url", required=True, help="googlesim's base URL, e.g. http://127.0.0.1:5055")
@click.option("--portal-url", required=True,
              help="This portal's public base URL, e.g. http://127.0.0.1:5000")
@click.option("--client-id", default=DEMO_CLIENT_ID, show_default=True)
@click.option("--client-secret", default=DEMO_CLIENT_SECRET, show_default=True)
@click.option("--wait", default=20.0, show_default=True,
              help="Seconds to wait for googlesim to start.")
def sandbox_setup(sim_url, portal_url, client_id, client_secret, wait):
    """Register a demo OAuth client in googlesim and save it as the portal's credentials."""
    from portal.google import services

    sim_url = sim_url.rstrip("/")
    portal_url = portal_url.rstrip("/")
    configured = current_app.config.get("GOOGLE_BASE_URL")
    if configured and configured.rstrip("/") != sim_url:
        raise click.ClickException(f"GOOGLE_BASE_URL is {configured}, not {sim_url}: the portal "
                                   "would send its Google calls elsewhere.")
    with current_app.test_request_context(base_url=portal_url):
        redirect_uri = portal_url + services.callback_path()
        _register_client(sim_url, client_id, client_secret, redirect_uri, wait)
        previous = current_app.config.get("GOOGLE_BASE_URL")
        current_app.config["GOOGLE_BASE_URL"] = sim_url
        try:
            services.save_credentials(client_id=client_id, client_secret=client_secret,
                                      redirect_url=redirect_uri)
        except services.GoogleSetupError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        finally:
            current_app.config["GOOGLE_BASE_URL"] = previous
    db.session.commit()
    click.echo(f"googlesim client {client_id} registered; redirect URI {redirect_uri}")
    if not configured:
        click.echo("Note: set GOOGLE_BASE_URL=" + sim_url + " for the web and worker processes.")
