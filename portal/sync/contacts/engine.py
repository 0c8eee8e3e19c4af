"""The contacts sync planner: CRM contacts carrying a user's private tag <-> Google contacts
in the label (contact group) named after it. Pure planning: no Flask, no database, no HTTP.

A contact is described as field groups in the CRM's terms (:func:`crm_state`,
:func:`google_state`) and merged against the base remembered on the link with the shared
three-way merge (portal.sync.core.merge). Google's person keeps whatever the CRM does not show
(other names, more addresses or organizations, photos, relations...): an update sends only the
person fields of the groups the CRM changed, and lists Google keeps more of than the CRM
(organizations, addresses) keep their other entries.

Membership of the label is the tag: a tagged contact is in the label; a person taken out of
the label loses the tag in the CRM; an untagged (or no longer visible) contact leaves it.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from portal.sync.core import merge as m

OWNER_CRM = "crm"
OWNER_GOOGLE = "google"
LINK_ACTIVE = "active"
LINK_DETACHED = "detached"

GROUPS = ("name", "emails", "phones", "organization", "address", "birthday", "notes")
#: the person field each group is written to
PERSON_FIELD = {"name": "names", "emails": "emailAddresses", "phones": "phoneNumbers",
                "organization": "organizations", "address": "addresses",
                "birthday": "birthdays", "notes": "biographies"}
#: what the sync reads of a person
READ_MASK = ("names,emailAddresses,phoneNumbers,organizations,addresses,birthdays,"
             "biographies,memberships,urls,clientData,metadata")
LABELS = ("work", "home", "mobile", "other")
#: Google's phone types as the CRM's labels (the rest are "other")
PHONE_LABEL = {"mobile": "mobile", "workMobile": "mobile", "home": "home", "work": "work"}
#: the type of the URL pointing back at the CRM contact
BACKLINK_TYPE = "CRM"
#: the clientData key of the CRM contact's UID on the people the CRM makes: identity that
#: outlives the links (a worker killed before it recorded them, "Forget the links")
CLIENT_KEY = "portalContactUid"

# Action kinds. Google-side ones carry a person body.
CREATE_PERSON = "create_person"
UPDATE_PERSON = "update_person"
DELETE_PERSON = "delete_person"
#: put a person in the label, or take them out
ADD_TO_LABEL = "add_to_label"
REMOVE_FROM_LABEL = "remove_from_label"
CREATE_CONTACT = "create_contact"
UPDATE_CONTACT = "update_contact"
DELETE_CONTACT = "delete_contact"
#: the person left the label in Google: the contact loses the tag
UNTAG_CONTACT = "untag_contact"
LINK = "link"
UNLINK = "unlink"
REBASE = "rebase"
CONFLICT = "conflict"
MERGED = "merged"
SKIP = "skip"

GOOGLE_ACTIONS = (CREATE_PERSON, UPDATE_PERSON, DELETE_PERSON, ADD_TO_LABEL,
                  REMOVE_FROM_LABEL)


# -- snapshots ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ContactSnapshot:
    """A CRM contact as the planner sees it. ``tagged``: it carries the synced tag;
    ``visible``: the syncing user may still see it."""

    id: int | None
    uid: uuid.UUID
    version: int
    last_name: str
    first_name: str = ""
    organization: str = ""
    job_title: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""
    birthday: date | None = None
    notes: str = ""
    emails: tuple = ()
    phones: tuple = ()
    tagged: bool = True
    visible: bool = True
    modified_at: datetime | None = None
    #: the CRM page of the contact (the person's link back)
    url: str = ""


@dataclass(frozen=True)
class PersonSnapshot:
    """A Google contact as listed or fetched."""

    resource_name: str
    etag: str = ""
    deleted: bool = False
    resource: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_resource(cls, resource):
        metadata = resource.get("metadata") or {}
        return cls(resource_name=resource["resourceName"], etag=resource.get("etag") or "",
                   deleted=bool(metadata.get("deleted")), resource=resource)

    def in_group(self, group):
        return group in groups_of(self.resource)

    @property
    def emails(self):
        return [(e.get("value") or "").strip().lower()
                for e in self.resource.get("emailAddresses") or () if e.get("value")]

    @property
    def contact_uid(self):
        """The UID of the CRM contact that made this person, if one did."""
        for item in self.resource.get("clientData") or ():
            if item.get("key") == CLIENT_KEY and item.get("value"):
                return item["value"]
        return None

    @property
    def updated(self):
        for source in (self.resource.get("metadata") or {}).get("sources") or ():
            if source.get("updateTime"):
                return parse_time(source["updateTime"])
        return None


@dataclass(frozen=True)
class LinkSnapshot:
    """A ContactLink row as the planner sees it."""

    id: int | None
    contact_id: int | None
    resource_name: str
    etag: str = ""
    synced_version: int | None = None
    owner: str = OWNER_CRM
    state: str = LINK_ACTIVE
    base_fields: dict | None = field(default=None, compare=False, hash=False)
    crm_deleted_at: datetime | None = None


@dataclass(frozen=True)
class Settings:
    """One user's contacts sync: the label (contact group) of their tag, the conflict rule,
    what a delete in Google does."""

    id: int | None
    user_id: int | None
    group: str
    conflict_rule: str = m.CONFLICT_CRM_WINS
    delete_in_crm_on_google_delete: bool = False
    export_enabled: bool = True
    import_enabled: bool = True


@dataclass
class Action:
    kind: str
    contact_id: int | None = None
    link_id: int | None = None
    resource_name: str | None = None
    #: the person body to create or update, and the fields it updates
    body: dict | None = None
    fields: tuple = ()
    etag: str | None = None
    #: the contact values to create or update (from :func:`contact_values`)
    values: dict | None = None
    groups: tuple | None = None
    person: PersonSnapshot | None = None
    owner: str | None = None
    base: dict | None = None
    synced_version: int | None = None
    conflict: dict | None = None
    reason: str = ""

    @property
    def is_google_write(self):
        return self.kind in GOOGLE_ACTIONS


# -- helpers --------------------------------------------------------------------------------------

def parse_time(value):
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def groups_of(resource):
    """The contact groups (resource names) a person belongs to."""
    out = set()
    for item in (resource or {}).get("memberships") or ():
        membership = (item or {}).get("contactGroupMembership") or {}
        name = membership.get("contactGroupResourceName")
        if not name and membership.get("contactGroupId"):
            name = "contactGroups/" + membership["contactGroupId"]
        if name:
            out.add(name)
    return out


def _first(resource, key):
    items = (resource or {}).get(key) or ()
    return items[0] if items else {}


def _label(value, table=None):
    if table is not None:
        return table.get(value, "other")
    return value if value in LABELS else "other"


# -- the field groups -----------------------------------------------------------------------------

def crm_state(contact):
    """The field groups of a CRM contact, JSON-native."""
    return {
        "name": [contact.first_name or "", contact.last_name or ""],
        "emails": [[email.lower(), label] for email, label in contact.emails],
        "phones": [[number, label] for number, label in contact.phones],
        "organization": [contact.organization or "", contact.job_title or ""],
        "address": [contact.street or "", contact.city or "", contact.postal_code or "",
                    contact.region or "", contact.country or ""],
        "birthday": contact.birthday.isoformat() if contact.birthday else None,
        "notes": contact.notes or "",
    }


def contact_values(resource):
    """The CRM contact's values a Google person maps to (the reverse of
    :func:`person_body`); a person without a family name keeps the CRM's rule of a last
    name (the given name, or the first address)."""
    name = _first(resource, "names")
    first, last = (name.get("givenName") or "").strip(), (name.get("familyName") or "").strip()
    if not last:
        last = first or (name.get("unstructuredName") or name.get("displayName") or "").strip()
        first = "" if last == first else first
    emails, seen = [], set()
    for item in resource.get("emailAddresses") or ():
        value = (item.get("value") or "").strip().lower()
        if value and value not in seen:
            seen.add(value)
            emails.append((value, _label(item.get("type"))))
    if not last:
        last = emails[0][0] if emails else "(no name)"
    phones = [((item.get("value") or "").strip(), _label(item.get("type"), PHONE_LABEL))
              for item in resource.get("phoneNumbers") or () if (item.get("value") or "").strip()]
    org = _first(resource, "organizations")
    address = _first(resource, "addresses")
    birthday = None
    when = _first(resource, "birthdays").get("date") or {}
    try:
        if when.get("year") and when.get("month") and when.get("day"):
            birthday = date(when["year"], when["month"], when["day"])
    except (TypeError, ValueError):
        birthday = None
    return {
        "first_name": first[:100], "last_name": last[:100],
        "emails": tuple(emails), "phones": tuple(phones),
        "organization": (org.get("name") or "").strip()[:200],
        "job_title": (org.get("title") or "").strip()[:200],
        "street": (address.get("streetAddress") or "").strip()[:255],
        "city": (address.get("city") or "").strip()[:100],
        "postal_code": (address.get("postalCode") or "").strip()[:32],
        "region": (address.get("region") or "").strip()[:100],
        "country": (address.get("country") or "").strip()[:100],
        "birthday": birthday,
        "notes": (_first(resource, "biographies").get("value") or "").strip(),
    }


def google_state(person):
    """The field groups of a Google person in the CRM's terms (as an import would write
    them), comparable with :func:`crm_state`."""
    values = contact_values(person.resource if isinstance(person, PersonSnapshot) else person)
    return crm_state(ContactSnapshot(id=None, uid=uuid.UUID(int=0), version=0, **values))


#: the contact columns each group covers (what an import writes)
GROUP_VALUES = {
    "name": ("first_name", "last_name"), "emails": ("emails",), "phones": ("phones",),
    "organization": ("organization", "job_title"),
    "address": ("street", "city", "postal_code", "region", "country"),
    "birthday": ("birthday",), "notes": ("notes",),
}


def person_body(contact, groups=GROUPS, current=None, group=None):
    """The person fields for ``groups`` of ``contact``. Lists the CRM shows only the first
    entry of (organizations, addresses) keep Google's other entries, and each entry keeps
    what the CRM does not map (a department, a PO box...). ``group``: the label a new person
    joins (its membership) and the link back to the CRM."""
    current = current or {}
    body = {}
    if "name" in groups:
        name = dict(_first(current, "names"))
        for key in ("displayName", "displayNameLastFirst", "unstructuredName", "metadata"):
            name.pop(key, None)
        name.update(givenName=contact.first_name or "", familyName=contact.last_name or "")
        body["names"] = [name]
    if "emails" in groups:
        body["emailAddresses"] = _typed_entries(
            current, "emailAddresses", contact.emails,
            lambda item: (item.get("value") or "").strip().lower(), None)
    if "phones" in groups:
        body["phoneNumbers"] = _typed_entries(
            current, "phoneNumbers", contact.phones,
            lambda item: (item.get("value") or "").strip(), PHONE_LABEL)
    if "organization" in groups:
        body["organizations"] = _replace_first(current, "organizations", {
            "name": contact.organization or "", "title": contact.job_title or ""},
            bool(contact.organization or contact.job_title))
    if "address" in groups:
        parts = {"streetAddress": contact.street or "", "city": contact.city or "",
                 "postalCode": contact.postal_code or "", "region": contact.region or "",
                 "country": contact.country or ""}
        body["addresses"] = _replace_first(current, "addresses", parts, any(parts.values()))
    if "birthday" in groups:
        body["birthdays"] = [{"date": {"year": contact.birthday.year,
                                       "month": contact.birthday.month,
                                       "day": contact.birthday.day}}] if contact.birthday else []
    if "notes" in groups:
        body["biographies"] = [{"value": contact.notes, "contentType": "TEXT_PLAIN"}] \
            if contact.notes else []
    if group is not None:
        body["memberships"] = [{"contactGroupMembership": {
            "contactGroupResourceName": group}}]
        if contact.url:
            body["urls"] = [{"value": contact.url, "type": BACKLINK_TYPE}]
        body["clientData"] = [{"key": CLIENT_KEY, "value": str(contact.uid)}]
    return body


def identity_key(state):
    """Every field group at once: a contact and a person with no link and no common
    address are the same one when everything the CRM shows of them is equal (the person a
    killed run made, or one imported before "Forget the links")."""
    return json.dumps({k: v for k, v in state.items() if k != "v"}, sort_keys=True,
                      ensure_ascii=False, default=str)


def uid_key(uid):
    return "uid:" + str(uid)


def state_key(state):
    return "state:" + identity_key(state)


def _typed_entries(current, key, pairs, value_of, table):
    """The CRM's (value, label) pairs as Google entries. An entry Google already has with
    that value and a type the CRM shows as that label keeps Google's own entry (a pager
    stays a pager, a custom type its name), so a CRM edit does not flatten them."""
    mine = {}
    for item in (current or {}).get(key) or ():
        mine.setdefault(value_of(item), []).append(item)
    out = []
    for value, label in pairs:
        kept = None
        for item in mine.get(value_of({"value": value}), ()):
            if _label(item.get("type"), table) == label:
                kept = item
                break
        if kept is not None:
            mine[value_of(kept)].remove(kept)
            entry = {k: v for k, v in kept.items() if k not in ("metadata", "canonicalForm",
                                                              "formattedType")}
            entry["value"] = value
            out.append(entry)
        else:
            out.append({"value": value, "type": label})
    return out


def _replace_first(current, key, values, present):
    rest = [dict(item) for item in (current.get(key) or ())[1:]]
    if not present:
        return rest
    first = dict(_first(current, key))
    first.pop("metadata", None)
    first.pop("formattedValue", None)
    first.update(values)
    return [first] + rest


def fields_of(groups):
    """The person fields (an updatePersonFields mask) of ``groups``, in a stable order."""
    return tuple(PERSON_FIELD[g] for g in GROUPS if g in groups)


# -- planning -------------------------------------------------------------------------------------

def _rights(settings):
    return m.everything(GROUPS, settings.import_enabled, settings.export_enabled)


def _base(link, contact, crm_now, google_now):
    """The link's base; a new or older link takes the side the contact came from as the
    master (the CRM for ours, Google for imported ones) when both differ."""
    base = m.usable(link.base_fields) if link is not None else None
    if base is not None:
        return base
    if link is not None and link.synced_version is not None \
            and contact.version == link.synced_version:
        return m.with_base_version(crm_now)
    owner = link.owner if link is not None else OWNER_GOOGLE
    return m.with_base_version(google_now if owner == OWNER_CRM else crm_now)


def _merge_actions(settings, link, contact, person, reason_prefix=""):
    """What both sides changed since the link's base: updates either way, and the log."""
    crm_now, google_now = crm_state(contact), google_state(person)
    base = _base(link, contact, crm_now, google_now)
    win = m.winner(settings.conflict_rule, contact.modified_at, person.updated)
    result = m.merge(GROUPS, base, crm_now, google_now, _rights(settings), win)
    common = dict(contact_id=contact.id, link_id=link.id if link else None,
                  resource_name=person.resource_name, person=person)
    actions = []
    record = m.record(settings.conflict_rule, crm_now, google_now, result, win)
    if result.both:
        actions.append(Action(CONFLICT, conflict=record, **common,
                              reason=f"changed on both sides ({', '.join(result.both)}): "
                                     f"{win} wins; " + m.summary(result)))
    elif result.from_crm and result.from_google:
        actions.append(Action(MERGED, conflict=record, **common,
                              reason="different fields changed on each side, both kept; "
                                     + m.summary(result)))
    if result.from_google:
        actions.append(Action(UPDATE_CONTACT, values=contact_values(person.resource),
                              groups=tuple(result.from_google),
                              base=None if result.from_crm else result.base,
                              synced_version=link.synced_version if (result.from_crm and link)
                              else None,
                              reason=reason_prefix + "changed in Google: "
                              + ", ".join(result.from_google), **common))
    if result.from_crm:
        fields = fields_of(result.from_crm)
        actions.append(Action(UPDATE_PERSON, body=person_body(contact, result.from_crm,
                                                              person.resource),
                              fields=fields, etag=person.etag, base=result.base,
                              reason=reason_prefix + "changed in CRM: "
                              + ", ".join(result.from_crm), **common))
    if not result.anything:
        actions.append(Action(REBASE, base=result.base, synced_version=contact.version,
                              reason=reason_prefix + "nothing to carry over", **common))
    return actions


