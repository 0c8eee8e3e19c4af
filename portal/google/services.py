"""Google connection services: admin credentials, each user's connection, calendar mappings
and sync settings. Routes call these; they flush, the caller commits.

For the sync layer:

- :func:`connection_usable` - may this user's sync run at all?
- :func:`client_for` - a ready :class:`portal.google.client.GoogleClient` for a user
  (``client.calendar`` is the Calendar v3 Resource); refreshed tokens are written back to the
  connection row (commit them with the run).
- :func:`mark_needs_reauth` - call it when a :class:`ReauthorizationNeeded` escapes; it stops
  that user's sync and shows them the reconnect banner.
- :func:`synced_mappings`, :func:`record_sync_success`, :func:`forget_links` (extend it with
  :func:`register_forget_links_hook`).
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import current_app, url_for
from sqlalchemy import select

from portal.core import crypto
from portal.core.types import utcnow
from portal.extensions import db
from portal.google import client as gclient
from portal.google.client import CALENDAR_SCOPE, ReauthorizationNeeded, TransientError
from portal.google.models import (LINKS_FORGET, LINKS_KEEP, RETIRED_ACTIONS,
                                  STATUS_CONNECTED, STATUS_DISCONNECTED, STATUS_NEEDS_REAUTH,
                                  CalendarMapping, GoogleConnection, GoogleCredentials,
                                  GoogleSyncSettings)
from portal.google.oauth import current_endpoints

log = logging.getLogger(__name__)

#: the largest id an integer primary key can hold (PostgreSQL ``integer``)
MAX_ROW_ID = 2**31 - 1

#: why a connection whose tokens cannot be decrypted needs a reconnect (shown to the user)
TOKENS_UNREADABLE = "The stored Google tokens cannot be read any more; please reconnect."

#: the calendar drop-down value meaning "create a new calendar named ..."
NEW_CALENDAR = "__new__"


class GoogleSetupError(Exception):
    """A user-facing problem; ``field`` names the form field it belongs to (or None)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class NotConnected(Exception):
    """The user has no usable Google connection (never connected, disconnected, or waiting
    for a reconnect)."""


class TokensUnreadable(NotConnected):
    """The user's stored tokens cannot be decrypted (the encryption key changed): the
    connection was marked as needing a reconnect. A caller that rolls back must mark it
    again (:func:`mark_needs_reauth` with this message), or the banner never shows."""


# -- admin credentials -------------------------------------------------------------------------
def get_credentials():
    """The admin-entered OAuth client, or None until an admin saved it."""
    return db.session.scalars(select(GoogleCredentials).order_by(GoogleCredentials.id)
                              .limit(1)).first()


def is_configured():
    return get_credentials() is not None


def callback_path():
    return url_for("google.callback")


def default_redirect_url():
    """This portal's OAuth callback URL: ``PUBLIC_BASE_URL`` + path when set (behind a proxy
    the request host may be wrong), else the URL of the current request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + callback_path()
    return url_for("google.callback", _external=True)


def redirect_url_problem(url):
    """Why ``url`` cannot be the redirect URI, or None when it can."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "Enter an absolute http:// or https:// URL."
    if parts.query or parts.fragment:
        return "The redirect URL must not have a query string or fragment."
    if not parts.path.endswith(callback_path()):
        return f"The redirect URL must end in this portal's callback path {callback_path()}."
    return None


def save_credentials(*, client_id, client_secret, redirect_url, api_key=None,
                     remove_api_key=False, user=None):
    """Check and store the admin's OAuth client.

    An empty ``client_secret``/``api_key`` keeps the stored one; ``remove_api_key`` deletes
    the stored API key (a new ``api_key`` given at the same time wins). The id/secret pair is tried
    against Google's token endpoint first; nothing is stored when Google rejects it
    (``GoogleSetupError`` on ``client_secret``) or cannot be reached (field None)."""
    creds = get_credentials()
    client_id = (client_id or "").strip()
    redirect_url = (redirect_url or "").strip()
    problem = redirect_url_problem(redirect_url)
    if problem:
        raise GoogleSetupError(problem, "redirect_url")
    secret = (client_secret or "").strip()
    if not secret:
        if creds is None:
            raise GoogleSetupError("Enter the client secret.", "client_secret")
        try:
            secret = crypto.decrypt(creds.client_secret_encrypted)
        except crypto.SecretUnreadable:
            raise GoogleSetupError("The stored secret cannot be read any more (the encryption "
                                   "key changed); enter it again.", "client_secret") from None
    try:
        verdict = gclient.check_client_credentials(current_endpoints(), client_id, secret)
    except TransientError as exc:
        raise GoogleSetupError(f"Could not check the credentials with Google: {exc} "
                               "Nothing was saved; try again.") from exc
    if verdict != gclient.CLIENT_VALID:
        raise GoogleSetupError("Google rejected this client ID and secret (invalid_client). "
                               "Copy both again from the Google Cloud console.", "client_secret")
    if creds is None:
        creds = GoogleCredentials()
        db.session.add(creds)
    creds.client_id = client_id
    creds.client_secret_encrypted = crypto.encrypt(secret)
    if (api_key or "").strip():
        creds.api_key_encrypted = crypto.encrypt(api_key.strip())
    elif remove_api_key:
        creds.api_key_encrypted = None
    creds.redirect_url = redirect_url
    creds.checked_at = utcnow()
    creds.updated_by_id = getattr(user, "id", None)
    db.session.flush()
    return creds


