"""Demo data for ``flask seed-demo``: a living CRM for a newcomer."""
import random
import unicodedata
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.core.timezones import local_to_utc
from portal.crm.models import Activity, ActivityType, Contact, ContactEmail, ContactPhone, Tag
from portal.crm.services import ensure_default_activity_types
from portal.extensions import db

DEMO_USERS = [
    ("admin@example.com", "Ada Admin", "admin", "Europe/Madrid", "ada-admin-demo"),
    ("sam@example.com", "Sam Sales", "user", "Europe/Madrid", "sam-sales-demo"),
    ("rita@example.com", "Rita Service", "user", "America/New_York", "rita-service-demo"),
]
CONTACTS = [
    ("Lucía", "Fernández", "Acme Iberia", "Purchasing lead"),
    ("Jonas", "Weber", "Nordlicht GmbH", "CTO"),
    ("Priya", "Natarajan", "Kite Labs", "Operations"),
    ("Tom", "O'Brien", "Harbour Foods", "Owner"),
    ("Mei", "Chen", "Bamboo Logistics", "Buyer"),
    ("Amara", "Okafor", "Sunrise Energy", "Project manager"),
]
SUBJECTS = {
    "Call": ["Follow-up call", "Pricing call", "Support check-in", "Renewal call"],
    "Meeting": ["Quarterly review", "Product demo", "Kick-off meeting", "Site visit"],
    "Task": ["Send proposal", "Prepare contract", "Update forecast", "Write recap"],
}


def seed(only_if_empty=True, today=None):
    """Create the demo; returns the (email, password) logins, or [] when skipped."""
    if only_if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        return []
    rng = random.Random(42)
    ensure_default_activity_types()
    users = [accounts.create_user(email=e, name=n, role=r, time_zone=z, password=p)
             for e, n, r, z, p in DEMO_USERS]
    types = {t.name: t for t in db.session.scalars(select(ActivityType))}
    corporate = Tag(name="Key account", visibility="corporate", owner=users[0])
    public = Tag(name="Prospect", visibility="public", owner=users[1])
    contacts = []
    for i, (first, last, org, title) in enumerate(CONTACTS):
        owner = users[1 + i % 2]
        slug = _ascii(first + "." + last).lower().replace("'", "")
        contact = Contact(owner=owner, first_name=first, last_name=last, organization=org,
                          job_title=title, city=rng.choice(["Madrid", "Berlin", "Boston", "Lagos"]))
        contact.emails.append(ContactEmail(email=f"{slug}@example.org", label="work"))
        contact.phones.append(ContactPhone(number=f"+34 600 000 {100 + i}", label="mobile"))
        contact.tags.append(corporate if i % 3 == 0 else public)
        contacts.append(contact)
        db.session.add(contact)
    today = today or datetime.now(timezone.utc).date()
    monday = today - timedelta(days=today.weekday())
    for user in users:
        for day_offset in range(-7, 21):
            day = monday + timedelta(days=day_offset)
            if day.weekday() >= 5 or rng.random() < 0.45:
                continue
            type_name = rng.choice(list(SUBJECTS))
            _demo_activity(rng, user, types[type_name], day, contacts, users, today)
    db.session.commit()
    return [(e, p) for e, _, _, _, p in DEMO_USERS]


def reset(today=None):
    """Start the demo over: every row of every table is deleted (the schema stays, so no
    migration or reinstall is needed), the rows the migrations seed (activity types, cron
    tasks) come back, then the demo is seeded again. Returns the logins."""
    from portal.scheduler.services import ensure_default_tasks

    # Children before parents, so foreign keys never see a dangling row.
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    ensure_default_tasks()
    return seed(only_if_empty=False, today=today)


def _ascii(text):
    """Lucía -> Lucia, for demo email addresses."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _demo_activity(rng, user, activity_type, day, contacts, users, today):
    subject = rng.choice(SUBJECTS[activity_type.name])
    contact = rng.choice(contacts)
    activity = Activity(subject=f"{subject}: {contact.organization}", activity_type=activity_type,
                        organizer=user, created_by=user, time_zone=user.time_zone,
                        status="Held" if day < today else "Planned",
                        priority=rng.choice(["Low", "Medium", "High"]),
                        location=rng.choice(["", "Office", "Video call", contact.organization]))
    if activity_type.name == "Task" and rng.random() < 0.5:
        activity.all_day, activity.start_date, activity.end_date = True, day, day
    else:
        start = local_to_utc(datetime.combine(day, time(rng.choice(range(8, 17)), rng.choice([0, 30]))),
                             user.time_zone)
        activity.start_at = start
        activity.end_at = start + timedelta(minutes=rng.choice([30, 45, 60, 90]))
    activity.invitees.append(contact)
    if activity_type.name == "Meeting":
        other = rng.choice([u for u in users if u is not user])
        activity.participants.append(other)
    db.session.add(activity)
