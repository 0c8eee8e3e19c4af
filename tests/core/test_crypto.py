"""Secrets at rest: a key is required in production, several keys decrypt (the first
encrypts), and `flask secrets rotate` re-encrypts every stored secret with the first key."""
import pytest

from portal import create_app
from portal.config import ConfigError
from portal.core import crypto
from portal.extensions import db


def test_production_without_an_encryption_key_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-key")
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("ENCRYPTION_KEYS", raising=False)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEY is not set"):
        create_app()
    monkeypatch.setenv("ENCRYPTION_KEYS", "new-key, old-key")
    app = create_app()
    assert app.config["ENCRYPTION_KEYS"] == ["new-key", "old-key"]


def test_the_first_key_encrypts_and_every_key_decrypts(app, monkeypatch):
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", ["old-key"])
    old_token = crypto.encrypt("refresh-token")
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", ["new-key", "old-key"])
    assert crypto.decrypt(old_token) == "refresh-token"
    new_token = crypto.encrypt("access-token")
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", ["new-key"])
    assert crypto.decrypt(new_token) == "access-token"
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(old_token)


def test_rotate_reencrypts_every_stored_secret_with_the_first_key(app, connect_user,
                                                                  monkeypatch):
    """The admin's client secret and API key, and every user's tokens."""
    from portal.google import services
    from portal.google.models import GoogleCredentials

    # Written under the old key (the suite's ENCRYPTION_KEY)...
    ann, _ = connect_user()
    creds = services.get_credentials()
    creds.api_key_encrypted = crypto.encrypt("api-key-1234567890")
    db.session.commit()
    bob, _ = connect_user("bob@example.com")
    broken = services.get_connection(bob)  # one token no key can read: left, and reported
    broken.refresh_token_encrypted = "not-a-fernet-token"
    db.session.commit()
    plain = {"secret": crypto.decrypt(creds.client_secret_encrypted),
             "refresh": crypto.decrypt(services.get_connection(ann).refresh_token_encrypted)}

    # ...then a new key goes in front, and rotate runs.
    old = app.config["ENCRYPTION_KEY"]
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", ["the-new-key", old])
    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])
    assert "5 secret(s) re-encrypted" in result.output  # secret, API key, 3 tokens
    assert result.exit_code == 1 and "1 secret(s) cannot be decrypted" in result.output

    # With the old key gone, everything rotated still reads.
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", ["the-new-key"])
    db.session.expire_all()
    creds = db.session.scalars(db.select(GoogleCredentials)).one()
    assert crypto.decrypt(creds.client_secret_encrypted) == plain["secret"]
    assert crypto.decrypt(creds.api_key_encrypted) == "api-key-1234567890"
    conn = services.get_connection(ann)
    assert crypto.decrypt(conn.refresh_token_encrypted) == plain["refresh"]
    assert crypto.decrypt(conn.access_token_encrypted)
    assert services.list_calendars(ann)  # and Google still accepts them