#: secrets shorter than this are shown as dots only: their last characters would give away
#: too large a share of them
MASK_MIN_LENGTH = 12


def masked(encrypted):
    """A stored secret as a page may show it: the last characters of a long one, only dots
    for a short one (never the whole secret)."""
    if not encrypted:
        return ""
    try:
        secret = crypto.decrypt(encrypted)
    except crypto.SecretUnreadable:
        return "(unreadable: enter it again)"
    if len(secret) < MASK_MIN_LENGTH:
        return "\u2022" * 8
    return crypto.mask(secret)


# -- connections -------------------------------------------------------------------------------
def get_connection(user):
    return db.session.scalars(select(GoogleConnection)
                              .where(GoogleConnection.user_id == user.id)).first()


def google_account_of(user):
    """The Google account ``user`` is connected to (lower-case), or None."""
    conn = get_connection(user)
    return conn.google_email.lower() if conn is not None and conn.google_email else None


def not_usable_reason(user):
    """Why ``user`` cannot sync now, in words for a flash message."""
    conn = get_connection(user)
    if conn is not None and conn.status == STATUS_NEEDS_REAUTH:
        return "Google needs you to reconnect your account before syncing: press Reconnect."
    return "Connect your Google account first; then you can synchronize."


def connection_usable(user):
    """True when this user's sync may call Google (connected, with a refresh token)."""
    conn = get_connection(user)
    return conn is not None and conn.status == STATUS_CONNECTED and \
        bool(conn.refresh_token_encrypted)


def complete_connect(user, *, email, granted_scopes, refresh_token, access_token,
                     expires_at=None):
    """Store the tokens of a finished consent on the user's connection row.

    Refuses (``GoogleSetupError``, nothing stored) without a refresh token, without the
    calendar scope or without the Google account's email. Connecting a different Google
    account than before forgets everything tied to the old one (links, mappings' calendars
    and sync tokens)."""
    granted = list(granted_scopes or [])
    if not email:
        raise GoogleSetupError("Google did not tell us which account you chose (no email); "
                               "nothing was connected. Try again and allow the email scope.")
    if CALENDAR_SCOPE not in granted:
        raise GoogleSetupError("You did not give the portal access to your Google Calendar, so "
                               "nothing was connected. Connect again and allow calendar access.")
    if not refresh_token:
        raise GoogleSetupError("Google did not send a refresh token, so the portal could not "
                               "sync while you are away; nothing was connected. Remove the "
                               "portal at myaccount.google.com/permissions and connect again.")
    email = email.strip().lower()
    conn = get_connection(user)
    if conn is None:
        conn = GoogleConnection(user_id=user.id)
        db.session.add(conn)
    elif conn.google_email and conn.google_email != email:
        log.info("user %s switched Google account; forgetting the old account's links",
                 user.id)
        _forget_account(user)
    conn.google_email = email
    conn.scopes = " ".join(granted)
    conn.refresh_token_encrypted = crypto.encrypt(refresh_token)
    conn.access_token_encrypted = crypto.encrypt(access_token) if access_token else None
    conn.token_expires_at = expires_at
    conn.status = STATUS_CONNECTED
    conn.last_error = None
    conn.connected_at = utcnow()
    conn.disconnected_at = None
    db.session.flush()
    return conn


def mark_needs_reauth(user, reason="Google no longer accepts the portal's access."):
    """Stop this user's sync until they reconnect; the banner asks them to. Keeps mappings,
    links and settings. ``reason`` is shown to the user (never put a token in it)."""
    conn = get_connection(user)
    if conn is None or conn.status == STATUS_DISCONNECTED:
        return conn
    conn.status = STATUS_NEEDS_REAUTH
    conn.last_error = str(reason)[:500]
    # The access token is useless now; keep the refresh token only to revoke it later.
    conn.access_token_encrypted = None
    conn.token_expires_at = None
    db.session.flush()
    return conn