def plan_export(settings, contacts, links, persons_by_email=None, persons=None,
                persons_by_identity=None):
    """Plan CRM -> Google. ``contacts``: the tagged contacts the user sees, plus every
    linked contact that changed (untagged, hidden, edited); ``links``: the settings' links
    that may lead to an action (tombstones included); ``persons_by_email``: Google contacts
    of the user by address (from the listing), so a tagged contact already in Google is
    linked and put in the label rather than created twice; ``persons``: Google's current
    copies of the linked people to update ({resource name: PersonSnapshot}), so an update
    keeps what the CRM does not show (a department, a second organization, a phone's own
    type...), and a person Google changed since the link's etag is merged, not
    overwritten. ``persons_by_identity``: unlinked people by :func:`uid_key` (the CRM
    contact that made them) and :func:`state_key`, matched before the addresses (the
    UID) and after them (every field equal), so nothing is created twice even without an
    address."""
    actions = []
    by_id = {c.id: c for c in contacts if c.id is not None}
    linked = set()
    persons_by_email = persons_by_email or {}
    persons = persons or {}
    match = _Matcher(persons_by_email, persons_by_identity or {})
    for link in links:
        contact = by_id.get(link.contact_id) if link.contact_id is not None else None
        if link.contact_id is not None:
            linked.add(link.contact_id)
        if contact is None:
            if link.contact_id is None:
                actions.extend(_plan_crm_delete(link))
            continue
        if link.state == LINK_DETACHED:
            if contact.version != link.synced_version and contact.tagged and contact.visible:
                # Deleted in Google, edited again here: it goes back (a new person).
                actions.append(Action(UNLINK, contact_id=contact.id, link_id=link.id,
                                      reason="edited again after deletion in Google"))
                actions.extend(_plan_new_contact(settings, contact, match))
            continue
        if not contact.tagged or not contact.visible:
            why = "tag removed in CRM" if not contact.tagged else "no longer visible to you"
            actions.append(Action(REMOVE_FROM_LABEL, contact_id=contact.id, link_id=link.id,
                                  resource_name=link.resource_name, reason=why))
            continue
        if contact.version == link.synced_version:
            continue
        person = persons.get(link.resource_name)
        if person is not None and not person.deleted and person.etag != link.etag:
            # Google changed it since the last sync (an export alone, or a race): merge.
            actions.extend(_merge_actions(settings, link, contact, person))
            continue
        base = m.usable(link.base_fields)
        crm_now = crm_state(contact)
        if base is None:
            groups = list(GROUPS)
            base = {}
        else:
            groups = m.changed_groups(GROUPS, base, crm_now, _rights(settings))
        if not groups:
            actions.append(Action(REBASE, contact_id=contact.id, link_id=link.id,
                                  resource_name=link.resource_name,
                                  synced_version=contact.version, reason="nothing to send"))
            continue
        new_base = m.with_base_version({**base, **{g: crm_now[g] for g in groups}})
        actions.append(Action(UPDATE_PERSON, contact_id=contact.id, link_id=link.id,
                              resource_name=link.resource_name,
                              body=person_body(contact, groups,
                                               person.resource if person else None),
                              fields=fields_of(groups), etag=link.etag or None, base=new_base,
                              reason="changed in CRM: " + ", ".join(groups)))
    for contact in contacts:
        if contact.id in linked or not contact.tagged or not contact.visible:
            continue
        actions.extend(_plan_new_contact(settings, contact, match))
    return actions


