"""People v1 routes (people.googleapis.com/v1/...)."""
from flask import Blueprint, current_app, g, request

from .api import PEOPLE_READ, PEOPLE_WRITE, bool_arg, caller, int_arg, json_body, \
    json_response, store
from .contacts import PERSON_FIELDS, invalid, parse_mask
from .errors import ApiError
from .store import decode_token, encode_token

bp = Blueprint("people", __name__, url_prefix="/v1")


def ops():
    return current_app.config["CONTACTS"]


def _person_fields(required=True):
    raw = request.args.get("personFields") or request.args.get("requestMask.includeField")
    if not raw and not required:
        return None
    return parse_mask(raw, "personFields", PERSON_FIELDS)


def _sync_token(st, email):
    book = st.books[email]
    return "EgIIA" + encode_token({"p": email, "e": st.epoch, "g": book.get("gen", 0),
                                   "s": book["seq"]})


def _read_sync_token(st, email, token):
    data = decode_token(token[5:]) if token.startswith("EgIIA") else None
    book = st.books[email]
    if not data or data.get("p") != email or data.get("e") != st.epoch or \
            data.get("g") != book.get("gen", 0) or not isinstance(data.get("s"), int):
        # Check error.details[].reason, not the status: that's what clients are told to do.
        raise ApiError(400, "failedPrecondition", "Sync token is expired. Clear local cache "
                       "and retry call without the sync token.", status="FAILED_PRECONDITION",
                       details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": "EXPIRED_SYNC_TOKEN",
                                 "domain": "people.googleapis.com"}])
    return data["s"]


@bp.get("/people/me/connections")
def connections_list():
    email = caller(PEOPLE_READ)
    fields = _person_fields()
    page_size = int_arg("pageSize", 100, 0, 1000)
    page_size = page_size or 100
    want_sync = bool_arg("requestSyncToken", False)
    sync = request.args.get("syncToken")
    order = request.args.get("sortOrder") or "LAST_MODIFIED_ASCENDING"
    if order not in ("LAST_MODIFIED_ASCENDING", "LAST_MODIFIED_DESCENDING",
                     "FIRST_NAME_ASCENDING", "LAST_NAME_ASCENDING"):
        raise invalid(f"Invalid value at 'sort_order': \"{order}\"")
    st = store()
    c = ops()
    with st.lock:
        contacts = st.contacts.get(email, {})
        since = _read_sync_token(st, email, sync) if sync else None
        snapshot = st.books[email]["seq"]
        if since is not None:
            ids = st.log("people:" + email).since(since)
            keyed = [([contacts[i]["seq"]], i) for i in ids if i in contacts]
        else:
            live = [(cid, r) for cid, r in contacts.items() if not r["deleted"]]

            def name_key(r, part):
                names = r["res"].get("names") or [{}]
                return (names[0].get(part) or "").lower()

            if order == "FIRST_NAME_ASCENDING":
                keyed = [([name_key(r, "givenName"), r["n"]], cid) for cid, r in live]
            elif order == "LAST_NAME_ASCENDING":
                keyed = [([name_key(r, "familyName"), r["n"]], cid) for cid, r in live]
            else:
                keyed = [([r["seq"]], cid) for cid, r in live]
            keyed.sort(reverse=order == "LAST_MODIFIED_DESCENDING")
        total = len(keyed)
        start = 0
        token = request.args.get("pageToken")
        if token:
            data = decode_token(token)
            if not data or data.get("p") != email or data.get("q") != _query_key() or \
                    not _nat(data.get("o")) or not _nat(data.get("s")):
                raise invalid("Invalid pageToken.")
            start, snapshot = data["o"], data["s"]
        page = keyed[start:start + page_size]
        out = {}
        if page:
            out["connections"] = [c.render(cid, contacts[cid], fields) for _, cid in page]
        if start + page_size < total:
            out["nextPageToken"] = encode_token({"p": email, "q": _query_key(),
                                                 "o": start + page_size, "s": snapshot})
        elif want_sync or sync:
            book = dict(st.books[email], seq=snapshot)
            out["nextSyncToken"] = "EgIIA" + encode_token(
                {"p": email, "e": st.epoch, "g": book.get("gen", 0), "s": snapshot})
        out["totalPeople"] = total
        out["totalItems"] = total
        return json_response(out)