def client_for(user, timeout=gclient.DEFAULT_TIMEOUT):
    """A :class:`GoogleClient` acting as ``user``.

    Raises :class:`NotConnected` when the user has no usable connection or Google isn't
    configured. Refreshed access tokens are written to the connection row (flush/commit is
    the caller's). A ``ReauthorizationNeeded`` from a call is NOT handled here: catch it and
    call :func:`mark_needs_reauth` (or use :func:`list_calendars` style wrappers)."""
    creds = get_credentials()
    conn = get_connection(user)
    if creds is None:
        raise NotConnected("Google sync is not configured; ask an admin.")
    if conn is None or conn.status != STATUS_CONNECTED or not conn.refresh_token_encrypted:
        raise NotConnected("Your Google account is not connected.")
    try:
        refresh_token = crypto.decrypt(conn.refresh_token_encrypted)
        access_token = crypto.decrypt(conn.access_token_encrypted)
    except crypto.SecretUnreadable:
        mark_needs_reauth(user, TOKENS_UNREADABLE)
        raise TokensUnreadable(TOKENS_UNREADABLE) from None
    try:
        client_secret = crypto.decrypt(creds.client_secret_encrypted)
    except crypto.SecretUnreadable:
        # The admin's secret, not the user's grant: a reconnect would not help.
        raise NotConnected("The portal's Google client secret cannot be read any more; ask "
                           "an admin to enter it again.") from None

    def store_refreshed(token, expiry):
        # Runs inside google-auth's refresh: just set the values; the caller commits.
        conn.access_token_encrypted = crypto.encrypt(token)
        conn.token_expires_at = expiry

    return gclient.GoogleClient(
        endpoints=current_endpoints(), client_id=creds.client_id, client_secret=client_secret,
        refresh_token=refresh_token, access_token=access_token,
        expiry=conn.token_expires_at, scopes=conn.scope_list,
        on_token_refresh=store_refreshed, timeout=timeout)


def calendar_service_for(user):
    """The Calendar v3 Resource of :func:`client_for` (shortcut for the sync layer)."""
    return client_for(user).calendar


def call_google(user, fn):
    """Run ``fn(client)`` for ``user``; a ``ReauthorizationNeeded`` marks the connection
    before it propagates. Other classified errors propagate unchanged."""
    client = client_for(user)
    try:
        return fn(client)
    except ReauthorizationNeeded as exc:
        mark_needs_reauth(user, f"Google refused access ({exc.reason or exc.status}); "
                                "please reconnect.")
        raise


def list_calendars(user):
    """The user's calendarList (see ``GoogleClient.calendar_list``)."""
    return call_google(user, lambda c: c.calendar_list())


def create_calendar(user, summary):
    """Create a calendar in the user's Google account; returns ``{"id", "summary"}``."""
    return call_google(user, lambda c: c.create_calendar(summary, time_zone=user.time_zone))


def disconnect(user, keep_links):
    """Revoke the grant at Google, delete the tokens and record the links choice.

    ``keep_links``: keep the links for a later reconnect to the same account; else
    :func:`forget_links`. Returns False when Google could not be reached to revoke (the
    tokens are deleted anyway; the user is told to remove access in their Google account)."""
    conn = get_connection(user)
    if conn is None:
        return True
    from portal.google import push

    # Channels can only be stopped with the grant that opened them: before it is revoked.
    push.stop_user_channels(user)
    revoked = True
    if conn.refresh_token_encrypted:
        try:
            token = crypto.decrypt(conn.refresh_token_encrypted)
            revoked = gclient.revoke_token(current_endpoints(), token)
        except (TransientError, crypto.SecretUnreadable) as exc:
            log.warning("could not revoke the Google grant of user %s: %s", user.id,
                        exc.__class__.__name__)
            revoked = False
    conn.refresh_token_encrypted = None
    conn.access_token_encrypted = None
    conn.token_expires_at = None
    conn.status = STATUS_DISCONNECTED
    conn.last_error = None
    conn.disconnected_at = utcnow()
    conn.links_on_disconnect = LINKS_KEEP if keep_links else LINKS_FORGET
    if not keep_links:
        forget_links(user)
    # ``google_email`` stays (it is no secret): a later connection to a different account
    # must still be recognised, so the mappings' calendars of this one are not reused.
    db.session.flush()
    return revoked


