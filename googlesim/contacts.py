"""People v1 domain logic: contacts and contact groups on the store, no Flask routing."""
import copy
import json
import secrets

from .errors import ApiError
from .store import now_rfc3339

PERSON_FIELDS = (
    "addresses", "ageRanges", "biographies", "birthdays", "calendarUrls", "clientData",
    "coverPhotos", "emailAddresses", "events", "externalIds", "genders", "imClients",
    "interests", "locales", "locations", "memberships", "metadata", "miscKeywords", "names",
    "nicknames", "occupations", "organizations", "phoneNumbers", "photos", "relations",
    "sipAddresses", "skills", "urls", "userDefined")
# Fields a contact can be written with (the rest are read-only or derived).
WRITABLE = tuple(f for f in PERSON_FIELDS if f not in (
    "ageRanges", "coverPhotos", "metadata", "photos"))
SYSTEM_GROUPS = {"myContacts": "My Contacts", "starred": "Starred"}
# Sub-fields of person field entries that are strings in the People API's protos.
_STRING_SUBFIELDS = {
    "value", "type", "formattedType", "displayName", "displayNameLastFirst",
    "unstructuredName", "familyName", "givenName", "middleName", "honorificPrefix",
    "honorificSuffix", "phoneticFullName", "phoneticFamilyName", "phoneticGivenName",
    "phoneticMiddleName", "phoneticHonorificPrefix", "phoneticHonorificSuffix",
    "formattedValue", "poBox", "streetAddress", "extendedAddress", "city", "region",
    "postalCode", "country", "countryCode", "name", "phoneticName", "department", "title",
    "jobDescription", "symbol", "domain", "location", "costCenter", "contentType", "text",
    "key", "person", "username", "protocol", "formattedProtocol", "url", "label"}


def invalid(message):
    return ApiError(400, "badRequest", message, status="INVALID_ARGUMENT")


def people_not_found():
    return ApiError(404, "notFound", "Requested entity was not found.", status="NOT_FOUND")


def new_etag():
    return "%" + secrets.token_urlsafe(18)


def parse_mask(raw, name, allowed):
    if not raw:
        raise invalid(f"{name} mask is required. Please specify one or more valid paths. "
                      "Valid paths are documented at https://developers.google.com/people/"
                      "api/rest/v1/people.")
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for f in fields:
        f = f.split(".", 1)[0]
        if f.startswith("person."):
            f = f[len("person."):]
        if f not in allowed:
            raise invalid(f'Invalid {name} mask path: "{f}". Valid paths are documented at '
                          "https://developers.google.com/people/api/rest/v1/people.")
    return [f.split(".", 1)[0] for f in fields]


def validate_person(body):
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received.")
    for key, value in body.items():
        if key in ("resourceName", "etag", "metadata"):
            continue
        if key not in PERSON_FIELDS:
            raise invalid(f'Invalid JSON payload received. Unknown name "{key}" at '
                          "'person': Cannot find field.")
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid(f"Invalid value at 'person.{key}', expected a list of objects.")
        for i, entry in enumerate(value):
            for sub, item in entry.items():
                if sub in _STRING_SUBFIELDS and not isinstance(item, str):
                    raise invalid(f"Invalid value at 'person.{key}[{i}].{sub}' (TYPE_STRING), "
                                  f"{json.dumps(item)}")
                if sub == "metadata" and not isinstance(item, dict):
                    raise invalid(f"Invalid value at 'person.{key}[{i}].metadata'.")
            if key == "memberships":
                _check_membership(entry, i)
    if "etag" in body and body["etag"] is not None and not isinstance(body["etag"], str):
        raise invalid("Invalid value at 'person.etag' (TYPE_STRING), "
                      f"{json.dumps(body['etag'])}")
    meta = body.get("metadata")
    if meta is not None:
        sources = meta.get("sources") if isinstance(meta, dict) else None
        if not isinstance(meta, dict) or sources is not None and (
                not isinstance(sources, list) or
                not all(isinstance(s, dict) and isinstance(s.get("etag", ""), str)
                        for s in sources)):
            raise invalid("Invalid value at 'person.metadata'.")


def _check_membership(entry, i):
    """A membership names its group by contactGroupId or contactGroupResourceName; fill in
    the other one so the rest of the code can rely on contactGroupId."""
    m = entry.get("contactGroupMembership")
    if m is None and "domainMembership" in entry:
        return
    where = f"'person.memberships[{i}].contactGroupMembership'"
    if not isinstance(m, dict):
        raise invalid(f"Invalid value at {where}.")
    gid, name = m.get("contactGroupId"), m.get("contactGroupResourceName")
    if name is not None:
        if not isinstance(name, str) or not name.startswith("contactGroups/"):
            raise invalid(f"Invalid value at {where}.contactGroupResourceName.")
        if gid is None:
            m["contactGroupId"] = gid = name.split("/", 1)[1]
    if not isinstance(gid, str) or not gid:
        raise invalid(f"Invalid value at {where}: a contact group is required.")
    m.setdefault("contactGroupResourceName", "contactGroups/" + gid)


