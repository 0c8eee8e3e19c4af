"""Google pages: admin credentials, the user's external accounts (connect/disconnect), the
OAuth callback, and the "Google Calendar" sync settings with the calendar mappings.

Every user page acts on ``current_user`` only; the one URL with an id (mapping reset) checks
ownership and answers 404 for anyone else's mapping."""
import logging
import re

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import (Blueprint, abort, current_app, flash, has_request_context, redirect,
                   render_template, request, session, url_for)
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal.core import crypto, limits, security
from portal.core.auth import admin_required
from portal.core.forms import EmptyForm
from portal.extensions import csrf, db
from portal.google import services
from portal.google.client import (CALENDAR_SCOPE, CONTACTS_SCOPE, CONTACTS_SCOPES, GoogleError,
                                  ReauthorizationNeeded)
from portal.google.forms import (CredentialsForm, DisconnectForm, SyncSettingsForm,
                                 calendar_choices, mapping_form)
from portal.google.models import STATUS_NEEDS_REAUTH, GoogleConnection
from portal.google.oauth import current_endpoints, google_oauth

log = logging.getLogger(__name__)
bp = Blueprint("google", __name__)

NOT_CONFIGURED = "Google sync is not configured; ask an admin."


# -- banner ------------------------------------------------------------------------------------
def google_needs_reauth():
    """True when the logged-in user must reconnect Google. One small query per request,
    cached on the request (not ``g``: tests keep one app context, and so one ``g``, across
    requests); never fails, since the banner renders on error pages too."""
    if not has_request_context():
        return False
    cache_key = "portal.google_needs_reauth"
    if cache_key not in request.environ:
        value = False
        try:
            if current_user and current_user.is_authenticated:
                status = db.session.scalar(select(GoogleConnection.status)
                                           .where(GoogleConnection.user_id == current_user.id))
                value = status == STATUS_NEEDS_REAUTH
        except SQLAlchemyError:
            db.session.rollback()
        request.environ[cache_key] = value
    return request.environ[cache_key]


@bp.record_once
def _allow_the_consent_redirect(state):
    # Authorize and Connect posts here and is redirected to Google's (or googlesim's)
    # consent page: the Content-Security-Policy's form-action must allow that origin.
    security.allow_form_redirect(state.app, lambda: security.origin(current_endpoints().authorize))


@bp.app_context_processor
def _banner_globals():
    return {"google_needs_reauth": google_needs_reauth}


# -- admin -------------------------------------------------------------------------------------
@bp.route("/admin/google", methods=["GET", "POST"])
@admin_required
def admin_credentials():
    creds = services.get_credentials()
    form = CredentialsForm()
    if request.method == "GET":
        form.client_id.data = creds.client_id if creds else ""
        form.redirect_url.data = creds.redirect_url if creds else services.default_redirect_url()
    if creds is not None:
        form.client_secret.description = "Leave empty to keep the stored secret."
    general_error = None
    if form.validate_on_submit():
        try:
            services.save_credentials(client_id=form.client_id.data,
                                      client_secret=form.client_secret.data,
                                      redirect_url=form.redirect_url.data,
                                      api_key=form.api_key.data,
                                      remove_api_key=form.remove_api_key.data,
                                      user=current_user)
        except services.GoogleSetupError as exc:
            db.session.rollback()
            if exc.field:
                getattr(form, exc.field).errors.append(str(exc))
            else:
                general_error = str(exc)
        else:
            db.session.commit()
            flash("Google credentials checked with Google and saved.", "success")
            return redirect(url_for("google.admin_credentials"))
    return render_template(
        "google/admin_credentials.html", form=form, creds=creds, general_error=general_error,
        secret_mask=services.masked(creds.client_secret_encrypted) if creds else "",
        api_key_mask=services.masked(creds.api_key_encrypted) if creds else "",
        callback_url=services.default_redirect_url(), title="Google credentials")