# -- links hook --------------------------------------------------------------------------------
_forget_links_hooks = []


def register_forget_links_hook(fn):
    """Register ``fn(user)`` to run inside :func:`forget_links` (the sync layer registers one
    that deletes the user's EventLinks). Returns ``fn`` so it works as a decorator."""
    if fn not in _forget_links_hooks:
        _forget_links_hooks.append(fn)
    return fn


def forget_links(user):
    """Forget what ties the user's CRM records to their Google data, so the next sync starts
    over: clears every mapping's sync token and last sync time, then runs the hooks
    registered with :func:`register_forget_links_hook` (EventLinks live in the sync layer)."""
    for mapping in user_mappings(user):
        mapping.sync_token = None
        mapping.last_synced_at = None
    for hook in _forget_links_hooks:
        hook(user)
    db.session.flush()


_account_changed_hooks = []


def register_account_changed_hook(fn):
    """Register ``fn(user)`` to run when a user connects a different Google account than
    before (after :func:`forget_links`): nothing of the old account's may be reused."""
    if fn not in _account_changed_hooks:
        _account_changed_hooks.append(fn)
    return fn


def _forget_account(user):
    """A different Google account: its calendars (and contact labels) are not the old
    account's."""
    forget_links(user)
    for mapping in user_mappings(user):
        mapping.calendar_id = None
        mapping.calendar_summary = ""
        mapping.retired_calendar_id = None
        mapping.retired_action = None
        mapping.retired_at = None
    for hook in _account_changed_hooks:
        hook(user)
    db.session.flush()


# -- mappings ----------------------------------------------------------------------------------
def user_mappings(user):
    return db.session.scalars(select(CalendarMapping)
                              .where(CalendarMapping.user_id == user.id)).all()


def synced_mappings(user):
    """Mappings the sync layer should run: a calendar and export or import on, or a
    previous calendar still to clean up (a type just set to *Not synchronized*)."""
    return [m for m in user_mappings(user) if m.is_synced or m.retired_calendar_id]


def get_user_mapping(user, mapping_id):
    """The user's own mapping ``mapping_id``, or None (also for someone else's, and for an id
    no row can have: a huge number from a URL or form must not reach the database driver)."""
    if not isinstance(mapping_id, int) or not 0 < mapping_id <= MAX_ROW_ID:
        return None
    mapping = db.session.get(CalendarMapping, mapping_id)
    if mapping is None or mapping.user_id != user.id:
        return None
    return mapping


@dataclass
class MappingChoice:
    """What the user picked for one activity type on the settings page."""

    activity_type: object
    #: a calendar id, NEW_CALENDAR, or None for "not synchronized"
    calendar_id: str | None
    new_calendar_name: str = ""
    export_enabled: bool = True
    import_enabled: bool = True
    conflict_rule: str = "crm_wins"
    delete_in_crm_when_deleted_in_google: bool = False
    #: "leave" | "delete": what to do with events exported to the previous calendar
    old_calendar_action: str | None = None


def calendar_changes(user, choices):
    """Choices that move an activity type away from a calendar it was synced with:
    ``[(choice, mapping)]``. Each needs an ``old_calendar_action`` before saving."""
    by_type = {m.activity_type_id: m for m in user_mappings(user)}
    out = []
    for choice in choices:
        mapping = by_type.get(choice.activity_type.id)
        if mapping is not None and mapping.calendar_id and \
                choice.calendar_id != mapping.calendar_id:
            out.append((choice, mapping))
    return out


def mapping_conflicts(user, choices, type_names):
    """``{activity_type_id: message}`` for choices that break "one calendar, one type"
    (against each other and against the user's mappings of types not on the page)."""
    errors, taken = {}, {}
    shown = {c.activity_type.id for c in choices}
    for mapping in user_mappings(user):
        if mapping.calendar_id and mapping.activity_type_id not in shown:
            taken[mapping.calendar_id] = type_names.get(mapping.activity_type_id, "another type")
    for choice in choices:
        cal = choice.calendar_id
        if not cal or cal == NEW_CALENDAR:
            continue
        if cal in taken:
            errors[choice.activity_type.id] = (
                f"This calendar is already used for {taken[cal]}; one calendar can hold only "
                "one activity type.")
        else:
            taken[cal] = choice.activity_type.name
    return errors


