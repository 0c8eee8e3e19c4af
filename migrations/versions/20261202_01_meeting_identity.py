"""shared meetings: users' other emails, answers, faithful reminders, meeting identity,
link roles and tombstone times

Revision ID: 20261202_01_meeting_identity
Revises: 20261122_09_long_texts
Create Date: 2026-12-02

"""
import json

from alembic import op
import sqlalchemy as sa


revision = '20261202_01_meeting_identity'
down_revision = '20261122_09_long_texts'
branch_labels = None
depends_on = None

NO_REMINDER = '{"useDefault":false,"overrides":[]}'


def upgrade():
    op.create_table(
        'user_emails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_user_emails_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_emails')),
        sa.UniqueConstraint('email', name=op.f('uq_user_emails_email')),
    )
    with op.batch_alter_table('user_emails') as batch:
        batch.create_index(batch.f('ix_user_emails_user_id'), ['user_id'], unique=False)

    op.create_table(
        'activity_responses',
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('response_status', sa.String(length=16), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], ondelete='CASCADE',
                                name=op.f('fk_activity_responses_activity_id_activities')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_activity_responses_user_id_users')),
        sa.PrimaryKeyConstraint('activity_id', 'user_id', name=op.f('pk_activity_responses')),
    )

    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('reminders', sa.Text(), nullable=False,
                                   server_default=NO_REMINDER))
        batch.add_column(sa.Column('origin', sa.String(length=8), nullable=False,
                                   server_default='crm'))
        batch.add_column(sa.Column('ical_uid', sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column('google_event_id', sa.String(length=1024), nullable=True))
        batch.create_index(batch.f('ix_activities_ical_uid'), ['ical_uid'], unique=False)

    conn = op.get_bind()
    # The single popup reminder becomes the first of Google's overrides.
    rows = conn.execute(sa.text("SELECT id, reminder_minutes FROM activities "
                                "WHERE reminder_minutes IS NOT NULL")).all()
    for activity_id, minutes in rows:
        value = json.dumps({"useDefault": False,
                            "overrides": [{"method": "popup", "minutes": int(minutes)}]},
                           separators=(",", ":"))
        conn.execute(sa.text("UPDATE activities SET reminders = :r WHERE id = :i"),
                     {"r": value, "i": activity_id})
    # What was imported from Google is of Google origin; every link knows its meeting.
    conn.execute(sa.text(
        "UPDATE activities SET origin = 'google' WHERE id IN (SELECT activity_id FROM "
        "event_links WHERE owner = 'google' AND activity_id IS NOT NULL)"))
    conn.execute(sa.text(
        "UPDATE activities SET ical_uid = (SELECT max(l.ical_uid) FROM event_links l "
        "WHERE l.activity_id = activities.id AND l.ical_uid <> ''), "
        "google_event_id = (SELECT max(l.event_id) FROM event_links l "
        "WHERE l.activity_id = activities.id)"))
    with op.batch_alter_table('activities') as batch:
        batch.drop_column('reminder_minutes')

    with op.batch_alter_table('activity_invitees') as batch:
        batch.add_column(sa.Column('response_status', sa.String(length=16), nullable=False,
                                   server_default='needsAction'))

    with op.batch_alter_table('event_links') as batch:
        batch.add_column(sa.Column('role', sa.String(length=16), nullable=False,
                                   server_default='organizer'))
        batch.add_column(sa.Column('crm_deleted_at', sa.DateTime(), nullable=True))
    # Imported events were read-only copies: guests until their next import says otherwise.
    conn.execute(sa.text("UPDATE event_links SET role = 'guest' WHERE owner = 'google'"))

    with op.batch_alter_table('external_attendees') as batch:
        batch.add_column(sa.Column('is_organizer', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('external_attendees') as batch:
        batch.drop_column('is_organizer')
    with op.batch_alter_table('event_links') as batch:
        batch.drop_column('crm_deleted_at')
        batch.drop_column('role')
    with op.batch_alter_table('activity_invitees') as batch:
        batch.drop_column('response_status')
    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('reminder_minutes', sa.Integer(), nullable=True))
    conn = op.get_bind()
    for activity_id, text in conn.execute(sa.text("SELECT id, reminders FROM activities")).all():
        try:
            overrides = json.loads(text or "{}").get("overrides") or []
        except ValueError:
            overrides = []
        popups = [o.get("minutes") for o in overrides if o.get("method") == "popup"]
        if popups:
            conn.execute(sa.text("UPDATE activities SET reminder_minutes = :m WHERE id = :i"),
                         {"m": max(popups), "i": activity_id})
    with op.batch_alter_table('activities') as batch:
        batch.drop_index(batch.f('ix_activities_ical_uid'))
        batch.drop_column('google_event_id')
        batch.drop_column('ical_uid')
        batch.drop_column('origin')
        batch.drop_column('reminders')
    op.drop_table('activity_responses')
    with op.batch_alter_table('user_emails') as batch:
        batch.drop_index(batch.f('ix_user_emails_user_id'))
    op.drop_table('user_emails')
