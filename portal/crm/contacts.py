"""Contact and tag services: who may see what, search, and saving. Services flush; the
request commits.

Visibility rules (as in Creatio):

* A contact belongs to its owner. A user sees and edits their own contacts; an admin sees and
  edits every contact. Anyone else is told the contact does not exist (404), so ids leak
  nothing.
* A tag is *private* (seen and managed by its owner only), *public* (created by any user,
  seen by everyone, renamed or deleted by its creator or an admin) or *corporate* (created,
  renamed and deleted by admins only, seen by everyone). A user may attach any tag they can
  see to a contact they may edit.
* Private means private from admins too: another user's private tags are never shown to
  anyone but their owner — not in the tag filter, not on the list, not on a contact's page
  when an admin opens someone else's contact. Editing a contact only touches the tags the
  editor can see, so an admin saving a user's contact keeps that user's private tags on it.
"""
from dataclasses import dataclass
from datetime import date

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, exists, func, or_, select

from portal.accounts.models import User
from portal.crm.models import (TAG_CORPORATE, TAG_PRIVATE, TAG_PUBLIC, TAG_VISIBILITIES,
                               Activity, Contact, ContactEmail, ContactPhone, Tag,
                               activity_participants, contact_tags)
from portal.extensions import db

LABELS = ("work", "home", "mobile", "other")
SORTS = {
    "name": "Name (A-Z)",
    "-name": "Name (Z-A)",
    "organization": "Organization",
    "-modified": "Recently changed",
}
TAG_NAME_MAX = 64
#: the order tags are listed in: shared ones first, then the viewer's own
_VISIBILITY_ORDER = {TAG_CORPORATE: 0, TAG_PUBLIC: 1, TAG_PRIVATE: 2}


