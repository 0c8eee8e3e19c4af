"""The contacts sync runner: one user's tagged contacts <-> their Google Contacts label.

Layering as the calendar's: jobs -> runner -> planner (contacts/engine.py, pure) + client
(google/people.py). Import first (incremental with the People sync token; an expired token
means a full listing reconciled with the links), then export. Google's mutate calls for one
user go one after another; links are written only for what Google acknowledged, and every
update carries the etag it read (a stale one means read again and merge).
"""
import json
import logging
import uuid

from flask import current_app
from sqlalchemy import exists, insert, or_, select

from portal.accounts.models import User
from portal.core.types import utcnow
from portal.crm import contacts as crm_contacts
from portal.crm.models import TAG_PRIVATE, Contact, ContactEmail, Tag, contact_tags
from portal.extensions import db
from portal.google import people
from portal.google import services as google_services
from portal.google.calendar_events import Backoff
from portal.google.client import CONTACTS_SCOPE
from portal.jobs.connection import get_redis
from portal.sync.contacts import engine as c
from portal.sync.contacts.models import (LINK_ACTIVE, LINK_DETACHED, ContactLink,
                                         ContactSyncSettings)
from portal.sync.core import merge as m
from portal.sync.core import outcome
from portal.sync.core.bulk import chunks, in_query
from portal.sync.core.pacing import pacer_for
from portal.sync.core.recorder import KEPT_IN_CRM, Recorder
from portal.sync.core.runs import (
    DIRECTION_BOTH, DIRECTION_EXPORT, DIRECTION_IMPORT, RUN_FAILED, RUN_NEEDS_REAUTH, SyncRun,
)

log = logging.getLogger(__name__)


def contact_snapshot(contact, tagged, visible, url=""):
    return c.ContactSnapshot(
        id=contact.id, uid=contact.uid, version=contact.version,
        last_name=contact.last_name or "", first_name=contact.first_name or "",
        organization=contact.organization or "", job_title=contact.job_title or "",
        street=contact.street or "", city=contact.city or "",
        postal_code=contact.postal_code or "", region=contact.region or "",
        country=contact.country or "", birthday=contact.birthday, notes=contact.notes or "",
        emails=tuple((e.email, e.label) for e in contact.emails),
        phones=tuple((p.number, p.label) for p in contact.phones),
        tagged=tagged, visible=visible, modified_at=contact.modified_at, url=url)


def link_snapshot(link):
    try:
        base = json.loads(link.base_fields) if link.base_fields else None
    except ValueError:
        base = None
    return c.LinkSnapshot(id=link.id, contact_id=link.contact_id,
                          resource_name=link.resource_name, etag=link.etag or "",
                          synced_version=link.synced_version, owner=link.owner,
                          state=link.state, base_fields=base if isinstance(base, dict) else None,
                          crm_deleted_at=link.crm_deleted_at)