def _derive(cid, person):
    """Google fills in display names and per-entry source metadata."""
    for field in WRITABLE:
        for i, entry in enumerate(person.get(field) or []):
            if field == "memberships":
                continue
            entry.setdefault("metadata", {"primary": i == 0,
                                          "source": {"type": "CONTACT", "id": cid}})
    for name in person.get("names") or []:
        given, family = name.get("givenName", ""), name.get("familyName", "")
        display = " ".join(p for p in (name.get("givenName"), name.get("middleName"),
                                       family) if p)
        if display:
            name.setdefault("displayName", display)
            name.setdefault("displayNameLastFirst",
                            ", ".join(p for p in (family, given) if p) or display)
            name.setdefault("unstructuredName", display)


def membership(gid):
    return {"metadata": {"source": {"type": "CONTACT"}},
            "contactGroupMembership": {"contactGroupId": gid,
                                       "contactGroupResourceName": "contactGroups/" + gid}}


def group_ids(person):
    return [m["contactGroupMembership"]["contactGroupId"]
            for m in person.get("memberships") or []
            if isinstance(m.get("contactGroupMembership"), dict) and
            "contactGroupId" in m["contactGroupMembership"]]


class Contacts:
    def __init__(self, st):
        self.st = st

    def book(self, email):
        return self.st.books[email]

    def _save(self, email, cid, rec):
        st = self.st
        book = st.books[email]
        book["seq"] += 1
        rec["seq"] = book["seq"]
        rec["etag"] = new_etag()
        rec["updated"] = now_rfc3339()
        st.contacts.setdefault(email, {})[cid] = rec
        st.log("people:" + email).append(rec["seq"], cid)
        st.dirty("contact", f"{email}\n{cid}")
        st.dirty("book", email)

    def record(self, email, resource_name):
        cid = resource_name.split("/", 1)[1] if resource_name.startswith("people/") \
            else resource_name
        rec = self.st.contacts.get(email, {}).get(cid)
        if rec is None or rec["deleted"]:
            raise people_not_found()
        return cid, rec

    def render(self, cid, rec, fields=None):
        out = {"resourceName": "people/" + cid, "etag": rec["etag"]}
        if rec["deleted"]:
            out["metadata"] = {"deleted": True, "sources": [self._source(cid, rec)],
                               "objectType": "PERSON"}
            return out
        for key in PERSON_FIELDS:
            if key == "metadata":
                if fields is None or "metadata" in fields:
                    out["metadata"] = {"sources": [self._source(cid, rec)],
                                       "objectType": "PERSON"}
                continue
            if (fields is None or key in fields) and rec["res"].get(key):
                out[key] = copy.deepcopy(rec["res"][key])
        return out

    @staticmethod
    def _source(cid, rec):
        return {"type": "CONTACT", "id": cid, "etag": rec["etag"],
                "updateTime": rec["updated"]}

    def _check_create(self, email, body):
        validate_person(body)
        for gid in group_ids(body):
            self._group(email, gid)

    def create(self, email, body):
        self._check_create(email, body)
        book = self.st.books[email]
        person = {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE}
        book["next_id"] = book.get("next_id", 1) + 1
        cid = "c" + str(secrets.randbelow(9 * 10 ** 18) + 10 ** 18)
        groups = group_ids(person)
        if "myContacts" not in groups:
            person.setdefault("memberships", []).append(membership("myContacts"))
        _derive(cid, person)
        rec = {"n": book["next_id"], "deleted": False, "res": person}
        self._save(email, cid, rec)
        return cid, rec

    def _check_update(self, email, resource_name, body, mask):
        """Everything updateContact refuses, before anything is written."""
        validate_person(body)
        cid, rec = self.record(email, resource_name)
        etag = body.get("etag")
        if not etag:  # Google also takes the etag of the CONTACT source
            sources = (body.get("metadata") or {}).get("sources") or [{}]
            etag = sources[0].get("etag") if isinstance(sources[0], dict) else None
        if not etag:
            raise invalid("Request must set person.etag or person.metadata.sources.etag for "
                          "the source that is being updated.")
        if etag != rec["etag"]:
            raise ApiError(400, "failedPrecondition", "Request person.etag is different than "
                           "the current person.etag. Clear local cache and get the latest "
                           "person.", status="FAILED_PRECONDITION")
        for field in mask:
            if field not in WRITABLE:
                raise invalid(f'Invalid updatePersonFields mask path: "{field}".')
            if field == "memberships":
                for gid in group_ids(body):
                    self._group(email, gid)
        return cid, rec

    def update(self, email, resource_name, body, mask):
        cid, rec = self._check_update(email, resource_name, body, mask)
        for field in mask:
            if body.get(field):
                rec["res"][field] = copy.deepcopy(body[field])
            else:
                rec["res"].pop(field, None)
        _derive(cid, rec["res"])
        self._save(email, cid, rec)
        return cid, rec

    def owner_patch(self, email, resource_name, body):
        """A change made in Google Contacts by the owner: fields given replace, no etag."""
        validate_person(body)
        cid, rec = self.record(email, resource_name)
        for field, value in body.items():
            if field in WRITABLE:
                rec["res"][field] = copy.deepcopy(value)
        _derive(cid, rec["res"])
        self._save(email, cid, rec)
        return cid, rec

    def delete(self, email, resource_name):
        cid, rec = self.record(email, resource_name)
        rec["deleted"] = True
        self._save(email, cid, rec)

    # -- batch methods: all checked before anything is written, so a refusal changes nothing
    def batch_create(self, email, bodies):
        for body in bodies:
            self._check_create(email, body)
        return [self.create(email, body) for body in bodies]

    def batch_update(self, email, changes, mask):
        """``changes``: {resource name: person with its etag}; [(name, cid, rec)]."""
        for name, body in changes.items():
            self._check_update(email, name, body, mask)
        return [(name, *self.update(email, name, body, mask))
                for name, body in changes.items()]

    def batch_delete(self, email, names):
        for name in names:
            self.record(email, name)
        for name in dict.fromkeys(names):
            self.delete(email, name)

    # -- groups --------------------------------------------------------------------------------
    def _group(self, email, gid):
        if gid in SYSTEM_GROUPS:
            return {"id": gid, "name": SYSTEM_GROUPS[gid], "system": True}
        group = self.st.books[email]["groups"].get(gid)
        if group is None:
            raise ApiError(404, "notFound", "Requested entity was not found.",
                           status="NOT_FOUND")
        return group

    def members(self, email, gid):
        return ["people/" + cid for cid, rec in self.st.contacts.get(email, {}).items()
                if not rec["deleted"] and gid in group_ids(rec["res"])]

    def render_group(self, email, gid, max_members=0):
        group = self._group(email, gid)
        members = self.members(email, gid)
        out = {"resourceName": "contactGroups/" + gid,
               "etag": group.get("etag", self.st.books[email]["groups_etag"]),
               "metadata": {"updateTime": group.get("updated", now_rfc3339())},
               "groupType": "SYSTEM_CONTACT_GROUP" if group.get("system")
               else "USER_CONTACT_GROUP",
               "name": group["name"], "formattedName": group["name"]}
        if members:
            out["memberCount"] = len(members)
        if max_members:
            out["memberResourceNames"] = members[:max_members]
        return out

    def list_groups(self, email):
        ids = list(SYSTEM_GROUPS) + list(self.st.books[email]["groups"])
        return [self.render_group(email, gid) for gid in ids]

    def create_group(self, email, name):
        if not isinstance(name, str) or not name.strip():
            raise invalid("contactGroup.name must not be empty.")
        book = self.st.books[email]
        if any(g["name"] == name for g in book["groups"].values()) or \
                name in SYSTEM_GROUPS.values():
            raise ApiError(409, "alreadyExists", "Cannot create contact group, name already "
                           "exists.", status="ALREADY_EXISTS")
        gid = secrets.token_hex(6)
        book["groups"][gid] = {"id": gid, "name": name, "etag": new_etag(),
                               "updated": now_rfc3339()}
        self.st.dirty("book", email)
        return gid

    def rename_group(self, email, gid, name, etag=None):
        group = self._group(email, gid)
        if group.get("system"):
            raise invalid("Cannot modify a system contact group.")
        if etag and etag != group["etag"]:
            raise ApiError(400, "failedPrecondition", "Request contactGroup.etag is "
                           "different than the current etag.", status="FAILED_PRECONDITION")
        if not isinstance(name, str) or not name.strip():
            raise invalid("contactGroup.name must not be empty.")
        group.update(name=name, etag=new_etag(), updated=now_rfc3339())
        self.st.dirty("book", email)

    def delete_group(self, email, gid, delete_contacts=False):
        group = self._group(email, gid)
        if group.get("system"):
            raise invalid("Cannot delete a system contact group.")
        for cid, rec in list(self.st.contacts.get(email, {}).items()):
            if rec["deleted"] or gid not in group_ids(rec["res"]):
                continue
            if delete_contacts:
                rec["deleted"] = True
            else:
                rec["res"]["memberships"] = [m for m in rec["res"]["memberships"]
                                             if group_ids({"memberships": [m]}) != [gid]]
            self._save(email, cid, rec)
        del self.st.books[email]["groups"][gid]
        self.st.dirty("book", email)

    def modify_members(self, email, gid, add, remove):
        """(not found names, names that can't leave their last group)."""
        self._group(email, gid)
        not_found, last_group = [], []
        for names, adding in ((add, True), (remove, False)):
            for name in names:
                try:
                    cid, rec = self.record(email, name)
                except ApiError:
                    not_found.append(name)
                    continue
                ids = group_ids(rec["res"])
                if adding and gid not in ids:
                    rec["res"].setdefault("memberships", []).append(membership(gid))
                elif not adding and gid in ids:
                    if ids == [gid]:  # a contact stays in at least one group
                        last_group.append(name)
                        continue
                    rec["res"]["memberships"] = [m for m in rec["res"]["memberships"]
                                                 if group_ids({"memberships": [m]}) != [gid]]
                else:
                    continue
                self._save(email, cid, rec)
        return not_found, last_group
