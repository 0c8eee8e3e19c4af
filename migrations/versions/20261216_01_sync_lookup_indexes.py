"""Indexes for the export's changed-set queries: event_links(mapping_id, activity_id) and
activity_participants(user_id)

Without them SQLite (no statistics) could probe "is this activity linked in this mapping?"
through the mapping_id index alone, scanning every link of the mapping for every activity:
an unchanged sync of 10,000 events then took ten seconds instead of milliseconds.

Revision ID: 20261216_01_sync_lookup_indexes
Revises: 20261214_02_conference_meet
Create Date: 2026-12-16

"""
from alembic import op


revision = '20261216_01_sync_lookup_indexes'
down_revision = '20261214_02_conference_meet'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_event_links_mapping_id_activity_id', 'event_links',
                    ['mapping_id', 'activity_id'])
    op.create_index('ix_activity_participants_user_id', 'activity_participants', ['user_id'])


def downgrade():
    op.drop_index('ix_activity_participants_user_id', table_name='activity_participants')
    op.drop_index('ix_event_links_mapping_id_activity_id', table_name='event_links')
