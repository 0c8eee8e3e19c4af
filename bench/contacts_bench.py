"""Contacts sync benchmark, googlesim in its own process, every figure next to its target:

* full export of N tagged contacts (wall, People requests and SQL statements per contact)
* the next sync (reads our own writes back once) and an unchanged sync
* full import of N people put in the label in Google, into a fresh CRM user

    .venv/bin/python bench/contacts_bench.py            # N = 5,000
    .venv/bin/python bench/contacts_bench.py --n 1000

Each measurement runs in a forked child, like bench/sync_bench.py.
"""
import argparse
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import common  # (sets sys.path and clears proxy variables)
from common import (CLIENT_ID, CLIENT_SECRET, REDIRECT, Sim, SqlCounter, make_app, own_cpu,
                    peak_rss_mb, row)
from sync_bench import _SimRef, _in_child

SCOPES = ["https://www.googleapis.com/auth/calendar",
          "https://www.googleapis.com/auth/contacts", "openid", "email"]


def connect_contacts(app, sim, email):
    """A user connected with the contacts scope, syncing their private tag "Clients";
    returns (user, settings)."""
    from portal.accounts import services as accounts
    from portal.crm import contacts as crm_contacts
    from portal.extensions import db
    from portal.google import services as google_services
    from portal.sync.contacts import services as contacts_services

    if google_services.get_credentials() is None:
        sim.control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
        with app.test_request_context():
            google_services.save_credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                             redirect_url=REDIRECT)
    user = accounts.create_user(email=email, name="Bench", password="bench-password-1",
                                role="user", time_zone="Europe/Berlin")
    sim.control.create_account(email, time_zone="Europe/Berlin")
    tokens = sim.control.issue_tokens(email, CLIENT_ID, SCOPES)
    google_services.complete_connect(
        user, email=email, granted_scopes=SCOPES, refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
    tag = crm_contacts.create_tag(user, "Clients")
    settings = contacts_services.save_settings(
        user, tag_id=tag.id, auto_sync=False, period_minutes=60, conflict_rule="crm_wins",
        delete_in_crm_when_deleted_in_google=False)
    db.session.commit()
    return user, settings, tag


def add_contacts(user, tag, n):
    """``n`` tagged contacts with an email, a phone and an organization, in bulk."""
    from sqlalchemy import insert, select

    from portal.crm.models import Contact, ContactEmail, ContactPhone, contact_tags
    from portal.extensions import db

    now = datetime.now(timezone.utc)
    db.session.execute(insert(Contact), [dict(
        uid=uuid.uuid4(), owner_id=user.id, first_name="Bench", last_name=f"Contact {i} ✓",
        organization="Acme", job_title="Buyer", street="", city="Berlin", postal_code="",
        region="", country="", birthday=date(1980, 1, 1 + i % 28), notes=f"Note {i}",
        created_at=now, modified_at=now, version=1) for i in range(n)])
    ids = db.session.scalars(select(Contact.id).where(Contact.owner_id == user.id)
                             .order_by(Contact.id)).all()
    db.session.execute(insert(ContactEmail), [dict(contact_id=cid, email=f"c{i}@bench.example",
                                                   label="work", position=0)
                                              for i, cid in enumerate(ids)])
    db.session.execute(insert(ContactPhone), [dict(contact_id=cid, number=f"+49 30 {i}",
                                                   label="mobile", position=0)
                                              for i, cid in enumerate(ids)])
    db.session.execute(insert(contact_tags), [dict(contact_id=cid, tag_id=tag.id)
                                              for cid in ids])
    db.session.commit()


def people_requests(stats):
    return sum(n for key, n in stats["requests"].items()
               if "/v1/people" in key or "/v1/contactGroups" in key)


def export_runs(sim_url, n):
    """A full export of n contacts, then the sync that reads it back, then an unchanged one."""
    from portal.extensions import db
    from portal.google.calendar_events import Backoff
    from portal.sync.contacts.runner import run_contacts

    app = make_app(sim_url)
    out = {}
    with app.app_context():
        db.create_all()
        sim = _SimRef(sim_url)
        user, settings, tag = connect_contacts(app, sim, f"export{n}@example.com")
        add_contacts(user, tag, n)
        sql = SqlCounter(db.engine)
        for label, direction in (("export", "export"), ("echo", "both"),
                                 ("unchanged", "both")):
            sim.control.stats_reset()
            before, cpu, started = sql.count, own_cpu(), time.perf_counter()
            run = run_contacts(settings.id, direction, backoff=Backoff())
            db.session.commit()
            wall = time.perf_counter() - started
            stats = sim.control.stats()
            out[label] = {"wall": wall, "cpu": own_cpu() - cpu, "status": run.status,
                          "created": run.created, "updated": run.updated,
                          "requests": people_requests(stats), "sql": sql.count - before,
                          "creates": sum(v for k, v in stats["requests"].items()
                                         if k.endswith("batchCreateContacts"))}
        out["rss"] = peak_rss_mb()
    return out


def import_run(sim_url, n):
    """n people put in the "Clients" label in Google (not measured), imported into a fresh
    CRM user."""
    from portal.extensions import db
    from portal.google import people
    from portal.google import services as google_services
    from portal.google.calendar_events import Backoff
    from portal.sync.contacts.runner import run_contacts

    app = make_app(sim_url)
    with app.app_context():
        db.create_all()
        sim = _SimRef(sim_url)
        user, settings, _tag = connect_contacts(app, sim, f"import{n}@example.com")
        service = google_services.client_for(user).people
        group = people.find_or_create_group(service, "Clients")
        people.batch_create(service, [{
            "names": [{"givenName": "Google", "familyName": f"Person {i}"}],
            "emailAddresses": [{"value": f"p{i}@google.example", "type": "home"}],
            "phoneNumbers": [{"value": f"+1 555 {i}", "type": "mobile"}],
            "organizations": [{"name": "Globex", "title": "Engineer"}],
            "memberships": [{"contactGroupMembership": {"contactGroupResourceName": group}}],
        } for i in range(n)], "names")
        db.session.commit()
        sql = SqlCounter(db.engine)
        sim.control.stats_reset()
        cpu, started = own_cpu(), time.perf_counter()
        run = run_contacts(settings.id, "both", backoff=Backoff())
        db.session.commit()
        wall = time.perf_counter() - started
        stats = sim.control.stats()
        return {"wall": wall, "cpu": own_cpu() - cpu, "status": run.status,
                "created": run.created, "requests": people_requests(stats), "sql": sql.count,
                "rss": peak_rss_mb()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    n = args.n
    import logging
    logging.disable(logging.INFO)
    sim = Sim()
    common.shared_redis()
    try:
        print(f"Contacts sync benchmark, N = {n:,} (googlesim in its own process)",
              flush=True)
        sim_cpu = sim.cpu()
        runs = _in_child(export_runs, sim.base_url, n)
        export_sim_cpu = sim.cpu() - sim_cpu
        export = runs["export"]
        row("full export: wall", f"{export['wall']:.2f} s", "< 30 s", export["wall"] < 30)
        row("full export: CPU", f"portal {export['cpu']:.1f} s, sim {export_sim_cpu:.1f} s",
            "(reference)", True)
        row("full export: people created", f"{export['created']:,} ({export['status']})",
            f"{n:,}", export["created"] == n and export["status"] == "succeeded")
        row("full export: People requests per contact",
            f"{export['requests'] / n:.4f} ({export['requests']}, "
            f"{export['creates']} batchCreateContacts)",
            "<= 1/200 + a few", export["requests"] <= n / 200 + 5)
        row("full export: SQL per contact", f"{export['sql'] / n:.3f} ({export['sql']})",
            "<= 0.2", export["sql"] / n <= 0.2)
        echo = runs["echo"]
        row("next sync (reads our writes back)",
            f"{echo['requests']} requests, {echo['sql']} SQL, {echo['wall']:.2f} s",
            "nothing written", echo["created"] == echo["updated"] == 0)
        quiet = runs["unchanged"]
        row("unchanged sync", f"{quiet['requests']} requests, {quiet['sql']} SQL, "
            f"{quiet['wall'] * 1000:.0f} ms", "<= 3 requests, < 50 SQL",
            quiet["requests"] <= 3 and quiet["sql"] < 50)
        row("export runs: peak RSS", f"{runs['rss']:.0f} MB", "< 300 MB", runs["rss"] < 300)
        sim.control.reset()
        imported = _in_child(import_run, sim.base_url, n)
        row("full import: wall", f"{imported['wall']:.2f} s", "< 30 s", imported["wall"] < 30)
        row("full import: contacts created", f"{imported['created']:,} "
            f"({imported['status']})", f"{n:,}",
            imported["created"] == n and imported["status"] == "succeeded")
        row("full import: People requests per contact",
            f"{imported['requests'] / n:.4f} ({imported['requests']})", "<= 1/1000 + a few",
            imported["requests"] <= n / 1000 + 5)
        row("full import: SQL per contact",
            f"{imported['sql'] / n:.3f} ({imported['sql']})", "<= 0.2",
            imported["sql"] / n <= 0.2)
        row("full import: peak RSS", f"{imported['rss']:.0f} MB", "< 300 MB",
            imported["rss"] < 300)
    finally:
        sim.stop()
        common.stop_embedded_redis()


if __name__ == "__main__":
    main()
