"""A user's other email addresses ("Communication options"). Google meetings often reach
people at an address that is not their CRM login (a Gmail account, an alias): every address
listed here is that user, as organizer and as attendee. Services flush; the request commits.
"""
from sqlalchemy import func, select

from portal.accounts.models import User, UserEmail
from portal.accounts.services import AccountError, normalize_email
from portal.extensions import db

#: a user lists at most this many other addresses
MAX_OTHER_EMAILS = 10


def other_emails(user):
    """The user's other addresses, in the order they were added."""
    return db.session.scalars(select(UserEmail).where(UserEmail.user_id == user.id)
                              .order_by(UserEmail.id)).all()


def address_taken(email, user=None):
    """True when ``email`` is someone's login or other address (``user``'s own login aside)."""
    email = normalize_email(email)
    login = db.session.scalar(select(User.id).where(User.email == email))
    if login is not None and (user is None or login != user.id):
        return True
    return db.session.scalar(select(UserEmail.id).where(UserEmail.email == email)) is not None


def add_email(user, email):
    """Add another address for ``user``; :class:`AccountError` says why it cannot be."""
    email = normalize_email(email)
    if email == user.email:
        raise AccountError("That is already your login email.")
    if address_taken(email, user):
        raise AccountError(f"{email} already belongs to a user of the portal.")
    count = db.session.scalar(select(func.count(UserEmail.id))
                              .where(UserEmail.user_id == user.id))
    if count >= MAX_OTHER_EMAILS:
        raise AccountError(f"You can list at most {MAX_OTHER_EMAILS} other addresses.")
    row = UserEmail(user_id=user.id, email=email)
    db.session.add(row)
    db.session.flush()
    return row


def remove_email(user, email_id):
    """Remove one of ``user``'s own other addresses; False when it is not theirs."""
    row = db.session.get(UserEmail, email_id) if 0 < email_id <= 2**31 - 1 else None
    if row is None or row.user_id != user.id:
        return False
    db.session.delete(row)
    db.session.flush()
    return True
