"""Secrets at rest: Fernet with a key derived from ENCRYPTION_KEY (or SECRET_KEY)."""
import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

log = logging.getLogger(__name__)
_warned = False


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (the key changed); it must be entered again."""


def _fernet():
    global _warned
    key_material = current_app.config.get("ENCRYPTION_KEY")
    if not key_material:
        if not _warned:
            log.warning("ENCRYPTION_KEY is not set; deriving the secrets key from SECRET_KEY")
            _warned = True
        key_material = current_app.config["SECRET_KEY"]
    digest = hashlib.sha256(("portal-secrets:" + key_material).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext):
    if plaintext is None:
        return None
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token):
    if token is None:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("stored secret cannot be decrypted with the current key") from exc


def mask(secret, visible=4):
    """What a page may show of a secret: its last few characters."""
    if not secret:
        return ""
    return "\u2022" * 8 + secret[-visible:]
