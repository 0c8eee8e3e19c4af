"""OAuth 2.0 / OpenID Connect: consent page, token, revoke, userinfo, JWKS, discovery."""
import base64
import hashlib
import json
import secrets
import time
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

from flask import Blueprint, current_app, jsonify, make_response, redirect, request, \
    render_template_string

from .accounts import ensure_account, valid_email
from .errors import ApiError, OAuthError

bp = Blueprint("oauth", __name__)

ACCESS_TTL = 3599
CODE_TTL = 600
OIDC_SCOPES = {"openid", "email", "profile"}
SCOPE_ALIASES = {  # Google accepts the short names and answers with the long ones
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
ACCOUNTS_COOKIE = "gsim_accounts"


def store():
    return current_app.config["STORE"]


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def normalize_scopes(scopes):
    out = []
    for s in scopes:
        s = SCOPE_ALIASES.get(s, s)
        if s and s not in out:
            out.append(s)
    return out


def has_scope(scopes, short):
    return short in scopes or SCOPE_ALIASES.get(short) in scopes


# -- token minting (also used by the control API) --------------------------------------------
def mint_access(st, email, client_id, scopes, refresh=None):
    token = "ya29.gsim-" + secrets.token_urlsafe(32)
    st.access[token] = {"email": email, "client_id": client_id, "scopes": list(scopes),
                        "expires_at": time.time() + ACCESS_TTL, "refresh": refresh}
    st.dirty("access", token)
    return token


def mint_refresh(st, email, client_id, scopes):
    token = "1//gsim-" + secrets.token_urlsafe(32)
    st.refresh[token] = {"email": email, "client_id": client_id, "scopes": list(scopes),
                         "revoked": False}
    st.dirty("refresh", token)
    return token


def record_grant(st, email, client_id, scopes):
    key = f"{email} {client_id}"
    grant = st.grants.setdefault(key, {"email": email, "client_id": client_id, "scopes": []})
    for s in scopes:
        if s not in grant["scopes"]:
            grant["scopes"].append(s)
    st.dirty("grant", key)
    return grant


def issue_tokens(st, email, client_id, scopes, offline=True):
    """Mint tokens for a consented grant. Call inside st.tx()."""
    ensure_account(st, email)
    scopes = normalize_scopes(scopes)
    record_grant(st, email, client_id, scopes)
    refresh = mint_refresh(st, email, client_id, scopes) if offline else None
    access = mint_access(st, email, client_id, scopes, refresh)
    out = {"access_token": access, "expires_in": ACCESS_TTL, "token_type": "Bearer",
           "scope": " ".join(scopes)}
    if refresh:
        out["refresh_token"] = refresh
    return out


def revoke_grant(st, email, client_id=None):
    """Revoke every token of the account's grants (optionally for one client)."""
    count = 0
    for token, rec in st.refresh.items():
        if rec["email"] == email and (client_id is None or rec["client_id"] == client_id) \
                and not rec["revoked"]:
            rec["revoked"] = True
            st.dirty("refresh", token)
            count += 1
    for token in [t for t, r in st.access.items() if r["email"] == email and
                  (client_id is None or r["client_id"] == client_id)]:
        st.delete("access", token)
    for key in [k for k, g in st.grants.items() if g["email"] == email and
                (client_id is None or g["client_id"] == client_id)]:
        st.delete("grant", key)
    return count


def sign_jwt(claims):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    entry = store().signing_key_pem()
    key = serialization.load_pem_private_key(entry["pem"].encode(), password=None)
    header = {"alg": "RS256", "kid": entry["kid"], "typ": "JWT"}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(sig)


def make_id_token(acct, client_id, scopes, access_token, nonce=None):
    now = int(time.time())
    claims = {"iss": issuer(), "azp": client_id, "aud": client_id, "sub": acct["sub"],
              "iat": now, "exp": now + 3600,
              # at_hash: left half of SHA-256 of the access token (OIDC core 3.1.3.6)
              "at_hash": b64url(hashlib.sha256(access_token.encode()).digest()[:16])}
    if has_scope(scopes, "email"):
        claims.update(email=acct["email"], email_verified=True)
    if has_scope(scopes, "profile"):
        claims.update(profile_claims(acct))
    if nonce:
        claims["nonce"] = nonce
    return sign_jwt(claims)


def profile_claims(acct):
    parts = acct["name"].split(" ", 1)
    out = {"name": acct["name"], "given_name": parts[0]}
    if len(parts) > 1:
        out["family_name"] = parts[1]
    return out


def issuer():
    return request.host_url.rstrip("/")


# -- authorization (consent page) ------------------------------------------------------------
_AUTH_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "access_type",
                "prompt", "include_granted_scopes", "code_challenge",
                "code_challenge_method", "login_hint", "nonce", "hd")