class ContactError(ValueError):
    """A contact rule was broken. ``field`` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class TagError(ValueError):
    """A tag rule was broken; the message is shown to the person."""


# --- tags -----------------------------------------------------------------------------------

def _visible_tag_clause(user):
    shared = Tag.visibility.in_((TAG_PUBLIC, TAG_CORPORATE))
    return or_(shared, and_(Tag.visibility == TAG_PRIVATE, Tag.owner_id == user.id))


def visible_tags(user):
    """Every tag ``user`` may see and attach: corporate, public, then their own private ones.

    Admins get no extra private tags: another user's private tags stay theirs alone.
    """
    tags = db.session.scalars(select(Tag).where(_visible_tag_clause(user))).all()
    return sorted(tags, key=lambda t: (_VISIBILITY_ORDER.get(t.visibility, 9), t.name.lower()))


def tag_is_visible(tag, user):
    return tag.visibility != TAG_PRIVATE or tag.owner_id == user.id


def get_visible_tag(tag_id, user):
    """The tag with this id when ``user`` may see it, else None (never someone's private tag)."""
    tag = db.session.get(Tag, tag_id) if tag_id else None
    return tag if tag is not None and tag_is_visible(tag, user) else None


def can_manage_tag(user, tag):
    """May ``user`` rename or delete ``tag``?

    Private: its owner. Public: its creator or an admin. Corporate: admins only.
    """
    if tag.visibility == TAG_PRIVATE:
        return tag.owner_id == user.id
    if tag.visibility == TAG_CORPORATE:
        return user.is_admin
    return user.is_admin or tag.owner_id == user.id


def tag_visibility_choices(user):
    """The kinds of tag ``user`` may create."""
    choices = [(TAG_PRIVATE, "Private (only me)"), (TAG_PUBLIC, "Public (everyone)")]
    if user.is_admin:
        choices.append((TAG_CORPORATE, "Corporate (everyone, managed by admins)"))
    return choices


def _clean_tag_name(name):
    name = " ".join((name or "").split())
    if not name:
        raise TagError("Enter a tag name.")
    if len(name) > TAG_NAME_MAX:
        raise TagError(f"A tag name has at most {TAG_NAME_MAX} characters.")
    return name


def _tag_name_clash(name, visibility, owner, exclude=None):
    """An existing tag this new name would be confused with, compared case-insensitively.

    Shared (public and corporate) names are unique among shared tags; a private name is unique
    among the owner's private tags and may not repeat a shared name. A shared name may repeat
    someone's private name: refusing it would reveal that private tag.
    """
    lowered = func.lower(Tag.name) == name.lower()
    shared = Tag.visibility.in_((TAG_PUBLIC, TAG_CORPORATE))
    if visibility == TAG_PRIVATE:
        scope = or_(shared, and_(Tag.visibility == TAG_PRIVATE, Tag.owner_id == owner.id))
    else:
        scope = shared
    query = select(Tag).where(lowered, scope)
    if exclude is not None:
        query = query.where(Tag.id != exclude.id)
    return db.session.scalars(query.limit(1)).first()


def _clash_message(clash, name):
    kind = "private tag of yours" if clash.visibility == TAG_PRIVATE else f"{clash.visibility} tag"
    return f"There is already a {kind} named \u201c{clash.name}\u201d."


def create_tag(user, name, visibility=TAG_PRIVATE):
    """A new tag owned by ``user``; corporate tags only for admins."""
    if visibility not in TAG_VISIBILITIES:
        raise TagError("Choose private, public or corporate.")
    if visibility == TAG_CORPORATE and not user.is_admin:
        raise TagError("Only admins create corporate tags.")
    name = _clean_tag_name(name)
    clash = _tag_name_clash(name, visibility, user)
    if clash is not None:
        raise TagError(_clash_message(clash, name))
    tag = Tag(name=name, visibility=visibility, owner_id=user.id)
    db.session.add(tag)
    db.session.flush()
    return tag


def rename_tag(user, tag, name):
    if not can_manage_tag(user, tag):
        raise TagError("You may not rename this tag.")
    name = _clean_tag_name(name)
    owner = db.session.get(User, tag.owner_id)
    clash = _tag_name_clash(name, tag.visibility, owner, exclude=tag)
    if clash is not None:
        raise TagError(_clash_message(clash, name))
    tag.name = name
    db.session.flush()
    return tag


def delete_tag(user, tag):
    """Delete the tag and take it off every contact."""
    if not can_manage_tag(user, tag):
        raise TagError("You may not delete this tag.")
    db.session.execute(contact_tags.delete().where(contact_tags.c.tag_id == tag.id))
    db.session.delete(tag)
    db.session.flush()


def tag_usage(user, tags):
    """{tag id: number of contacts ``user`` can see that carry it}."""
    if not tags:
        return {}
    query = (select(contact_tags.c.tag_id, func.count())
             .join(Contact, Contact.id == contact_tags.c.contact_id)
             .where(contact_tags.c.tag_id.in_([t.id for t in tags]))
             .group_by(contact_tags.c.tag_id))
    if not user.is_admin:
        query = query.where(Contact.owner_id == user.id)
    return dict(db.session.execute(query).all())


def contact_tags_for(contact, user):
    """The tags on ``contact`` that ``user`` may see."""
    return [t for t in contact.tags if tag_is_visible(t, user)]


# --- contacts -------------------------------------------------------------------------------

def can_view_contact(user, contact):
    return bool(user and user.is_authenticated) and (user.is_admin or contact.owner_id == user.id)


def can_edit_contact(user, contact):
    """Owners edit their own contacts, admins every contact."""
    return can_view_contact(user, contact)


def get_contact_for(user, contact_id):
    """The contact when ``user`` may see it, else None (callers answer 404)."""
    contact = db.session.get(Contact, contact_id)
    if contact is None or not can_view_contact(user, contact):
        return None
    return contact


def visible_contacts_query(user):
    """A select of the contacts ``user`` may see (e.g. for an invitee picker)."""
    query = select(Contact)
    if not user.is_admin:
        query = query.where(Contact.owner_id == user.id)
    return query


def contacts_for_picker(user):
    return db.session.scalars(visible_contacts_query(user)
                              .order_by(func.lower(Contact.last_name),
                                        func.lower(Contact.first_name))).all()


def _term_clause(term):
    pattern = f"%{_escape_like(term.lower())}%"
    email_match = exists().where(ContactEmail.contact_id == Contact.id,
                                 ContactEmail.email.like(pattern, escape="\\"))
    return or_(func.lower(Contact.first_name).like(pattern, escape="\\"),
               func.lower(Contact.last_name).like(pattern, escape="\\"),
               func.lower(Contact.organization).like(pattern, escape="\\"),
               email_match)


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_contacts(user, q="", tag_id=None, owner_id=None, sort="name", page=1, per_page=25):
    """A page (Flask-SQLAlchemy Pagination) of the contacts ``user`` may see.

    ``q`` is split into words; each word must match the first name, last name, organization or
    one of the emails, ignoring case, so "ana acme" finds Ana at Acme. ``tag_id`` filters by a
    tag the user can see (an invisible or unknown tag filters nothing, revealing nothing).
    ``owner_id`` narrows an admin's list to one owner. ``sort`` is a key of SORTS.
    """
    query = visible_contacts_query(user)
    for term in (q or "").split():
        query = query.where(_term_clause(term))
    tag = get_visible_tag(tag_id, user)
    if tag is not None:
        query = query.where(exists().where(contact_tags.c.contact_id == Contact.id,
                                           contact_tags.c.tag_id == tag.id))
    if owner_id and user.is_admin:
        query = query.where(Contact.owner_id == owner_id)
    last, first = func.lower(Contact.last_name), func.lower(Contact.first_name)
    order = {
        "name": (last.asc(), first.asc()),
        "-name": (last.desc(), first.desc()),
        "organization": (func.lower(Contact.organization).asc(), last.asc(), first.asc()),
        "-modified": (Contact.modified_at.desc(),),
    }.get(sort, (last.asc(), first.asc()))
    query = query.order_by(*order, Contact.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def normalize_email(raw):
    """A valid address, lower-cased, or ContactError."""
    raw = (raw or "").strip()
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ContactError(f"{raw} is not a valid email address: {exc}") from exc
    return checked.normalized.lower()


@dataclass
class ContactData:
    """What a form (or the demo, or an import) gives to ``save_contact``.

    ``emails`` and ``phones`` are lists of (value, label) in display order; blank values are
    skipped. ``tag_ids`` are the tags chosen among those the editor can see.
    """

    last_name: str
    first_name: str = ""
    organization: str = ""
    job_title: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""
    birthday: date | None = None
    notes: str = ""
    emails: list = None
    phones: list = None
    tag_ids: list = None
    owner_id: int | None = None


def save_contact(editor, data, contact=None, today=None):
    """Create (``contact`` None) or update a contact from ``data`` on behalf of ``editor``.

    Raises ContactError naming the field at fault. Tags the editor cannot see stay as they
    are; tags the editor may not attach are refused. Only admins may set another owner.
    """
    if contact is not None and not can_edit_contact(editor, contact):
        raise ContactError("You may not edit this contact.")
    last_name = (data.last_name or "").strip()
    if not last_name:
        raise ContactError("Enter a last name.", "last_name")
    if data.birthday is not None and data.birthday > (today or date.today()):
        raise ContactError("A birthday cannot be in the future.", "birthday")
    emails = _clean_emails(data.emails or [])
    phones = [((n or "").strip(), _label(lbl)) for n, lbl in (data.phones or []) if (n or "").strip()]
    owner_id = editor.id
    if contact is not None:
        owner_id = contact.owner_id
    if data.owner_id and data.owner_id != owner_id:
        if not editor.is_admin:
            raise ContactError("Only admins may give a contact to another user.", "owner_id")
        if db.session.get(User, data.owner_id) is None:
            raise ContactError("Choose an existing user.", "owner_id")
        owner_id = data.owner_id
    visible = {t.id: t for t in visible_tags(editor)}
    unknown = [i for i in (data.tag_ids or []) if i not in visible]
    if unknown:
        raise ContactError("Choose tags from the list.", "tags")

    if contact is None:
        contact = Contact(owner_id=owner_id)
        db.session.add(contact)
    contact.owner_id = owner_id
    contact.last_name = last_name
    for field in ("first_name", "organization", "job_title", "street", "city", "postal_code",
                  "region", "country"):
        setattr(contact, field, (getattr(data, field) or "").strip())
    contact.notes = (data.notes or "").strip()
    contact.birthday = data.birthday
    _replace_emails(contact, emails)
    _replace_phones(contact, phones)
    hidden = [t for t in contact.tags if t.id not in visible]
    contact.tags = hidden + [visible[i] for i in dict.fromkeys(data.tag_ids or [])]
    db.session.flush()
    return contact


def _label(label):
    return label if label in LABELS else "other"


def _clean_emails(rows):
    cleaned, seen = [], set()
    for index, (raw, label) in enumerate(rows):
        if not (raw or "").strip():
            continue
        try:
            email = normalize_email(raw)
        except ContactError as exc:
            raise ContactError(str(exc), f"emails-{index}") from exc
        if email in seen:
            raise ContactError(f"{email} is listed twice.", f"emails-{index}")
        seen.add(email)
        cleaned.append((email, _label(label)))
    return cleaned


def _replace_emails(contact, emails):
    """Keep rows whose address stays (their ids), so links to them survive an edit."""
    existing = {e.email: e for e in contact.emails}
    rows = []
    for position, (email, label) in enumerate(emails):
        row = existing.pop(email, None) or ContactEmail(email=email)
        row.label, row.position = label, position
        rows.append(row)
    contact.emails = rows


def _replace_phones(contact, phones):
    existing = {p.number: p for p in contact.phones}
    rows = []
    for position, (number, label) in enumerate(phones):
        row = existing.pop(number, None) or ContactPhone(number=number)
        row.label, row.position = label, position
        rows.append(row)
    contact.phones = rows


def delete_contact(editor, contact):
    """Delete the contact; it is taken off the activities it was invited to."""
    if not can_edit_contact(editor, contact):
        raise ContactError("You may not delete this contact.")
    db.session.delete(contact)
    db.session.flush()


def invited_activities(contact, user, limit=20):
    """Activities ``contact`` is invited to that ``user`` takes part in (all, for admins)."""
    query = select(Activity).where(Activity.invitees.any(Contact.id == contact.id))
    if not user.is_admin:
        query = query.where(or_(
            Activity.organizer_id == user.id,
            exists().where(activity_participants.c.activity_id == Activity.id,
                           activity_participants.c.user_id == user.id)))
    activities = db.session.scalars(query).all()
    # Timed and all-day activities keep their start in different columns; sort them together.
    activities.sort(key=lambda a: a.start_date.isoformat() if a.all_day and a.start_date
                    else (a.start_at.date().isoformat() + a.start_at.strftime("T%H:%M")
                          if a.start_at else ""), reverse=True)
    return activities[:limit]


def owners_for_filter():
    """Users an admin can filter the contact list by or give a contact to."""
    return db.session.scalars(select(User).order_by(User.name)).all()
