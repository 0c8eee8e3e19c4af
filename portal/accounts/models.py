"""Users and roles."""
import hmac
import secrets

from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from portal.core.types import UTCDateTime, utcnow
from portal.extensions import db, login_manager

ROLE_ADMIN = "admin"
ROLE_USER = "user"
ROLES = (ROLE_ADMIN, ROLE_USER)

#: the largest id an integer primary key can hold (PostgreSQL ``integer``)
MAX_ID = 2**31 - 1


def new_session_token():
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: login and the address matched against Google attendees; stored lower-case
    email: Mapped[str] = mapped_column(db.String(254), unique=True)
    name: Mapped[str] = mapped_column(db.String(120))
    password_hash: Mapped[str] = mapped_column(db.String(255))
    #: "admin" or "user"
    role: Mapped[str] = mapped_column(db.String(16), default=ROLE_USER)
    #: deactivated users cannot log in; their activities stay
    active: Mapped[bool] = mapped_column(default=True)
    #: IANA zone name; every time the user sees or types is in this zone
    time_zone: Mapped[str] = mapped_column(db.String(64), default="UTC")
    created_at = mapped_column(UTCDateTime, default=utcnow)
    #: part of the id in every session and remember cookie of this user; a new one (logout,
    #: password change, deactivation) ends them all
    session_token: Mapped[str] = mapped_column(db.String(64), default=new_session_token)

    def get_id(self):
        """Flask-Login's "alternative id": the session and the remember cookie carry the
        token too, so they stop working as soon as it changes."""
        if not self.session_token:
            self.session_token = new_session_token()
        return f"{self.id}:{self.session_token}"

    def end_sessions(self):
        """Log this user out everywhere (every browser, every remember cookie)."""
        self.session_token = new_session_token()

    @property
    def is_active(self):
        return self.active

    @property
    def is_admin(self):
        return self.role == ROLE_ADMIN

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __repr__(self):
        return f"<User {self.email}>"


class UserEmail(db.Model):
    """Another address of a user ("Communication options"): a Google attendee or organizer
    with this address is that user, so a meeting sent to their Gmail address still lands on
    their CRM calendar. Addresses are unique across users and primary logins."""

    __tablename__ = "user_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    #: lower-case
    email: Mapped[str] = mapped_column(db.String(254), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)


@login_manager.user_loader
def load_user(user_id):
    """The user of a session or remember cookie ("<id>:<session token>"), checked on every
    request: None (logged out) for an ended session, a deactivated user or a malformed id."""
    user_key, _, token = (user_id or "").partition(":")
    if not (user_key.isdigit() and 0 < len(user_key) <= 10 and token):
        return None
    user = db.session.get(User, int(user_key)) if int(user_key) <= MAX_ID else None
    if user is None or not user.active or not user.session_token \
            or not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user
