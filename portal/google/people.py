"""Google Contacts (People v1): listing with sync tokens, contact groups, and the batch
mutations. Pure client layer: no Flask, no models (like calendar_events.py).

Google asks that mutate requests for one user go one after another, never in parallel: the
caller sends them from one run (the contacts sync holds a lock per user) and these helpers
never fan out. Every write asks the ``pacer`` first (the account's shared pace).
"""
from dataclasses import dataclass

from portal.google.calendar_events import Backoff, _retrying
from portal.google.client import GoogleError, PermanentError

PAGE_SIZE = 1000
#: Google's limits per batch call
MAX_CREATE = 200
MAX_UPDATE = 200
MAX_DELETE = 500
MAX_MEMBERS = 1000


class PeopleFullSyncRequired(GoogleError):
    """The sync token expired (400 with reason EXPIRED_SYNC_TOKEN): list everything again."""


class StaleEtag(GoogleError):
    """An update carried an etag Google no longer has (someone changed the person since):
    read it again and merge; never overwrite."""


def _mentions(error, marker):
    cause = getattr(error, "__cause__", None)
    content = getattr(cause, "content", b"") or b""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return marker in content or marker in str(error)


@dataclass
class PeopleListing:
    persons: list
    next_sync_token: str | None
    full: bool
    pages: int = 0


def list_connections(service, *, read_mask, sync_token=None, backoff=None,
                     page_size=PAGE_SIZE):
    """Every connection (all pages), deleted ones included in an incremental listing. An
    expired token raises :class:`PeopleFullSyncRequired`; any other failure propagates (a
    partial listing is never returned)."""
    backoff = backoff or Backoff()
    persons, page_token, pages = [], None, 0
    connections = service.people().connections()
    while True:
        params = {"resourceName": "people/me", "personFields": read_mask,
                  "pageSize": page_size, "requestSyncToken": True}
        if page_token:
            params["pageToken"] = page_token
        if sync_token:
            params["syncToken"] = sync_token
        try:
            response = _retrying(lambda: connections.list(**params).execute(), backoff)
        except PermanentError as exc:
            if exc.status == 400 and _mentions(exc, "EXPIRED_SYNC_TOKEN"):
                raise PeopleFullSyncRequired("Google needs a full contacts listing (the sync "
                                             "token expired).", status=400,
                                             reason="EXPIRED_SYNC_TOKEN") from exc
            raise
        pages += 1
        persons.extend(response.get("connections", []))
        page_token = response.get("nextPageToken")
        if not page_token:
            return PeopleListing(persons, response.get("nextSyncToken"), not sync_token, pages)


def get_people(service, resource_names, read_mask, backoff=None):
    """The current copies of some people (getBatchGet, 200 a call); missing ones are left
    out."""
    backoff = backoff or Backoff()
    out = []
    names = list(resource_names)
    for start in range(0, len(names), 200):
        chunk = names[start:start + 200]
        response = _retrying(lambda: service.people().getBatchGet(
            resourceNames=chunk, personFields=read_mask).execute(), backoff)
        for item in response.get("responses", []):
            if item.get("person"):
                out.append(item["person"])
    return out


def find_or_create_group(service, name, known=None, backoff=None):
    """The resource name of the user's contact group (label) called ``name``: ``known`` if
    it still exists, else one with that name, else a new one."""
    backoff = backoff or Backoff()
    groups = service.contactGroups()
    page_token, found = None, {}
    while True:
        response = _retrying(lambda: groups.list(pageSize=1000, pageToken=page_token)
                             .execute(), backoff)
        for group in response.get("contactGroups", []):
            if group.get("groupType") == "USER_CONTACT_GROUP":
                found[group["resourceName"]] = group.get("name") or ""
        page_token = response.get("nextPageToken")
        if not page_token:
            break
    if known and known in found:
        return known
    for resource_name, group_name in found.items():
        if group_name == name:
            return resource_name
    created = _retrying(lambda: groups.create(body={"contactGroup": {"name": name}})
                        .execute(), backoff)
    return created["resourceName"]


