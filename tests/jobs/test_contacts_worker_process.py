"""A contacts sync on a real worker process killed (SIGKILL) half-way: the next
*Synchronize now* starts at once and finishes the job without duplicates."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from portal import ROOT
from portal.crm import contacts as crm_contacts
from portal.crm.models import Contact, Tag
from portal.extensions import db
from portal.sync.contacts.models import ContactLink
from portal.sync.core.runs import SyncRun
from tests.jobs.test_worker_process import WORKER, _processes_with, _worker_env
from tests.sync.test_contacts_integration import (  # noqa: F401  (fixtures)
    contacts_user, sync_contacts,
)


def test_a_worker_killed_mid_contacts_export_leaves_nothing_the_next_run_cannot_finish(
        app, contacts_user, sim, sync_contacts):
    from portal.jobs.contacts import enqueue_contacts_sync

    ann, settings = contacts_user()
    tag = db.session.scalars(db.select(Tag).where(Tag.owner_id == ann.id)).one()
    for n in range(450):  # a third without an address: matched by the UID they carry
        crm_contacts.save_contact(ann, crm_contacts.ContactData(
            last_name=f"Visit {n:03}", tag_ids=[tag.id],
            emails=[(f"v{n}@example.org", "work")] if n % 3 else []))
    db.session.commit()
    # Slow creates: the kill lands between two batchCreateContacts calls.
    sim.fault(method="POST", path="/v1/people:batchCreateContacts", delay_ms=1500, count=10)
    dead = enqueue_contacts_sync(ann, settings, "both")
    log = tempfile.TemporaryFile("w+")
    mark = uuid.uuid4().hex
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT,
                              env=dict(_worker_env(app), PORTAL_TEST_WORKER=mark),
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.scalar(db.select(db.func.count(ContactLink.id))) >= 200:
                break  # the first batch is committed; the second is on its way
            time.sleep(0.2)
        else:
            log.seek(0)
            raise AssertionError("the worker never committed its first batch: "
                                 + log.read()[-3000:])
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        log.close()
    deadline = time.monotonic() + 5
    while _processes_with(f"PORTAL_TEST_WORKER={mark}") and time.monotonic() < deadline:
        time.sleep(0.1)
    sim.clear_faults()
    # A request in flight when the worker died is still carried out by Google: wait for it.
    made, since = len(sim.contacts(ann.email)), time.monotonic()
    while time.monotonic() - since < 2.5:
        time.sleep(0.2)
        if len(sim.contacts(ann.email)) != made:
            made, since = len(sim.contacts(ann.email)), time.monotonic()
    assert 200 <= made < 450
    db.session.expire_all()
    assert db.session.get(SyncRun, dead.id).status == "running"

    # Synchronize now: the dead run is failed, its lock freed, and a new run does the rest.
    run = sync_contacts(ann, settings)
    assert run.id != dead.id
    assert run.status == "succeeded", run.message
    assert db.session.get(SyncRun, dead.id).status == "failed"
    people = sim.contacts(ann.email)
    assert sorted(p["names"][0]["familyName"] for p in people) == [
        f"Visit {n:03}" for n in range(450)]
    assert db.session.scalar(db.select(db.func.count(ContactLink.id))) == 450
    assert db.session.scalar(db.select(db.func.count(Contact.id))) == 450
    again = sync_contacts(ann, settings)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
