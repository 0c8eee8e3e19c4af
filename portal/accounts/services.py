"""Account operations. Services flush; the request commits."""
import secrets
from functools import lru_cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.accounts.models import ROLE_ADMIN, User
from portal.accounts.passwords import password_problem
from portal.extensions import db


class AccountError(ValueError):
    """A rule about users was broken; the message is shown to the person."""


class PasswordRejected(AccountError):
    """The password breaks the password rules (see portal/accounts/passwords.py)."""


def normalize_email(email):
    return (email or "").strip().lower()


def find_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def authenticate(email, password):
    """The active user with these credentials, or None (one answer for every failure).

    A password is hashed whatever the email, so an unknown or deactivated account answers in
    the same time as a wrong password (no probing which emails have accounts)."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


@lru_cache(maxsize=1)
def _dummy_hash():
    return generate_password_hash(secrets.token_urlsafe(16))


def create_user(*, email, name, password, role="user", time_zone="UTC", active=True):
    email = normalize_email(email)
    if find_by_email(email) is not None or _another_users_address(email):
        raise AccountError(f"A user with the email {email} already exists.")
    problem = password_problem(password, email)
    if problem:
        raise PasswordRejected(problem)
    user = User(email=email, name=name.strip(), role=role, time_zone=time_zone, active=active)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user, password):
    """Give ``user`` a new password (checked against the rules; ``PasswordRejected``) and
    end every session of theirs (the caller may log the current browser in again)."""
    problem = password_problem(password, user.email)
    if problem:
        raise PasswordRejected(problem)
    user.set_password(password)
    user.end_sessions()
    db.session.flush()


def update_user(user, *, email, name, time_zone, role=None, active=None):
    email = normalize_email(email)
    other = find_by_email(email)
    if other is not None and other.id != user.id:
        raise AccountError(f"A user with the email {email} already exists.")
    if email != user.email and _another_users_address(email, user):
        raise AccountError(f"{email} is another user's address.")
    demoting = (role is not None and role != ROLE_ADMIN) or active is False
    if user.is_admin and demoting and _other_active_admins(user) == 0:
        raise AccountError("This is the last active admin; make someone else admin first.")
    user.email, user.name, user.time_zone = email, name.strip(), time_zone
    if role is not None:
        user.role = role
    if active is not None:
        if user.active and not active:
            user.end_sessions()
        user.active = active
    db.session.flush()
    return user


def _another_users_address(email, user=None):
    """True when ``email`` is listed among another user's other addresses."""
    from portal.accounts.models import UserEmail

    owner = db.session.scalar(select(UserEmail.user_id).where(UserEmail.email == email))
    return owner is not None and (user is None or owner != user.id)


def _other_active_admins(user):
    return db.session.scalar(select(func.count(User.id)).where(
        User.role == ROLE_ADMIN, User.active.is_(True), User.id != user.id))