class _Matcher:
    """The person an unlinked contact already is in Google, each person taken once."""

    def __init__(self, by_email, by_identity):
        self.by_email, self.by_identity, self.taken = by_email, by_identity, set()

    def find(self, contact):
        candidates = [(self.by_identity.get(uid_key(contact.uid)), "made by the CRM")]
        candidates += [(self.by_email.get(email.lower()), email) for email, _ in contact.emails]
        candidates.append((self.by_identity.get(state_key(crm_state(contact))),
                           "same name and details"))
        for person, why in candidates:
            if person is not None and person.resource_name not in self.taken:
                self.taken.add(person.resource_name)
                return person, why
        return None, ""


def _plan_new_contact(settings, contact, match):
    """A tagged contact with no person: the person already in Google (made by the CRM
    for it, with one of its addresses, or with everything equal; linked and put in the
    label), else a new one."""
    person, email = match.find(contact)
    if person is not None:
        link = LinkSnapshot(id=None, contact_id=contact.id,
                            resource_name=person.resource_name, owner=OWNER_CRM)
        # The CRM is the master of this first merge; the person is the CRM's (deleted with
        # the contact) only if the CRM made it for this contact.
        owner = OWNER_CRM if person.contact_uid == str(contact.uid) else OWNER_GOOGLE
        head = [Action(LINK, contact_id=contact.id, resource_name=person.resource_name,
                       person=person, owner=owner, reason=f"already in Google ({email})")]
        if not person.in_group(settings.group):
            head.append(Action(ADD_TO_LABEL, contact_id=contact.id,
                               resource_name=person.resource_name, reason="tagged in CRM"))
        return head + _merge_actions(settings, link, contact, person)
    crm_now = crm_state(contact)
    return [Action(CREATE_PERSON, contact_id=contact.id,
                   body=person_body(contact, GROUPS, group=settings.group),
                   base=m.with_base_version(crm_now), owner=OWNER_CRM,
                   reason="tagged in CRM")]


