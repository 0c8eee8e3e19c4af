"""sync links runs state

Revision ID: 20261122_05_sync
Revises: 20261122_04_google
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_05_sync'
down_revision = '20261122_04_google'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mapping_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('calendar_id', sa.String(length=255), nullable=False),
    sa.Column('event_id', sa.String(length=1024), nullable=False),
    sa.Column('ical_uid', sa.String(length=1024), nullable=False),
    sa.Column('etag', sa.String(length=255), nullable=False),
    sa.Column('google_updated_at', sa.DateTime(), nullable=True),
    sa.Column('synced_version', sa.Integer(), nullable=True),
    sa.Column('owner', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('html_link', sa.String(length=2048), nullable=False),
    sa.Column('recurring_event_id', sa.String(length=1024), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_event_links_activity_id_activities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mapping_id'], ['calendar_mappings.id'], name=op.f('fk_event_links_mapping_id_calendar_mappings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_event_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_links')),
    sa.UniqueConstraint('mapping_id', 'event_id', name='uq_event_links_mapping_id_event_id')
    )
    with op.batch_alter_table('event_links', schema=None) as batch_op:
        batch_op.create_index('ix_event_links_ical_uid', ['ical_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_links_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_links_mapping_id'), ['mapping_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_links_user_id'), ['user_id'], unique=False)

    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('mapping_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('conflicts', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['mapping_id'], ['calendar_mappings.id'], name=op.f('fk_sync_runs_mapping_id_calendar_mappings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_runs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs')),
    sa.UniqueConstraint('job_id', name=op.f('uq_sync_runs_job_id'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_runs_mapping_id'), ['mapping_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_runs_user_id'), ['user_id'], unique=False)

    op.create_table('sync_run_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.String(length=1024), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('versions', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sync_runs.id'], name=op.f('fk_sync_run_entries_run_id_sync_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_run_entries'))
    )
    with op.batch_alter_table('sync_run_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_run_entries_run_id'), ['run_id'], unique=False)

    op.create_table('external_attendees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('response_status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_external_attendees_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_attendees')),
    sa.UniqueConstraint('activity_id', 'email', name='uq_external_attendees_activity_id_email')
    )
    with op.batch_alter_table('external_attendees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_attendees_activity_id'), ['activity_id'], unique=False)


def downgrade():
    with op.batch_alter_table('external_attendees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_attendees_activity_id'))
    op.drop_table('external_attendees')
    with op.batch_alter_table('sync_run_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_run_entries_run_id'))
    op.drop_table('sync_run_entries')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_runs_user_id'))
        batch_op.drop_index(batch_op.f('ix_sync_runs_mapping_id'))
    op.drop_table('sync_runs')
    with op.batch_alter_table('event_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_links_user_id'))
        batch_op.drop_index(batch_op.f('ix_event_links_mapping_id'))
        batch_op.drop_index(batch_op.f('ix_event_links_activity_id'))
        batch_op.drop_index('ix_event_links_ical_uid')
    op.drop_table('event_links')