# -- connect / disconnect ----------------------------------------------------------------------
@bp.get("/profile/external-accounts")
@login_required
def accounts():
    return render_template("google/accounts.html", configured=services.is_configured(),
                           conn=services.get_connection(current_user), form=EmptyForm(),
                           calendar_scope=CALENDAR_SCOPE,
                           title="Accounts in external resources")


@bp.post("/google/connect")
@login_required
@limits.limit("OAUTH_CONNECT_LIMIT", key_func=limits.user_key, scope="oauth-connect")
def connect():
    if not EmptyForm().validate_on_submit():
        abort(400)
    creds = services.get_credentials()
    if creds is None:
        flash(NOT_CONFIGURED, "warning")
        return redirect(url_for("google.accounts"))
    client = _oauth_client(creds)
    if client is None:
        return _fail(UNREADABLE_SECRET)
    conn = services.get_connection(current_user)
    extra = {"login_hint": conn.google_email} if conn is not None and conn.google_email else {}
    # Incremental authorization: the contacts scope only when a user turns contacts on
    # (Google adds what was granted before: include_granted_scopes).
    asking_contacts = request.form.get("contacts") == "1"
    session["google_asked_contacts"] = asking_contacts
    if asking_contacts:
        extra["scope"] = " ".join(CONTACTS_SCOPES)
    _forget_abandoned_states(client.name)
    return client.authorize_redirect(creds.redirect_url, **extra)


#: pending consents kept per session (another tab may still be on Google's consent page)
PENDING_STATES_KEPT = 2


def _forget_abandoned_states(client_name):
    """Authlib keeps one session entry per started consent until its callback arrives; a
    user who clicks Connect and turns back each time would grow the session cookie until
    the browser drops it (and logs them out). Keep only the most recent few."""
    prefix = f"_state_{client_name}_"
    pending = sorted((key for key in session if key.startswith(prefix)),
                     key=lambda key: (session[key] or {}).get("exp") or 0)
    for key in pending[:max(0, len(pending) - (PENDING_STATES_KEPT - 1))]:
        session.pop(key, None)


UNREADABLE_SECRET = ("The portal's Google client secret cannot be read any more (the "
                     "encryption key changed); ask an admin to enter it again.")
# What an ``error`` parameter on the callback may look like to be shown (it comes from the URL).
_OAUTH_ERROR_RE = re.compile(r"[a-z_]{1,40}")


def _oauth_client(creds):
    """The Authlib client, or None when the stored secret cannot be decrypted."""
    try:
        return google_oauth(creds)
    except crypto.SecretUnreadable:
        log.warning("the stored Google client secret cannot be decrypted")
        return None


def _fail(message):
    flash(message, "danger")
    return redirect(url_for("google.accounts"))