class ContactsRunner:
    """One run of one user's contacts sync. Use :func:`run_contacts`."""

    def __init__(self, settings, run, backoff=None):
        self.settings = settings
        self.user = db.session.get(User, settings.user_id)
        self.tag = db.session.get(Tag, settings.tag_id)
        self.run = run
        self.backoff = backoff or Backoff()
        self.recorder = Recorder(run)
        self.client = google_services.client_for(self.user)
        self.service = self.client.people
        self.pacer = pacer_for(get_redis(), current_app.config,
                               google_services.google_account_of(self.user))
        self.snap = None
        #: the run's full listing of the user's Google contacts (read at most once, when a
        #: tagged contact has no person yet)
        self._full_listing = None
        #: people this run's import listing returned, by resource name
        self._listed = {}

    # bookkeeping ------------------------------------------------------------------------
    @property
    def counts(self):
        return self.recorder.counts

    def log(self, action, detail="", contact_id=None, resource_name=None, subject="",
            versions=None):
        self.recorder.log(action, detail, contact_id=contact_id, event_id=resource_name,
                          subject=subject, versions=versions)

    def commit(self, progress=None):
        self.recorder.flush(progress)
        db.session.commit()

    # the label ----------------------------------------------------------------------------
    def ensure_group(self):
        """The Google label named after the tag (found, or made once)."""
        settings = self.settings
        settings.group_resource_name = people.find_or_create_group(
            self.service, self.tag.name, settings.group_resource_name, self.backoff)
        self.snap = c.Settings(
            id=settings.id, user_id=settings.user_id, group=settings.group_resource_name,
            conflict_rule=settings.conflict_rule or m.CONFLICT_CRM_WINS,
            delete_in_crm_on_google_delete=bool(settings.delete_in_crm_when_deleted_in_google))

    # scope --------------------------------------------------------------------------------
    def visible_condition(self):
        """Contacts the user sees (their own; an admin's tag may sit on anyone's)."""
        return True if self.user.is_admin else Contact.owner_id == self.user.id

    def tagged_condition(self):
        return exists().where(contact_tags.c.contact_id == Contact.id,
                              contact_tags.c.tag_id == self.tag.id)

    def snapshots(self, ids):
        """Snapshots of contacts ``ids`` (tagged/visible as they are now), in bulk."""
        if not ids:
            return {}
        from sqlalchemy.orm import selectinload

        rows = in_query(lambda chunk: select(Contact).where(Contact.id.in_(chunk)).options(
            selectinload(Contact.emails), selectinload(Contact.phones)), ids)
        tagged = set(in_query(lambda chunk: select(contact_tags.c.contact_id).where(
            contact_tags.c.contact_id.in_(chunk), contact_tags.c.tag_id == self.tag.id), ids))
        base = current_app.config.get("PUBLIC_BASE_URL") or ""
        return {row.id: contact_snapshot(
            row, row.id in tagged, self.user.is_admin or row.owner_id == self.user.id,
            url=f"{base}/contacts/{row.id}" if base else "") for row in rows}

    # import -------------------------------------------------------------------------------
    def listing(self):
        settings = self.settings
        if settings.sync_token:
            try:
                return people.list_connections(self.service, read_mask=c.READ_MASK,
                                               sync_token=settings.sync_token,
                                               backoff=self.backoff)
            except people.PeopleFullSyncRequired:
                self.log("full_sync", "Google asked for a full listing (sync token expired)")
                settings.sync_token = None
        listing = people.list_connections(self.service, read_mask=c.READ_MASK,
                                          backoff=self.backoff)
        self._full_listing = listing.persons
        return listing

    def _identities(self, resources, linked):
        """Unlinked people by the CRM contact that made them and by all their fields."""
        found = {}
        for resource in resources:
            person = c.PersonSnapshot.from_resource(resource)
            if person.deleted or person.resource_name in linked:
                continue
            if person.contact_uid:
                found.setdefault(c.uid_key(person.contact_uid), person)
            found.setdefault(c.state_key(c.google_state(person)), person)
        return found

    def _unlinked_contacts(self, persons):
        """Snapshots of the unlinked contacts ``persons`` (people in the label with no
        link and no address the CRM knows) may be: the ones that made them, and the tagged
        ones the user sees, by :func:`engine.uid_key` and :func:`engine.state_key`."""
        uids = []
        for person in persons:
            try:
                uids.append(uuid.UUID(person.contact_uid))
            except (TypeError, ValueError):
                pass
        unlinked = ~exists().where(ContactLink.settings_id == self.settings.id,
                                   ContactLink.contact_id == Contact.id)
        which = or_(self.tagged_condition(), Contact.uid.in_(uids)) if uids \
            else self.tagged_condition()
        ids = set(db.session.scalars(select(Contact.id).where(
            self.visible_condition(), unlinked, which)))
        snaps = self.snapshots(ids)
        found = {}
        for snap in sorted(snaps.values(), key=lambda s: s.id):
            found.setdefault(c.uid_key(snap.uid), snap)
            found.setdefault(c.state_key(c.crm_state(snap)), snap)
        twins = {}
        if uids:  # the CRM's own people whose contact is linked to another one
            twin_ids = set(db.session.scalars(select(Contact.id).where(
                Contact.uid.in_(uids), ~unlinked)))
            twins = {str(snap.uid): snap for snap in self.snapshots(twin_ids).values()}
        return snaps, found, twins

    @staticmethod
    def _index(resources, linked=frozenset()):
        """Unlinked people by address (a person already linked stays with its contact)."""
        found = {}
        for resource in resources:
            person = c.PersonSnapshot.from_resource(resource)
            if not person.deleted and person.resource_name not in linked:
                for email in person.emails:
                    found.setdefault(email, person)
        return found

    def import_(self):
        settings = self.settings
        listing = self.listing()
        persons = [c.PersonSnapshot.from_resource(r) for r in listing.persons]
        self._listed = {p.resource_name: p for p in persons if not p.deleted}
        if listing.full:
            links = db.session.scalars(select(ContactLink).where(
                ContactLink.settings_id == settings.id)).all()
        else:
            links = in_query(lambda chunk: select(ContactLink).where(
                ContactLink.settings_id == settings.id, ContactLink.resource_name.in_(chunk)),
                [p.resource_name for p in persons])
        linked = {l.resource_name for l in links}
        emails = {e for p in persons if p.resource_name not in linked and not p.deleted
                  and p.in_group(self.snap.group) for e in p.emails}
        by_email = {}
        # only contacts no person holds yet: one already linked stays with its own person
        unlinked = ~exists().where(ContactLink.settings_id == settings.id,
                                   ContactLink.contact_id == Contact.id)
        for chunk in chunks(emails):
            for email, contact_id in db.session.execute(
                    select(ContactEmail.email, ContactEmail.contact_id).join(
                        Contact, Contact.id == ContactEmail.contact_id).where(
                        ContactEmail.email.in_(chunk), self.visible_condition(), unlinked)
                    .order_by(ContactEmail.contact_id)):
                by_email.setdefault(email, contact_id)
        ids = {l.contact_id for l in links if l.contact_id is not None} | set(by_email.values())
        snaps = self.snapshots(ids)
        pending = [p for p in persons if p.resource_name not in linked and not p.deleted
                   and p.in_group(self.snap.group)
                   and not any(e in by_email for e in p.emails)]
        by_identity, twins = {}, {}
        if pending:
            more, by_identity, twins = self._unlinked_contacts(pending)
            for contact_id, snap in more.items():
                snaps.setdefault(contact_id, snap)
        plan = c.plan_import(self.snap, persons, [link_snapshot(l) for l in links],
                             list(snaps.values()), full_sync=listing.full,
                             contacts_by_email={e: snaps[i] for e, i in by_email.items()
                                                if i in snaps},
                             contacts_by_identity=by_identity, linked_by_uid=twins)
        self.apply(plan, {l.id: l for l in links}, snaps)
        settings.sync_token = listing.next_sync_token
        self.commit("import done")

    # export -------------------------------------------------------------------------------
    def export(self):
        settings = self.settings
        links = db.session.scalars(select(ContactLink).outerjoin(
            Contact, Contact.id == ContactLink.contact_id).where(
            ContactLink.settings_id == settings.id,
            or_(Contact.id.is_(None), ContactLink.synced_version.is_(None),
                ContactLink.synced_version != Contact.version))).all()
        untagged = db.session.scalars(select(ContactLink).join(
            Contact, Contact.id == ContactLink.contact_id).where(
            ContactLink.settings_id == settings.id, ContactLink.state == LINK_ACTIVE,
            or_(~self.tagged_condition(), ~self.visible_condition()
                if not self.user.is_admin else False))).all()
        known = {l.id for l in links}
        links += [l for l in untagged if l.id not in known]
        linked_here = exists().where(ContactLink.settings_id == settings.id,
                                     ContactLink.contact_id == Contact.id)
        new = set(db.session.scalars(select(Contact.id).where(
            self.tagged_condition(), self.visible_condition(), ~linked_here)))
        ids = new | {l.contact_id for l in links if l.contact_id is not None}
        snaps = self.snapshots(ids)
        by_email, by_identity = {}, {}
        if new:
            if self._full_listing is None:
                self._full_listing = people.list_connections(
                    self.service, read_mask=c.READ_MASK, backoff=self.backoff).persons
            linked = set(db.session.scalars(select(ContactLink.resource_name).where(
                ContactLink.settings_id == settings.id)))
            by_email = self._index(self._full_listing, linked)
            by_identity = self._identities(self._full_listing, linked)
        plan = c.plan_export(self.snap, list(snaps.values()), [link_snapshot(l) for l in links],
                             persons_by_email=by_email, persons_by_identity=by_identity,
                             persons=self.current_people(links, snaps))
        self.apply(plan, {l.id: l for l in links}, snaps)
        self.commit("export done")

    def current_people(self, links, snaps):
        """Google's current copies of the linked people an export may update: from this
        run's listing when it still has the link's etag, else read in bulk (getBatchGet)."""
        wanted, found = [], {}
        for link in links:
            snap = snaps.get(link.contact_id)
            if link.state != LINK_ACTIVE or snap is None or not snap.tagged \
                    or not snap.visible or snap.version == link.synced_version:
                continue
            listed = self._listed.get(link.resource_name)
            if listed is not None and listed.etag == link.etag:
                found[link.resource_name] = listed
            else:
                wanted.append(link.resource_name)
        if wanted:
            for resource in people.get_people(self.service, wanted, c.READ_MASK, self.backoff):
                found[resource["resourceName"]] = c.PersonSnapshot.from_resource(resource)
        return found

    # applying a plan ------------------------------------------------------------------------
    def apply(self, plan, links_by_id, snaps):
        """CRM-side actions first, in order; then Google's, grouped into batch calls."""
        self.made = {}  # resource name -> link made during this plan
        writes, creates = [], []
        for action in plan:
            if action.is_google_write:
                writes.append(action)
            elif action.kind == c.CREATE_CONTACT:
                creates.append(action)  # nothing else in the plan refers to them
            else:
                self.apply_local(action, links_by_id, snaps)
        self.create_contacts(creates)
        self.apply_google(writes, links_by_id, snaps)

    def link_for(self, action, links_by_id):
        if action.link_id is not None:
            return links_by_id.get(action.link_id) or db.session.get(ContactLink, action.link_id)
        return self.made.get(action.resource_name)

    def _subject(self, action, snaps):
        snap = snaps.get(action.contact_id)
        if snap is not None:
            return " ".join(p for p in (snap.first_name, snap.last_name) if p)
        values = action.values or {}
        return " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p)

    def remember(self, link, person=None, base=None, version=None):
        """Google acknowledged (or showed) ``person``: its etag, the new base (None keeps
        the remembered one) and the contact version it agrees with."""
        if person is not None:
            link.etag = person.get("etag") if isinstance(person, dict) else person.etag
        if base is not None:
            link.base_fields = json.dumps(base, ensure_ascii=False)
        if version is not None:
            link.synced_version = version
        link.synced_at = utcnow()
        link.last_error = None

    def apply_local(self, action, links_by_id, snaps):
        kind = action.kind
        link = self.link_for(action, links_by_id)
        subject = self._subject(action, snaps)
        if kind in (c.SKIP, c.CONFLICT, c.MERGED):
            if kind == c.SKIP:
                self.counts.skipped += 1
            elif kind == c.CONFLICT:
                self.counts.conflicts += 1
            self.log(kind, action.reason, action.contact_id, action.resource_name, subject,
                     versions=action.conflict)
        elif kind == c.LINK:
            link = ContactLink(settings_id=self.settings.id, user_id=self.user.id,
                               contact_id=action.contact_id,
                               resource_name=action.resource_name, owner=action.owner,
                               state=LINK_ACTIVE, etag=action.person.etag if action.person
                               else "")
            db.session.add(link)
            db.session.flush()
            self.made[action.resource_name] = link
            links_by_id[link.id] = link
            self._tag(action.contact_id)
            self.counts.updated += 1
            self.log(kind, action.reason, action.contact_id, action.resource_name, subject)
        elif kind == c.UPDATE_CONTACT:
            contact = db.session.get(Contact, action.contact_id)
            if contact is None or link is None:
                return
            self._update_contact(contact, action.values, action.groups)
            db.session.flush()
            snap = snaps.get(contact.id)
            if snap is not None:
                snaps[contact.id] = snap.__class__(**{**snap.__dict__,
                                                      "version": contact.version})
            if action.synced_version is not None:
                link.etag = action.person.etag
                link.synced_version = action.synced_version
            else:
                self.remember(link, action.person, action.base, contact.version)
            self.counts.updated += 1
            self.log(kind, action.reason, contact.id, action.resource_name, subject)
        elif kind == c.UNTAG_CONTACT:
            contact = db.session.get(Contact, action.contact_id)
            if contact is not None:
                contact.tags = [t for t in contact.tags if t.id != self.tag.id]
            if link is not None:
                db.session.delete(link)
            self.counts.updated += 1
            self.log(kind, action.reason, action.contact_id, action.resource_name, subject)
        elif kind == c.DELETE_CONTACT:
            contact = db.session.get(Contact, action.contact_id)
            if link is not None:
                db.session.delete(link)
            if contact is not None:
                db.session.delete(contact)
            self.counts.deleted += 1
            self.log(kind, action.reason, action.contact_id, action.resource_name, subject)
        elif kind == c.UNLINK:
            if link is None:
                return
            if action.synced_version is not None and link.contact_id is not None:
                link.state = LINK_DETACHED
                link.synced_version = action.synced_version
                self.counts.kept += 1
                kind = KEPT_IN_CRM
            else:
                db.session.delete(link)
            self.log(kind, action.reason, action.contact_id, action.resource_name, subject)
        elif kind == c.REBASE:
            if link is None:
                return
            snap = snaps.get(action.contact_id)
            self.remember(link, action.person, action.base,
                          snap.version if snap is not None else action.synced_version)

    def create_contacts(self, actions):
        """New people from Google as tagged CRM contacts with their links, in bulk (a few
        statements per chunk, not a flush per contact), cleaned as the contact form would
        (addresses the CRM refuses are left out)."""
        from portal.crm.models import ContactPhone

        now = utcnow()
        for chunk in chunks(actions):
            rows, extras = [], []
            for action in chunk:
                values = action.values
                emails, seen = [], set()
                for email, label in values["emails"]:
                    try:
                        email = crm_contacts.normalize_email(email)
                    except crm_contacts.ContactError:
                        continue
                    if email not in seen:
                        seen.add(email)
                        emails.append((email, crm_contacts._label(label)))
                phones = [(number.strip(), crm_contacts._label(label))
                          for number, label in values["phones"] if number.strip()]
                uid = uuid.uuid4()
                rows.append(dict(
                    uid=uid, owner_id=self.user.id, version=1, created_at=now,
                    modified_at=now, birthday=values["birthday"],
                    last_name=values["last_name"].strip() or "(no name)",
                    notes=(values["notes"] or "").strip(),
                    **{f: (values[f] or "").strip() for f in (
                        "first_name", "organization", "job_title", "street", "city",
                        "postal_code", "region", "country")}))
                extras.append((action, uid, emails, phones))
            db.session.execute(insert(Contact), rows)
            ids = dict(db.session.execute(select(Contact.uid, Contact.id).where(
                Contact.uid.in_([uid for _, uid, _, _ in extras]))).all())
            emails, phones, tags, links = [], [], [], []
            for action, uid, contact_emails, contact_phones in extras:
                contact_id = ids[uid]
                emails += [dict(contact_id=contact_id, email=e, label=lbl, position=i)
                           for i, (e, lbl) in enumerate(contact_emails)]
                phones += [dict(contact_id=contact_id, number=n, label=lbl, position=i)
                           for i, (n, lbl) in enumerate(contact_phones)]
                tags.append(dict(contact_id=contact_id, tag_id=self.tag.id))
                links.append(dict(settings_id=self.settings.id, user_id=self.user.id,
                                  contact_id=contact_id, resource_name=action.resource_name,
                                  owner=c.OWNER_GOOGLE, state=LINK_ACTIVE,
                                  etag=action.person.etag, synced_version=1,
                                  base_fields=json.dumps(action.base), synced_at=now))
                self.counts.created += 1
                self.log(action.kind, action.reason, contact_id, action.resource_name,
                         f"{action.values['first_name']} {action.values['last_name']}".strip())
            for table, batch in ((ContactEmail, emails), (ContactPhone, phones),
                                 (contact_tags, tags), (ContactLink, links)):
                if batch:
                    db.session.execute(insert(table), batch)

    def _tag(self, contact_id):
        contact = db.session.get(Contact, contact_id)
        if contact is not None and all(t.id != self.tag.id for t in contact.tags):
            contact.tags = list(contact.tags) + [self.tag]
            db.session.flush()

    def _update_contact(self, contact, values, groups):
        for group in groups:
            for column in c.GROUP_VALUES[group]:
                if column == "emails":
                    crm_contacts._replace_emails(contact, [(e, lbl) for e, lbl in values["emails"]
                                                           if _valid(e)])
                elif column == "phones":
                    crm_contacts._replace_phones(contact, list(values["phones"]))
                else:
                    setattr(contact, column, values[column])

    # Google writes ----------------------------------------------------------------------
    def apply_google(self, writes, links_by_id, snaps):
        service, pacer, backoff = self.service, self.pacer, self.backoff
        creates = [a for a in writes if a.kind == c.CREATE_PERSON]
        # One call and one commit per acknowledged batch: a worker killed half-way leaves
        # the links of everything Google answered for.
        for start in range(0, len(creates), people.MAX_CREATE):
            self.create_people(creates[start:start + people.MAX_CREATE], snaps)
        self.apply_updates([a for a in writes if a.kind == c.UPDATE_PERSON], links_by_id,
                           snaps)
        deletes = [a for a in writes if a.kind == c.DELETE_PERSON]
        if deletes:
            people.batch_delete(service, [a.resource_name for a in deletes], pacer, backoff)
            for action in deletes:
                link = self.link_for(action, links_by_id)
                if link is not None:
                    db.session.delete(link)
                self.counts.deleted += 1
                self.log(action.kind, action.reason, action.contact_id, action.resource_name)
        adds = [a for a in writes if a.kind == c.ADD_TO_LABEL]
        removes = [a for a in writes if a.kind == c.REMOVE_FROM_LABEL]
        if adds or removes:
            people.modify_members(service, self.snap.group,
                                  [a.resource_name for a in adds],
                                  [a.resource_name for a in removes], pacer, backoff)
            for action in removes:
                link = self.link_for(action, links_by_id)
                if link is not None:
                    db.session.delete(link)
                self.counts.updated += 1
                self.log(action.kind, action.reason, action.contact_id, action.resource_name,
                         self._subject(action, snaps))
            for action in adds:
                self.log(action.kind, action.reason, action.contact_id, action.resource_name,
                         self._subject(action, snaps))

    def create_people(self, creates, snaps):
        """One batchCreateContacts call (up to 200 people) and the links of what Google made."""
        created = people.batch_create(self.service, [a.body for a in creates], c.READ_MASK,
                                      self.pacer, self.backoff)
        rows = []
        for action, person in zip(creates, created):
            if not person:
                continue
            snap = snaps.get(action.contact_id)
            rows.append(dict(settings_id=self.settings.id, user_id=self.user.id,
                             contact_id=action.contact_id,
                             resource_name=person["resourceName"],
                             etag=person.get("etag") or "", owner=c.OWNER_CRM,
                             state=LINK_ACTIVE,
                             synced_version=snap.version if snap else None,
                             base_fields=json.dumps(action.base), synced_at=utcnow()))
            self.counts.created += 1
            self.log(action.kind, action.reason, action.contact_id, person["resourceName"],
                     self._subject(action, snaps))
        if rows:
            db.session.execute(insert(ContactLink), rows)
        self.commit(f"sent {len(rows)} new contacts")

    def apply_updates(self, updates, links_by_id, snaps, again=True):
        """Person updates, one batch call per field mask; a stale etag means reading those
        people again and merging (never overwriting what changed in Google)."""
        by_mask = {}
        for action in updates:
            by_mask.setdefault(action.fields, []).append(action)
        for fields, actions in by_mask.items():
            bodies = {a.resource_name: dict(a.body, etag=a.etag) for a in actions if a.etag}
            try:
                done = people.batch_update(self.service, bodies, ",".join(fields), c.READ_MASK,
                                           self.pacer, self.backoff)
            except people.StaleEtag:
                if not again:
                    raise
                self.merge_again(actions, links_by_id, snaps)
                continue
            for action in actions:
                person = done.get(action.resource_name)
                link = self.link_for(action, links_by_id)
                if person is None or link is None:
                    continue
                snap = snaps.get(action.contact_id)
                self.remember(link, person, action.base, snap.version if snap else None)
                self.counts.updated += 1
                self.log(action.kind, action.reason, action.contact_id, action.resource_name,
                         self._subject(action, snaps))
            self.commit()

    def merge_again(self, actions, links_by_id, snaps):
        fresh = {p["resourceName"]: c.PersonSnapshot.from_resource(p) for p in people.get_people(
            self.service, [a.resource_name for a in actions], c.READ_MASK, self.backoff)}
        plan = []
        for action in actions:
            person = fresh.get(action.resource_name)
            link = self.link_for(action, links_by_id)
            snap = snaps.get(action.contact_id)
            if person is None or link is None or snap is None:
                continue
            plan.extend(c._merge_actions(self.snap, link_snapshot(link), snap, person,
                                         "read again after a stale etag: "))
        local = [a for a in plan if not a.is_google_write]
        for action in local:
            self.apply_local(action, links_by_id, snaps)
        self.apply_updates([a for a in plan if a.kind == c.UPDATE_PERSON], links_by_id, snaps,
                           again=False)


