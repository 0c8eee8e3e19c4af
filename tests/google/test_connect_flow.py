"""Authorize and Connect through googlesim with the real authlib and google clients."""
from portal.extensions import db
from portal.google.models import GoogleConnection

CAL = "https://www.googleapis.com/auth/calendar"


def _connection(user):
    db.session.expire_all()
    return db.session.scalars(db.select(GoogleConnection).filter_by(user_id=user.id)).first()


def test_connect_stores_encrypted_tokens_and_shows_the_account(client, make_user, login,
                                                               configured, connect, sim,
                                                               page_text, activity_types):
    user = make_user()
    login(client, user)
    response = connect(client, "sam.g@example.com")
    text = page_text(response)
    assert "Connected to Google as sam.g@example.com" in text
    conn = _connection(user)
    assert conn.status == "connected"
    assert conn.google_email == "sam.g@example.com"
    assert CAL in conn.scope_list
    assert conn.refresh_token_encrypted and "gsim" not in conn.refresh_token_encrypted
    assert conn.token_expires_at is not None
    # the tokens work: googlesim lists the account's calendars through them
    assert "sam.g@example.com (primary)" in text
