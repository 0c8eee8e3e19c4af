"""Secrets at rest: Fernet, with keys derived from ``ENCRYPTION_KEYS`` / ``ENCRYPTION_KEY``.

Several keys may be configured (``ENCRYPTION_KEYS=new,old``): the first encrypts, every one
decrypts, so a key can be rotated without a window where stored secrets are unreadable:
add the new key in front, run ``flask secrets rotate`` (which re-encrypts every stored
secret with the first key), then drop the old one. Outside development a key is required
(see portal/config.py); in development it falls back to one derived from ``SECRET_KEY``.
"""
import base64
import hashlib
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

log = logging.getLogger(__name__)
_warned = False

#: columns holding secrets are named like this, in every model (see :func:`reencrypt_all`)
ENCRYPTED_SUFFIX = "_encrypted"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (the key changed); it must be entered again."""


def key_materials(config):
    """The configured key materials, the encrypting one first."""
    keys = config.get("ENCRYPTION_KEYS") or []
    if isinstance(keys, str):
        keys = keys.split(",")
    keys = [k.strip() for k in keys if k and k.strip()]
    if not keys and config.get("ENCRYPTION_KEY"):
        keys = [config["ENCRYPTION_KEY"]]
    return keys


@lru_cache(maxsize=8)
def _multi_fernet(materials):
    return MultiFernet([Fernet(base64.urlsafe_b64encode(
        hashlib.sha256(("portal-secrets:" + m).encode()).digest())) for m in materials])


def _fernet():
    global _warned
    materials = key_materials(current_app.config)
    if not materials:
        if not _warned:
            log.warning("ENCRYPTION_KEY is not set; deriving the secrets key from SECRET_KEY")
            _warned = True
        materials = [current_app.config["SECRET_KEY"]]
    return _multi_fernet(tuple(materials))


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


def reencrypt(token):
    """``token`` encrypted again with the first key (raises :class:`SecretUnreadable`)."""
    if token is None:
        return None
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("stored secret cannot be decrypted with any key") from exc


def reencrypt_all(db):
    """Re-encrypt every stored secret (every ``*_encrypted`` column of every table) with the
    first key. Flushes; the caller commits. Returns ``(re-encrypted, unreadable)`` counts;
    unreadable values are left as they are (those secrets must be entered again)."""
    from sqlalchemy import select, update

    done = unreadable = 0
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name.endswith(ENCRYPTED_SUFFIX)]
        if not columns:
            continue
        keys = list(table.primary_key.columns)
        for row in db.session.execute(select(*keys, *columns)).all():
            values = {}
            for column in columns:
                token = row._mapping[column]
                if token is None:
                    continue
                try:
                    values[column.name] = reencrypt(token)
                    done += 1
                except SecretUnreadable:
                    unreadable += 1
                    log.warning("%s.%s of row %s cannot be decrypted with any key",
                                table.name, column.name, [row._mapping[k] for k in keys])
            if values:
                db.session.execute(update(table).where(
                    *[k == row._mapping[k] for k in keys]).values(**values))
    db.session.flush()
    return done, unreadable


def mask(secret, visible=4):
    """What a page may show of a secret: its last few characters."""
    if not secret:
        return ""
    return "\u2022" * 8 + secret[-visible:]