@bp.get("/google/oauth/callback")
@login_required
def callback():
    creds = services.get_credentials()
    if creds is None:
        return _fail(NOT_CONFIGURED)
    client = _oauth_client(creds)
    if client is None:
        return _fail(UNREADABLE_SECRET)
    error = request.args.get("error")
    if error:
        # Drop the pending state so it cannot be replayed.
        client.framework.clear_state_data(session, request.args.get("state"))
        if error == "access_denied":
            if session.pop("google_asked_contacts", False) and \
                    services.connection_usable(current_user):
                flash("You did not allow access to your contacts, so contacts stay off; your "
                      "calendar sync keeps working.", "warning")
                return redirect(url_for("contacts_sync.settings_page"))
            return _fail("You declined access at Google, so nothing was connected.")
        shown = f" ({error})" if _OAUTH_ERROR_RE.fullmatch(error) else ""
        return _fail(f"Google reported an error{shown}; nothing was connected.")
    if not request.args.get("code"):
        client.framework.clear_state_data(session, request.args.get("state"))
        return _fail("Google's answer had no authorization code, so nothing was connected. "
                     "Start again with Authorize and Connect.")
    try:
        # authlib checks the id_token's issuer only when it has server metadata; pin it for
        # real Google (googlesim's issuer is its own origin).
        claims = None if current_endpoints().sandbox else {
            "iss": {"values": ["https://accounts.google.com", "accounts.google.com"]}}
        token = client.authorize_access_token(claims_options=claims)
        userinfo = token.get("userinfo") or client.userinfo(token=token)
    except MismatchingStateError:
        return _fail("The answer from Google does not belong to this sign-in attempt (state "
                     "mismatch), so nothing was connected. Start again with Authorize and "
                     "Connect.")
    except OAuthError as exc:
        return _fail(f"Google refused the sign-in ({exc.error}); nothing was connected.")
    except AuthlibBaseError as exc:  # e.g. an answer Authlib cannot use (missing fields)
        log.warning("OAuth callback failed: %s", exc.__class__.__name__)
        return _fail("Google's answer could not be used, so nothing was connected. Start "
                     "again with Authorize and Connect.")
    except requests.RequestException as exc:
        log.warning("OAuth callback could not reach Google: %s", exc.__class__.__name__)
        return _fail("Could not reach Google to finish the sign-in; nothing was connected. "
                     "Try again in a moment.")
    try:
        conn = services.complete_connect(
            current_user, email=(userinfo or {}).get("email"),
            granted_scopes=(token.get("scope") or "").split(),
            refresh_token=token.get("refresh_token"), access_token=token.get("access_token"),
            expires_at=services.token_expiry_from_epoch(token.get("expires_at")))
    except services.GoogleSetupError as exc:
        db.session.rollback()
        return _fail(str(exc))
    db.session.commit()
    if session.pop("google_asked_contacts", False):
        if CONTACTS_SCOPE in conn.scope_list:
            flash("Google gave the portal access to your contacts.", "success")
        else:
            flash("Google did not give access to your contacts, so contacts stay off; your "
                  "calendar sync keeps working.", "warning")
        return redirect(url_for("contacts_sync.settings_page"))
    flash(f"Connected to Google as {conn.google_email}. Now choose your calendars.", "success")
    return redirect(url_for("google.sync_settings"))


@bp.route("/google/disconnect", methods=["GET", "POST"])
@login_required
def disconnect():
    conn = services.get_connection(current_user)
    if conn is None or not conn.refresh_token_encrypted:
        flash("Your Google account is not connected.", "info")
        return redirect(url_for("google.accounts"))
    form = DisconnectForm()
    if form.validate_on_submit():
        revoked = services.disconnect(current_user, keep_links=form.links.data == "keep")
        db.session.commit()
        if revoked:
            flash("Google account disconnected; the portal's access was revoked at Google.",
                  "success")
        else:
            flash("Google account disconnected here, but Google could not be reached to revoke "
                  "the access: remove the portal at myaccount.google.com/permissions.",
                  "warning")
        return redirect(url_for("google.accounts"))
    return render_template("google/disconnect.html", form=form, conn=conn,
                           title="Disconnect Google")


# -- sync settings and mappings ----------------------------------------------------------------
def _active_types():
    from portal.crm.models import ActivityType

    return db.session.scalars(select(ActivityType).where(ActivityType.active.is_(True))
                              .order_by(ActivityType.position, ActivityType.name)).all()


def _type_names():
    from portal.crm.models import ActivityType

    return dict(db.session.execute(select(ActivityType.id, ActivityType.name)).all())


def _mapping_defaults(types, mappings):
    data = {}
    for t in types:
        m = mappings.get(t.id)
        data[f"t{t.id}"] = {
            "calendar": (m.calendar_id or "") if m else "",
            "new_calendar_name": "",
            "export_enabled": m.export_enabled if m else True,
            "import_enabled": m.import_enabled if m else True,
            "conflict_rule": m.conflict_rule if m else "crm_wins",
            "delete_in_crm": m.delete_in_crm_when_deleted_in_google if m else False,
        }
    return data