def _nat(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _query_key():
    return "&".join(f"{k}={v}" for k, v in sorted(request.args.items(multi=True))
                    if k not in ("pageToken", "alt", "prettyPrint"))


@bp.post("/people:createContact")
def create_contact():
    email = caller(PEOPLE_WRITE)
    fields = _person_fields(required=False)
    body = json_body()
    st = store()
    with st.tx():
        cid, rec = ops().create(email, body)
        return json_response(ops().render(cid, rec, fields))


# -- batch methods ------------------------------------------------------------------------
MAX_BATCH_CREATE = MAX_BATCH_UPDATE = 200
MAX_BATCH_DELETE = 500


def _read_mask(body):
    """The fields to answer with; None when the readMask is empty (nothing answered)."""
    raw = body.get("readMask")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise invalid("Invalid value at 'read_mask' (type.googleapis.com/google.protobuf."
                      "FieldMask).")
    return parse_mask(raw, "readMask", PERSON_FIELDS)


def _person_response(name, cid, rec, fields):
    return {"requestedResourceName": name, "httpStatusCode": 200,
            "person": ops().render(cid, rec, fields), "status": {}}


@bp.post("/people:batchCreateContacts")
def batch_create_contacts():
    email = caller(PEOPLE_WRITE)
    body = json_body()
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise invalid("contacts are required.")
    if len(contacts) > MAX_BATCH_CREATE:
        raise invalid(f"Too many contacts in the request: at most {MAX_BATCH_CREATE} are "
                      "allowed.")
    if not all(isinstance(c, dict) and isinstance(c.get("contactPerson"), dict)
               for c in contacts):
        raise invalid("Invalid value at 'contacts': each needs a contactPerson object.")
    fields = _read_mask(body)
    st = store()
    with st.tx():
        made = ops().batch_create(email, [c["contactPerson"] for c in contacts])
        if fields is None:
            return json_response({})
        return json_response({"createdPeople": [
            _person_response("people/" + cid, cid, rec, fields) for cid, rec in made]})


@bp.post("/people:batchUpdateContacts")
def batch_update_contacts():
    email = caller(PEOPLE_WRITE)
    body = json_body()
    contacts = body.get("contacts")
    if not isinstance(contacts, dict) or not contacts:
        raise invalid("contacts are required.")
    if len(contacts) > MAX_BATCH_UPDATE:
        raise invalid(f"Too many contacts in the request: at most {MAX_BATCH_UPDATE} are "
                      "allowed.")
    if not all(isinstance(k, str) and k.startswith("people/") for k in contacts):
        raise invalid("Invalid resource name in 'contacts'.")
    raw = body.get("updateMask")
    if not raw or not isinstance(raw, str):
        raise invalid("updateMask is required. Please specify one or more valid paths.")
    mask = parse_mask(raw, "updateMask", PERSON_FIELDS)
    fields = _read_mask(body)
    st = store()
    with st.tx():
        done = ops().batch_update(email, contacts, mask)
        if fields is None:
            return json_response({})
        return json_response({"updateResult": {
            name: _person_response(name, cid, rec, fields) for name, cid, rec in done}})


@bp.post("/people:batchDeleteContacts")
def batch_delete_contacts():
    email = caller(PEOPLE_WRITE)
    body = json_body()
    names = body.get("resourceNames")
    if not isinstance(names, list) or not names or \
            not all(isinstance(n, str) and n.startswith("people/") for n in names):
        raise invalid("resourceNames are required (people/... resource names).")
    if len(names) > MAX_BATCH_DELETE:
        raise invalid(f"Too many resource names in the request: at most {MAX_BATCH_DELETE} "
                      "are allowed.")
    st = store()
    with st.tx():
        ops().batch_delete(email, names)
    return json_response({})


@bp.get("/people:batchGet")
def people_batch_get():
    """people.getBatchGet: up to 200 ``resourceNames``, each answered with its own status
    (a missing person is a 404 entry, not a failure of the call)."""
    email = caller(PEOPLE_READ)
    fields = _person_fields()
    names = request.args.getlist("resourceNames")
    if not names:
        raise invalid("resourceNames are required.")
    if len(names) > 200:
        raise invalid("Too many resource names: at most 200 are allowed.")
    st = store()
    responses = []
    with st.lock:
        for name in names:
            try:
                cid, rec = ops().record(email, name)
            except ApiError:
                responses.append({"requestedResourceName": name, "httpStatusCode": 404,
                                  "status": {"code": 5, "message": "Not Found"}})
                continue
            responses.append({"requestedResourceName": name, "httpStatusCode": 200,
                              "person": ops().render(cid, rec, fields), "status": {}})
    return json_response({"responses": responses})


@bp.route("/people/<path:person>", methods=["GET", "PATCH", "DELETE"])
def person_resource(person):
    """people.get, people.updateContact and people.deleteContact share the path pattern
    v1/{+resourceName}[:verb]."""
    pid, _, verb = person.partition(":")
    if request.method == "GET" and not verb:
        return get_person(pid)
    if request.method == "PATCH" and verb == "updateContact":
        g.stats_key = "PATCH /v1/people/{personId}:updateContact"
        return update_contact(pid)
    if request.method == "DELETE" and verb == "deleteContact":
        g.stats_key = "DELETE /v1/people/{personId}:deleteContact"
        return delete_contact(pid)
    raise ApiError(404, "notFound", "Requested entity was not found.", status="NOT_FOUND")


def get_person(pid):
    g.stats_key = "GET /v1/people/{personId}"
    email = caller(PEOPLE_READ)
    fields = _person_fields()
    st = store()
    with st.lock:
        if pid == "me":
            acct = st.accounts[email]
            out = {"resourceName": "people/" + acct["sub"], "etag": "%me"}
            if "names" in fields:
                out["names"] = [{"displayName": acct["name"]}]
            if "emailAddresses" in fields:
                out["emailAddresses"] = [{"value": acct["email"],
                                          "metadata": {"primary": True, "verified": True}}]
            return json_response(out)
        cid, rec = ops().record(email, "people/" + pid)
        return json_response(ops().render(cid, rec, fields))


def update_contact(pid):
    email = caller(PEOPLE_WRITE)
    raw = request.args.get("updatePersonFields")
    if not raw:
        raise invalid("updatePersonFields mask is required. Please specify one or more valid "
                      "paths. Valid paths are documented at https://developers.google.com/"
                      "people/api/rest/v1/people/updateContact.")
    mask = parse_mask(raw, "updatePersonFields", PERSON_FIELDS)
    fields = _person_fields(required=False)
    body = json_body()
    st = store()
    with st.tx():
        cid, rec = ops().update(email, "people/" + pid, body, mask)
        return json_response(ops().render(cid, rec, fields))


def delete_contact(pid):
    email = caller(PEOPLE_WRITE)
    st = store()
    with st.tx():
        ops().delete(email, "people/" + pid)
    return json_response({})


# -- contact groups ---------------------------------------------------------------------------
@bp.get("/contactGroups")
def groups_list():
    email = caller(PEOPLE_READ)
    page_size = int_arg("pageSize", 30, 1, 1000)
    st = store()
    with st.lock:
        groups = ops().list_groups(email)
    start = 0
    token = request.args.get("pageToken")
    if token:
        data = decode_token(token)
        if not data or data.get("g") != email or not _nat(data.get("o")):
            raise invalid("Invalid pageToken.")
        start = data["o"]
    out = {"contactGroups": groups[start:start + page_size], "totalItems": len(groups)}
    if start + page_size < len(groups):
        out["nextPageToken"] = encode_token({"g": email, "o": start + page_size})
    return json_response(out)


@bp.post("/contactGroups")
def groups_create():
    email = caller(PEOPLE_WRITE)
    body = json_body()
    group = body.get("contactGroup")
    if not isinstance(group, dict):
        raise invalid("contactGroup is required.")
    st = store()
    with st.tx():
        gid = ops().create_group(email, group.get("name"))
        return json_response(ops().render_group(email, gid))


@bp.get("/contactGroups/<gid>")
def groups_get(gid):
    email = caller(PEOPLE_READ)
    max_members = int_arg("maxMembers", 0, 0, 100000)
    st = store()
    with st.lock:
        return json_response(ops().render_group(email, gid, max_members))


@bp.put("/contactGroups/<gid>")
def groups_update(gid):
    email = caller(PEOPLE_WRITE)
    body = json_body()
    group = body.get("contactGroup")
    if not isinstance(group, dict):
        raise invalid("contactGroup is required.")
    st = store()
    with st.tx():
        ops().rename_group(email, gid, group.get("name"), group.get("etag"))
        return json_response(ops().render_group(email, gid))


@bp.delete("/contactGroups/<gid>")
def groups_delete(gid):
    email = caller(PEOPLE_WRITE)
    delete_contacts = bool_arg("deleteContacts", False)
    st = store()
    with st.tx():
        ops().delete_group(email, gid, delete_contacts)
    return json_response({})


@bp.post("/contactGroups/<gid>/members:modify")
def groups_modify(gid):
    email = caller(PEOPLE_WRITE)
    body = json_body()
    add = body.get("resourceNamesToAdd") or []
    remove = body.get("resourceNamesToRemove") or []
    if not isinstance(add, list) or not isinstance(remove, list) or \
            not all(isinstance(x, str) for x in add + remove):
        raise invalid("resourceNamesToAdd and resourceNamesToRemove must be lists of strings.")
    st = store()
    with st.tx():
        missing, last_group = ops().modify_members(email, gid, add, remove)
    out = {}
    if missing:
        out["notFoundResourceNames"] = missing
    if last_group:
        out["canNotRemoveLastContactGroupResourceNames"] = last_group
    return json_response(out)