ERROR_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Error {{ code }}</title>
</head><body><h1>Access blocked: authorization error</h1>
<p id="error"><strong>Error {{ code }}: {{ error }}</strong></p><p>{{ description }}</p>
</body></html>"""

CONSENT_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>Sign in - Google Accounts (googlesim)</title>
<style>body{font-family:sans-serif;max-width:36em;margin:2em auto}li{margin:.3em 0}
button{margin-right:1em;padding:.4em 1.2em}</style></head><body>
<h1>Sign in with Google</h1>
<p><strong id="client-name">{{ client_id }}</strong> wants to access your Google Account.</p>
<h2>This will allow the app to:</h2>
<ul id="scopes">{% for s in scopes %}<li class="scope">{{ s }}</li>{% endfor %}</ul>
{% if known %}<h2>Choose an account</h2><ul id="accounts">
{% for e in known %}<li><a class="account-choice" href="?{{ choose_qs[e] }}">{{ e }}</a></li>{% endfor %}
</ul>{% endif %}
{% if message %}<p id="message" role="alert">{{ message }}</p>{% endif %}
<form method="post" action="">
{% for k, v in hidden %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
<p><label for="email">Google account</label>
<input type="text" id="email" name="email" value="{{ email }}" autocomplete="email"></p>
<p><button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></p>
</form></body></html>"""


def _error_page(code, error, description):
    html = render_template_string(ERROR_PAGE, code=code, error=error, description=description)
    return make_response(html, 400)


def _with_params(uri, params):
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@bp.route("/o/oauth2/v2/auth", methods=["GET", "POST"])
@bp.route("/o/oauth2/auth", methods=["GET", "POST"])
def authorize():
    src = request.values
    params = {k: src.get(k) for k in _AUTH_PARAMS if src.get(k) is not None}
    st = store()
    with st.lock:
        client = st.clients.get(params.get("client_id", ""))
        auto = st.auto_consent
    # Like Google: problems with the client or redirect URI are shown, never redirected.
    if client is None:
        return _error_page(401, "invalid_client", "The OAuth client was not found.")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in client["redirect_uris"]:
        return _error_page(400, "redirect_uri_mismatch",
                           "You can't sign in to this app because it doesn't comply with "
                           "Google's OAuth 2.0 policy. redirect_uri=" + str(redirect_uri))
    if params.get("response_type") != "code":
        return _error_page(400, "unsupported_response_type",
                           "Only response_type=code is supported.")
    scopes = normalize_scopes((params.get("scope") or "").split())
    if not scopes:
        return _error_page(400, "invalid_request", "Missing required parameter: scope")
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "S256", "plain"):
        return _error_page(400, "invalid_request", "Invalid code_challenge_method")

    email = (request.form.get("email") or params.get("login_hint") or "").strip().lower()
    decision = request.form.get("decision") if request.method == "POST" else None
    if decision is None and auto and params.get("login_hint") and valid_email(email):
        decision = "allow"
    if decision == "deny":
        out = {"error": "access_denied"}
        if "state" in params:
            out["state"] = params["state"]
        return redirect(_with_params(redirect_uri, out), 302)
    message = None
    if decision == "allow":
        if valid_email(email):
            return _approve(st, client, params, scopes, email)
        message = "Enter a valid email address."
    known = [e for e in request.cookies.get(ACCOUNTS_COOKIE, "").split(",") if e]
    choose_qs = {e: urlencode({**{k: v for k, v in params.items() if k != "login_hint"},
                               "login_hint": e}) for e in known}
    hidden = [(k, v) for k, v in params.items() if k != "login_hint"]
    html = render_template_string(CONSENT_PAGE, client_id=client["client_id"], scopes=scopes,
                                  known=known, choose_qs=choose_qs, hidden=hidden,
                                  email=email, message=message)
    return make_response(html, 400 if message else 200)