def _plan_crm_delete(link):
    """The contact was deleted in the CRM: a person the CRM made goes; one that came from
    Google only leaves the label (it was the user's contact before the CRM knew it)."""
    if link.state == LINK_DETACHED:
        return [Action(UNLINK, link_id=link.id, reason="deleted in both")]
    if link.owner == OWNER_CRM:
        return [Action(DELETE_PERSON, link_id=link.id, resource_name=link.resource_name,
                       reason="deleted in CRM")]
    return [Action(REMOVE_FROM_LABEL, link_id=link.id, resource_name=link.resource_name,
                   reason="deleted in CRM; the Google contact stays, out of the label")]


def plan_import(settings, persons, links, contacts, full_sync=False, contacts_by_email=None,
                contacts_by_identity=None, linked_by_uid=None):
    """Plan Google -> CRM. ``persons``: what the connections listing returned (all pages;
    deleted people carry ``metadata.deleted``); ``links``: the links of those people (all of
    the settings' links after a full listing); ``contacts``: the linked contacts and those
    an address of a new person matches (``contacts_by_email``: {address: contact snapshot}
    among the unlinked contacts the user sees; ``contacts_by_identity``: unlinked contacts by
    :func:`uid_key` and :func:`state_key`, for people with no address in the CRM;
    ``linked_by_uid``: {UID: snapshot} of contacts already linked to another person, whose
    UID an unlinked person carries: a second copy a run killed in flight made)."""
    actions = []
    contacts_by_identity = contacts_by_identity or {}
    linked_by_uid = linked_by_uid or {}
    link_by_name = {link.resource_name: link for link in links}
    by_id = {c.id: c for c in contacts if c.id is not None}
    contacts_by_email = contacts_by_email or {}
    claimed = {link.contact_id for link in links if link.contact_id is not None}
    seen = set()
    for person in persons:
        seen.add(person.resource_name)
        link = link_by_name.get(person.resource_name)
        if link is not None and link.etag and link.etag == person.etag:
            continue
        if person.deleted:
            if link is not None:
                actions.extend(_plan_google_delete(settings, link, by_id))
            continue
        in_label = person.in_group(settings.group)
        if link is None:
            twin = linked_by_uid.get(person.contact_uid) if person.contact_uid else None
            if in_label and twin is not None:
                actions.append(_plan_stray_copy(person, twin))
            elif in_label:
                actions.extend(_plan_new_person(settings, person, contacts_by_email, claimed,
                                                contacts_by_identity))
            continue
        contact = by_id.get(link.contact_id)
        if contact is None or link.state == LINK_DETACHED:
            continue  # deleted in the CRM (the export handles it), or detached
        if not in_label:
            actions.append(Action(UNTAG_CONTACT, contact_id=contact.id, link_id=link.id,
                                  resource_name=person.resource_name, person=person,
                                  reason="taken out of the label in Google"))
            continue
        actions.extend(_merge_actions(settings, link, contact, person))
    if full_sync:
        for link in links:
            if link.resource_name in seen:
                continue
            if link.contact_id is None:
                # deleted in the CRM and gone from Google too: nothing left to delete
                actions.append(Action(UNLINK, link_id=link.id, reason="deleted in both"))
            elif link.state != LINK_DETACHED:
                actions.extend(_plan_google_delete(settings, link, by_id,
                                                   "missing from a full listing"))
    return actions