def _load_calendars():
    """(calendars, error message); marks the connection on a lost grant."""
    try:
        calendars = services.list_calendars(current_user)
        db.session.commit()  # a refreshed access token is worth keeping
        return calendars, None
    except ReauthorizationNeeded:
        db.session.commit()  # keep the needs-reauth mark
        return None, "Google no longer accepts the portal's access. Reconnect to choose calendars."
    except services.NotConnected as exc:
        db.session.commit()  # keep a "tokens unreadable" mark
        return None, str(exc)
    except GoogleError as exc:
        log.warning("calendarList failed for user %s: %s", current_user.id, exc)
        return None, "Could not load your calendars from Google right now; try again in a moment."


@bp.route("/google/sync", methods=["GET", "POST"])
@login_required
def sync_settings():
    configured = services.is_configured()
    conn = services.get_connection(current_user)
    settings = services.get_sync_settings(current_user)
    posted_settings = request.method == "POST" and "save_settings" in request.form
    posted_mapping = request.method == "POST" and "save_mappings" in request.form

    settings_form = SyncSettingsForm(obj=settings,
                                     formdata=None if not posted_settings else request.form)
    if posted_settings and settings_form.validate_on_submit():
        services.save_sync_settings(current_user, auto_sync=settings_form.auto_sync.data,
                                    period_minutes=settings_form.period_minutes.data,
                                    sync_from=settings_form.sync_from.data)
        db.session.commit()
        flash("Sync settings saved.", "success")
        return redirect(url_for("google.sync_settings"))

    types = _active_types()
    mappings = {m.activity_type_id: m for m in services.user_mappings(current_user)}
    calendars, calendars_error, map_form, asking = None, None, None, set()
    if configured and services.connection_usable(current_user):
        calendars, calendars_error = _load_calendars()
    if calendars is not None:
        listed = {c["id"] for c in calendars}
        extra = [(m.calendar_id, f"{m.calendar_summary or m.calendar_id} (not found in Google)")
                 for m in mappings.values() if m.calendar_id and m.calendar_id not in listed]
        choices = calendar_choices(calendars, extra)
        map_form = mapping_form(types, choices, data=_mapping_defaults(types, mappings),
                                formdata=request.form if posted_mapping else None)
        if posted_mapping and map_form.validate_on_submit():
            result = _save_mapping_form(map_form, types, calendars)
            if result is True:
                return redirect(url_for("google.sync_settings"))
            asking = result
        if posted_mapping:
            _switches_as_stored(map_form, types, mappings)
    return render_template(
        "google/sync_settings.html", configured=configured, conn=conn, settings=settings,
        settings_form=settings_form, map_form=map_form, types=types, mappings=mappings,
        calendars=calendars, calendars_error=calendars_error, asking=asking,
        reset_form=EmptyForm(), contacts=_contacts_card(current_user), title="Google Calendar")


def _switches_as_stored(form, types, mappings):
    """A browser does not post the greyed-out switches of a *Not synchronized* row: show
    them as stored when the form comes back (a question or an error), not as off."""
    for t in types:
        row = getattr(form, f"t{t.id}").form
        if not row.calendar.data:
            m = mappings.get(t.id)
            row.export_enabled.data = m.export_enabled if m else True
            row.import_enabled.data = m.import_enabled if m else True


def _contacts_card(user):
    """What the Google sync page shows of the contacts sync (its own page has the rest)."""
    from portal.sync.contacts import services as contacts_services

    settings = contacts_services.get_settings(user)
    tag = settings.tag if settings is not None and settings.tag_id else None
    return {"settings": settings, "tag": tag,
            "access": contacts_services.has_contacts_access(user)}