def batch_create(service, bodies, read_mask, pacer=None, backoff=None):
    """Create people (200 a call); returns the created persons in order."""
    backoff = backoff or Backoff()
    out = []
    for start in range(0, len(bodies), MAX_CREATE):
        chunk = bodies[start:start + MAX_CREATE]
        if pacer is not None:
            pacer.acquire(len(chunk))
        response = _retrying(lambda: service.people().batchCreateContacts(body={
            "contacts": [{"contactPerson": body} for body in chunk],
            "readMask": read_mask}).execute(), backoff)
        out.extend(item.get("person") for item in response.get("createdPeople", []))
    return out


def batch_update(service, persons, update_mask, read_mask, pacer=None, backoff=None):
    """Update people ({resource name: person with its etag}, 200 a call, one field mask);
    returns {resource name: updated person}. A stale etag anywhere fails the call:
    :class:`StaleEtag` names the chunk, nothing of it was written."""
    backoff = backoff or Backoff()
    out = {}
    names = list(persons)
    for start in range(0, len(names), MAX_UPDATE):
        chunk = {name: persons[name] for name in names[start:start + MAX_UPDATE]}
        if pacer is not None:
            pacer.acquire(len(chunk))
        try:
            response = _retrying(lambda: service.people().batchUpdateContacts(body={
                "contacts": chunk, "updateMask": update_mask, "readMask": read_mask})
                .execute(), backoff)
        except PermanentError as exc:
            if exc.status in (400, 412) and (_mentions(exc, "etag") or exc.status == 412
                                             or _mentions(exc, "FAILED_PRECONDITION")):
                error = StaleEtag("A contact changed in Google meanwhile.", status=exc.status,
                                  reason="staleEtag")
                error.resource_names = list(chunk)
                raise error from exc
            raise
        for name, result in (response.get("updateResult") or {}).items():
            if result.get("person"):
                out[name] = result["person"]
    return out


def batch_delete(service, resource_names, pacer=None, backoff=None):
    """Delete people (500 a call). Google fails the whole call (404) when one of them is
    gone already: then the ones still there are read (getBatchGet) and deleted, and the
    missing ones count as deleted."""
    backoff = backoff or Backoff()
    names = list(resource_names)
    for start in range(0, len(names), MAX_DELETE):
        chunk = names[start:start + MAX_DELETE]
        if pacer is not None:
            pacer.acquire(len(chunk))
        try:
            _retrying(lambda: service.people().batchDeleteContacts(
                body={"resourceNames": chunk}).execute(), backoff)
        except PermanentError as exc:
            if exc.status != 404:
                raise
            there = [p["resourceName"] for p in get_people(service, chunk, "metadata",
                                                           backoff)]
            if there:
                _retrying(lambda: service.people().batchDeleteContacts(
                    body={"resourceNames": there}).execute(), backoff)


def modify_members(service, group, add=(), remove=(), pacer=None, backoff=None):
    """Put people in a contact group and take others out; returns the names Google did not
    find."""
    backoff = backoff or Backoff()
    add, remove, missing = list(add), list(remove), []
    while add or remove:
        chunk_add, add = add[:MAX_MEMBERS], add[MAX_MEMBERS:]
        chunk_remove, remove = remove[:MAX_MEMBERS], remove[MAX_MEMBERS:]
        if pacer is not None:
            pacer.acquire(1)
        body = {}
        if chunk_add:
            body["resourceNamesToAdd"] = chunk_add
        if chunk_remove:
            body["resourceNamesToRemove"] = chunk_remove
        response = _retrying(lambda: service.contactGroups().members().modify(
            resourceName=group, body=body).execute(), backoff)
        missing += response.get("notFoundResourceNames", [])
    return missing
