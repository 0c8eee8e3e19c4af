"""The Authlib registration for Google's OAuth web flow.

Authlib caches one client per registered name, built from the settings given at
registration. The portal's settings live in the database (the admin may change them at any
time, in any process), so :func:`google_oauth` compares what it registered with the current
credentials and endpoints on every use and re-registers when they differ.
"""
import hashlib
import threading

from flask import current_app

from portal.core import crypto
from portal.extensions import oauth
from portal.google.client import SCOPES
from portal.google.urls import google_endpoints

NAME = "google"
_lock = threading.Lock()
_registered_fingerprint = {}


def current_endpoints():
    """Google's endpoints for this app, from ``GOOGLE_BASE_URL`` read now (not at import)."""
    return google_endpoints(current_app.config.get("GOOGLE_BASE_URL"))


def _fingerprint(client_id, client_secret, endpoints):
    raw = "\n".join([client_id, client_secret, repr(endpoints)])
    return hashlib.sha256(raw.encode()).hexdigest()


def google_oauth(credentials):
    """The Authlib client for ``credentials`` (a GoogleCredentials row), registered anew
    whenever the client id, secret or endpoints changed since the last registration."""
    endpoints = current_endpoints()
    client_secret = crypto.decrypt(credentials.client_secret_encrypted)
    fingerprint = _fingerprint(credentials.client_id, client_secret, endpoints)
    with _lock:
        if _registered_fingerprint.get(id(oauth)) != fingerprint or \
                NAME not in oauth._clients:
            # authlib has no public "unregister": drop the cached client so register()
            # builds a new one with the new settings.
            oauth._clients.pop(NAME, None)
            oauth._registry.pop(NAME, None)
            oauth.register(
                NAME,
                client_id=credentials.client_id,
                client_secret=client_secret,
                authorize_url=endpoints.authorize,
                access_token_url=endpoints.token,
                userinfo_endpoint=endpoints.userinfo,
                jwks_uri=endpoints.jwks,
                client_kwargs={"scope": " ".join(SCOPES), "code_challenge_method": "S256",
                               "default_timeout": 20},
                authorize_params={"access_type": "offline", "prompt": "consent",
                                  "include_granted_scopes": "true"},
            )
            _registered_fingerprint[id(oauth)] = fingerprint
        return oauth.create_client(NAME)