def _save_mapping_form(form, types, calendars):
    """Validate the rows; save and return True, or return the set of type ids whose
    "old calendar" question must be answered (errors are on the form)."""
    access = {c["id"]: c["accessRole"] for c in calendars}
    choices, rows, ok = [], {}, True
    for t in types:
        row = getattr(form, f"t{t.id}").form
        rows[t.id] = row
        cal = row.calendar.data or None
        name = (row.new_calendar_name.data or "").strip()
        if cal == services.NEW_CALENDAR and not name:
            row.new_calendar_name.errors.append("Enter a name for the new calendar.")
            ok = False
        if cal and cal in access and access[cal] not in ("owner", "writer") \
                and row.export_enabled.data:
            row.calendar.errors.append("This calendar is read-only for you: it can only be "
                                       "imported. Turn Export off or choose another calendar.")
            ok = False
        action = row.old_calendar_action.data
        choices.append(services.MappingChoice(
            activity_type=t, calendar_id=cal, new_calendar_name=name,
            export_enabled=row.export_enabled.data, import_enabled=row.import_enabled.data,
            conflict_rule=row.conflict_rule.data,
            delete_in_crm_when_deleted_in_google=row.delete_in_crm.data,
            old_calendar_action=action if action in ("leave", "delete") else None))
    for type_id, message in services.mapping_conflicts(current_user, choices,
                                                       _type_names()).items():
        rows[type_id].calendar.errors.append(message)
        ok = False
    asking = {choice.activity_type.id for choice, _ in
              services.calendar_changes(current_user, choices)
              if choice.old_calendar_action is None}
    if not ok or asking:
        if ok:
            flash("You changed the calendar of an activity type: choose what happens to the "
                  "events already exported to the old calendar, then save again.", "warning")
        return asking
    try:
        services.save_mappings(current_user, choices, calendars)
    except ReauthorizationNeeded:
        db.session.rollback()
        services.mark_needs_reauth(current_user, "Google refused access; please reconnect.")
        db.session.commit()
        flash("Google no longer accepts the portal's access; reconnect and save again.",
              "danger")
        return set()
    except GoogleError as exc:
        db.session.rollback()
        log.warning("saving mappings failed for user %s: %s", current_user.id, exc)
        flash("Google could not create the new calendar right now; nothing was saved. "
              "Try again in a moment.", "danger")
        return set()
    db.session.commit()
    flash("Calendar mappings saved.", "success")
    _clean_up_retired_calendars()
    return True


def _clean_up_retired_calendars():
    """Start the clean-up of calendars a type just left (delete or leave the exported
    events) now: a type set to *Not synchronized* has no sync of its own to do it later."""
    from portal.jobs.sync import enqueue_sync

    retiring = [m for m in services.user_mappings(current_user)
                if m.retired_calendar_id and not m.calendar_id]
    if not retiring or not services.connection_usable(current_user):
        return
    try:
        for mapping in retiring:
            enqueue_sync(current_user, mapping)
    except Exception as exc:  # noqa: BLE001 - the mappings are saved; the sync retries it
        log.warning("could not queue the clean-up of user %s's previous calendars: %s",
                    current_user.id, exc.__class__.__name__)
        db.session.rollback()


@bp.post("/google/mappings/<int:mapping_id>/reset")
@login_required
def mapping_reset(mapping_id):
    """Drop a mapping's sync token so the next sync compares everything again."""
    mapping = services.get_user_mapping(current_user, mapping_id)
    if mapping is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        mapping.sync_token = None
        mapping.last_synced_at = None
        db.session.commit()
        flash("The next sync of this calendar will be a full one.", "info")
    return redirect(url_for("google.sync_settings"))


# -- push notifications ----------------------------------------------------------------------
# Google calls this, not a person: there is no session and no form, so no CSRF token can
# exist; it is the one route exempt from CSRF. What protects it instead: the channel id and
# the secret token Google echoes (checked against a hash, in constant time), and that all it
# can ever do is queue an import the polling cron would run anyway, at most once per burst.
@bp.post("/google/notifications")
@csrf.exempt
def notifications():
    """Answer Google at once (it only needs a 2xx) and the same for every caller, so an
    unknown channel or a wrong token learns nothing; the import runs in a worker."""
    from portal.jobs import push

    headers = request.headers
    push.receive(headers.get("X-Goog-Channel-ID", ""), headers.get("X-Goog-Channel-Token", ""),
                 headers.get("X-Goog-Resource-State", ""),
                 headers.get("X-Goog-Resource-ID", ""))
    db.session.rollback()  # nothing of a notification is kept but the queued job
    response = current_app.response_class(b"", status=200)
    response.headers["Cache-Control"] = "no-store"
    return response