def _approve(st, client, params, scopes, email):
    with st.tx():
        ensure_account(st, email)
        key = f"{email} {client['client_id']}"
        if params.get("include_granted_scopes") == "true" and key in st.grants:
            scopes = normalize_scopes(st.grants[key]["scopes"] + scopes)
        record_grant(st, email, client["client_id"], scopes)  # consent is the grant
        code = "4/gsim-" + secrets.token_urlsafe(24)
        st.codes[code] = {"client_id": client["client_id"], "email": email,
                          "redirect_uri": params["redirect_uri"], "scopes": scopes,
                          "challenge": params.get("code_challenge"),
                          "method": params.get("code_challenge_method") or "plain",
                          "offline": params.get("access_type") == "offline",
                          "prompt": params.get("prompt") or "", "nonce": params.get("nonce"),
                          "expires_at": time.time() + CODE_TTL}
        st.dirty("code", code)
    out = {"code": code}
    if "state" in params:
        out["state"] = params["state"]
    out["scope"] = " ".join(scopes)
    resp = redirect(_with_params(params["redirect_uri"], out), 302)
    known = [e for e in request.cookies.get(ACCOUNTS_COOKIE, "").split(",") if e]
    if email not in known:
        known.append(email)
    resp.set_cookie(ACCOUNTS_COOKIE, ",".join(known[-10:]), httponly=True, samesite="Lax")
    return resp


# -- token endpoint --------------------------------------------------------------------------
def _client_from_request(st):
    client_id = client_secret = None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, client_secret = auth.username, auth.password
    if client_id is None:
        client_id = request.form.get("client_id")
        client_secret = request.form.get("client_secret")
    client = st.clients.get(client_id or "")
    if client is None:
        raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
    if not client_secret or not secrets.compare_digest(client_secret, client["client_secret"]):
        raise OAuthError(401, "invalid_client", "Unauthorized")
    return client


@bp.route("/token", methods=["POST"])
@bp.route("/oauth2/v4/token", methods=["POST"])
def token():
    st = store()
    grant_type = request.form.get("grant_type")
    with st.tx():
        client = _client_from_request(st)
        if grant_type == "authorization_code":
            return jsonify(_code_grant(st, client))
        if grant_type == "refresh_token":
            return jsonify(_refresh_grant(st, client))
        if not grant_type:
            raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
        raise OAuthError(400, "unsupported_grant_type", "Invalid grant_type: " + grant_type)


def _code_grant(st, client):
    code = request.form.get("code", "")
    rec = st.codes.get(code)
    if rec is None or rec["client_id"] != client["client_id"] or rec["expires_at"] < time.time():
        raise OAuthError(400, "invalid_grant", "Malformed auth code.")
    # One use: a replayed code fails like an unknown one.
    st.delete("code", code)
    if request.form.get("redirect_uri") != rec["redirect_uri"]:
        raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
    if rec["challenge"]:
        verifier = request.form.get("code_verifier")
        if not verifier:
            raise OAuthError(400, "invalid_grant", "Missing code verifier.")
        if rec["method"] == "S256":
            computed = b64url(hashlib.sha256(verifier.encode()).digest())
        else:
            computed = verifier
        if not secrets.compare_digest(computed, rec["challenge"]):
            raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
    email, scopes = rec["email"], rec["scopes"]
    # Google sends a refresh token for offline access on first consent or prompt=consent.
    has_live = any(r["email"] == email and r["client_id"] == client["client_id"] and
                   not r["revoked"] for r in st.refresh.values())
    offline = rec["offline"] and ("consent" in rec["prompt"].split() or not has_live)
    out = issue_tokens(st, email, client["client_id"], scopes, offline=offline)
    if "openid" in scopes:
        out["id_token"] = make_id_token(st.accounts[email], client["client_id"], scopes,
                                        out["access_token"], rec.get("nonce"))
    return out