def _valid(email):
    try:
        crm_contacts.normalize_email(email)
        return True
    except crm_contacts.ContactError:
        return False


def run_contacts(settings_id, direction=DIRECTION_BOTH, run=None, backoff=None):
    """Sync one user's contacts now, in this process; returns the SyncRun (see
    portal.sync.calendar.runner.run_mapping for the error handling, which is the same)."""
    settings = db.session.get(ContactSyncSettings, settings_id)
    if run is None:
        run = SyncRun(job_id=f"inline-contacts-{settings_id}-{utcnow().timestamp()}",
                      kind="contacts", contact_settings_id=settings_id,
                      user_id=settings.user_id if settings else None, direction=direction)
        db.session.add(run)
    outcome.start(run)
    if settings is None or settings.tag_id is None:
        return outcome.finish(run, RUN_FAILED, "Contacts sync is off: choose a tag first.")
    user = db.session.get(User, settings.user_id)
    tag = db.session.get(Tag, settings.tag_id)
    if tag is None or tag.visibility != TAG_PRIVATE or tag.owner_id != user.id:
        # Public and corporate tags never sync (settings saved before that rule, or a tag
        # that changed hands): nothing goes to Google until the user picks a private tag.
        return outcome.finish(run, RUN_FAILED, "Contacts sync is off: the tag it used is not "
                              "one of your private tags any more; choose one.")
    conn = google_services.get_connection(user)
    if google_services.connection_usable(user) and CONTACTS_SCOPE not in conn.scope_list:
        return outcome.finish(run, RUN_NEEDS_REAUTH, "Google has not given the portal access "
                              "to your contacts yet: allow it on the contacts sync page.")

    def work():
        runner = ContactsRunner(settings, run, backoff=backoff)
        runner.ensure_group()
        if direction in (DIRECTION_IMPORT, DIRECTION_BOTH):
            run.progress = "importing from Google"
            runner.import_()
        if direction in (DIRECTION_EXPORT, DIRECTION_BOTH):
            run.progress = "exporting to Google"
            runner.export()
        runner.recorder.flush()
        settings.last_synced_at = utcnow()
        return runner.recorder.summary()

    return outcome.settle(run, user, work)
