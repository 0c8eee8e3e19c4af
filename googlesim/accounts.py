"""Sandbox accounts: any email becomes one on first sign-in, with a primary calendar
(id = the email) and an empty contacts book."""
import hashlib
import re

from .store import now_rfc3339

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_email(email):
    return bool(email) and bool(EMAIL_RE.match(email))


def ensure_account(store, email, name=None, time_zone="UTC"):
    """Return the account for ``email``, creating it (and its primary calendar) if new.
    Must be called inside ``store.tx()``."""
    email = email.strip().lower()
    acct = store.accounts.get(email)
    if acct is not None:
        if name and acct.get("name") != name:
            acct["name"] = name
            store.dirty("account", email)
        return acct
    # A stable numeric subject, like Google's 21-digit "sub".
    sub = str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:21]
    acct = {"email": email, "name": name or email.split("@")[0].replace(".", " ").title(),
            "sub": sub, "created": now_rfc3339()}
    store.accounts[email] = acct
    store.dirty("account", email)
    store.calendars[email] = {"id": email, "owner": email, "summary": email,
                              "description": "", "timeZone": time_zone, "primary": True,
                              "etag": store.new_etag(), "seq": 0, "gen": 0}
    store.dirty("calendar", email)
    store.events[email] = {}
    store.books[email] = {"seq": 0, "gen": 0, "next_id": 1, "groups": {},
                          "groups_etag": store.new_etag()}
    store.dirty("book", email)
    store.contacts[email] = {}
    return acct