def _refresh_grant(st, client):
    token = request.form.get("refresh_token", "")
    rec = st.refresh.get(token)
    if rec is None or rec["revoked"] or rec["client_id"] != client["client_id"]:
        raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
    scopes = rec["scopes"]
    asked = request.form.get("scope")
    if asked:
        asked = normalize_scopes(asked.split())
        if not set(asked) <= set(scopes):
            raise OAuthError(400, "invalid_scope",
                             "Some requested scopes were invalid.")
        scopes = asked
    access = mint_access(st, rec["email"], client["client_id"], scopes, token)
    out = {"access_token": access, "expires_in": ACCESS_TTL, "token_type": "Bearer",
           "scope": " ".join(scopes)}
    if "openid" in scopes:
        out["id_token"] = make_id_token(st.accounts[rec["email"]], client["client_id"],
                                        scopes, access)
    return out


@bp.route("/revoke", methods=["POST", "GET"])
@bp.route("/o/oauth2/revoke", methods=["POST", "GET"])
def revoke():
    st = store()
    token = request.values.get("token", "")
    with st.tx():
        rec = st.refresh.get(token) or st.access.get(token)
        if rec is None or rec.get("revoked"):
            raise OAuthError(400, "invalid_token", "Token expired or revoked")
        revoke_grant(st, rec["email"], rec["client_id"])
    return jsonify({})


# -- OpenID Connect ----------------------------------------------------------------------------
def bearer_record(required_any=None):
    """The access-token record of this request, or raise Google's 401/403.

    ``required_any``: a set of scopes, any one of which suffices."""
    st = store()
    header = request.headers.get("Authorization", "")
    if not header:
        raise ApiError(401, "required", "Request is missing required authentication credential."
                       " Expected OAuth 2 access token, login cookie or other valid "
                       "authentication credential.", location="Authorization")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    with st.lock:
        rec = st.access.get(token)
        if rec is not None and rec["expires_at"] <= time.time():
            rec = None
        if rec is not None:
            rec = dict(rec)
    if rec is None:
        raise ApiError(401, "authError", "Request had invalid authentication credentials. "
                       "Expected OAuth 2 access token, login cookie or other valid "
                       "authentication credential.", location="Authorization")
    if required_any and not set(rec["scopes"]) & set(required_any):
        raise ApiError(403, "insufficientPermissions",
                       "Request had insufficient authentication scopes.",
                       status="PERMISSION_DENIED")
    return rec


@bp.route("/v1/userinfo", methods=["GET", "POST"])
@bp.route("/oauth2/v3/userinfo", methods=["GET", "POST"])
@bp.route("/oauth2/v2/userinfo", methods=["GET"])
def userinfo():
    rec = bearer_record()
    st = store()
    with st.lock:
        acct = dict(st.accounts[rec["email"]])
    out = {"sub": acct["sub"]}
    if has_scope(rec["scopes"], "email"):
        out.update(email=acct["email"], email_verified=True)
    if has_scope(rec["scopes"], "profile"):
        out.update(profile_claims(acct))
    return jsonify(out)


@bp.route("/oauth2/v3/certs")
def certs():
    from cryptography.hazmat.primitives import serialization
    entry = store().signing_key_pem()
    pub = serialization.load_pem_private_key(entry["pem"].encode(), None).public_key()
    nums = pub.public_numbers()

    def enc(n):
        return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return jsonify({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": entry["kid"],
                              "n": enc(nums.n), "e": enc(nums.e)}]})


@bp.route("/.well-known/openid-configuration")
def openid_configuration():
    base = issuer()
    return jsonify({
        "issuer": base,
        "authorization_endpoint": base + "/o/oauth2/v2/auth",
        "token_endpoint": base + "/token",
        "userinfo_endpoint": base + "/v1/userinfo",
        "revocation_endpoint": base + "/revoke",
        "jwks_uri": base + "/oauth2/v3/certs",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "family_name",
                             "given_name", "iat", "iss", "name", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    })