def _plan_new_person(settings, person, contacts_by_email, claimed, contacts_by_identity=None):
    """A person in the label that no link covers: the CRM contact that made it, else one
    with one of its addresses, else one with everything equal (tagged and linked), else a
    new contact carrying the tag."""
    contacts_by_identity = contacts_by_identity or {}
    candidates = [(contacts_by_identity.get(uid_key(person.contact_uid)), "made by the CRM")] \
        if person.contact_uid else []
    candidates += [(contacts_by_email.get(email), email) for email in person.emails]
    candidates.append((contacts_by_identity.get(state_key(google_state(person))),
                       "same name and details"))
    for contact, email in candidates:
        if contact is not None and contact.id not in claimed:
            claimed.add(contact.id)
            link = LinkSnapshot(id=None, contact_id=contact.id,
                                resource_name=person.resource_name, owner=OWNER_GOOGLE)
            owner = OWNER_CRM if person.contact_uid == str(contact.uid) else OWNER_GOOGLE
            return [Action(LINK, contact_id=contact.id, resource_name=person.resource_name,
                           person=person, owner=owner,
                           reason=f"already in CRM ({email})")] + \
                _merge_actions(settings, link, contact, person)
    values = contact_values(person.resource)
    base = m.with_base_version(google_state(person))
    return [Action(CREATE_CONTACT, resource_name=person.resource_name, person=person,
                   values=values, base=base, owner=OWNER_GOOGLE, reason="new in Google")]


def _plan_stray_copy(person, contact):
    """A person the CRM made for a contact that is linked to another person: Google made it
    from a request whose answer a killed worker never read. Untouched, it goes (it is the
    CRM's own duplicate); edited in Google since, it is left alone and not imported."""
    if google_state(person) == crm_state(contact):
        return Action(DELETE_PERSON, resource_name=person.resource_name, person=person,
                      reason="a second copy of this contact that an interrupted sync made")
    return Action(SKIP, contact_id=contact.id, resource_name=person.resource_name,
                  person=person, reason="a second copy of this contact that an interrupted "
                  "sync made, edited in Google since: left as it is, not imported")


def _plan_google_delete(settings, link, by_id, reason="deleted in Google"):
    contact = by_id.get(link.contact_id)
    if link.state == LINK_DETACHED or contact is None:
        return [Action(UNLINK, link_id=link.id, reason=reason)]
    if settings.delete_in_crm_on_google_delete:
        return [Action(DELETE_CONTACT, contact_id=contact.id, link_id=link.id,
                       resource_name=link.resource_name, reason=reason)]
    return [Action(UNLINK, contact_id=contact.id, link_id=link.id,
                   resource_name=link.resource_name, synced_version=contact.version,
                   reason=reason + "; kept in CRM")]