def save_mappings(user, choices, calendars):
    """Store the user's choices (already validated: see :func:`mapping_conflicts`).

    ``calendars``: the calendarList entries (for names). Creates the "new calendar" ones at
    Google first. A type moved off a calendar records a retirement (``retired_calendar_id``
    + ``retired_action``) for the sync layer, and its sync token is dropped."""
    names = {c["id"]: c["summary"] for c in calendars}
    existing = {m.activity_type_id: m for m in user_mappings(user)}
    # Create calendars first so a Google failure leaves the mappings untouched.
    for choice in choices:
        if choice.calendar_id == NEW_CALENDAR:
            created = create_calendar(user, choice.new_calendar_name.strip())
            choice.calendar_id = created["id"]
            names[created["id"]] = created["summary"]
    now = utcnow()
    # Release every calendar that changes first: swapping two types' calendars would
    # otherwise trip the (user, calendar) unique constraint half-way through.
    moving = []
    for choice in choices:
        mapping = existing.get(choice.activity_type.id)
        if mapping is not None and mapping.calendar_id != choice.calendar_id:
            moving.append((choice, mapping, mapping.calendar_id))
            mapping.calendar_id = None
    db.session.flush()
    for choice, mapping, old_calendar in moving:
        _retire(mapping, old_calendar, choice.calendar_id, choice.old_calendar_action, now)
        mapping.sync_token = None
        mapping.last_synced_at = None
    for choice in choices:
        mapping = existing.get(choice.activity_type.id)
        if mapping is None:
            if not choice.calendar_id:
                continue  # never mapped and still not: no row needed
            mapping = CalendarMapping(user_id=user.id, activity_type_id=choice.activity_type.id)
            db.session.add(mapping)
        mapping.calendar_id = choice.calendar_id or None
        if choice.calendar_id:
            mapping.calendar_summary = names.get(choice.calendar_id, mapping.calendar_summary
                                                 or choice.calendar_id)
        if choice.calendar_id:
            # "Not synchronized" greys the switches out (a browser does not post them): the
            # choices stay as they were for when the type is synchronized again.
            mapping.export_enabled = choice.export_enabled
            mapping.import_enabled = choice.import_enabled
        mapping.conflict_rule = choice.conflict_rule
        mapping.delete_in_crm_when_deleted_in_google = \
            choice.delete_in_crm_when_deleted_in_google
    db.session.flush()
    from portal.google import push

    # A calendar changed or Import turned off: Google stops calling about it now, not at
    # the channel's expiry (new channels open with the next scheduler tick).
    push.stop_unwanted_channels(user)


def _retire(mapping, old_calendar, new_calendar, action, now):
    if not old_calendar:
        return
    if mapping.retired_calendar_id:
        # A retirement is still pending: the exported events are in that earlier calendar
        # (nothing was synced to ``old_calendar`` since), so keep it - unless the user went
        # back to it, which cancels it.
        if new_calendar == mapping.retired_calendar_id:
            mapping.retired_calendar_id = mapping.retired_action = mapping.retired_at = None
        return
    if action not in RETIRED_ACTIONS:
        raise ValueError("old_calendar_action must be 'leave' or 'delete'")
    mapping.retired_calendar_id = old_calendar
    mapping.retired_action = action
    mapping.retired_at = now


# -- sync settings -----------------------------------------------------------------------------
def get_sync_settings(user, create=False):
    settings = db.session.scalars(select(GoogleSyncSettings)
                                  .where(GoogleSyncSettings.user_id == user.id)).first()
    if settings is None and create:
        settings = GoogleSyncSettings(user_id=user.id, auto_sync=False, period_minutes=60)
        db.session.add(settings)
        db.session.flush()
    return settings


def save_sync_settings(user, *, auto_sync, period_minutes, sync_from):
    """Store the automatic-sync switch, its period (minutes) and the "synchronize from"
    date."""
    settings = get_sync_settings(user, create=True)
    earlier = settings.sync_from is not None and (sync_from is None
                                                  or sync_from < settings.sync_from)
    settings.auto_sync = bool(auto_sync)
    settings.period_minutes = int(period_minutes)
    settings.sync_from = sync_from
    if earlier:
        # Google's sync token only reports changes since the last sync: events between the
        # new and the old date were never listed. The next import lists them all.
        for mapping in user_mappings(user):
            mapping.sync_token = None
    db.session.flush()
    return settings


def record_sync_success(user, when=None):
    """For the sync layer: a run for ``user`` finished without errors."""
    settings = get_sync_settings(user, create=True)
    settings.last_successful_sync_at = when or utcnow()
    db.session.flush()


def token_expiry_from_epoch(expires_at):
    """Authlib's ``expires_at`` (epoch seconds) as an aware UTC datetime."""
    if not expires_at:
        return None
    return datetime.fromtimestamp(int(expires_at), timezone.utc)
