"""A covering index for the export's unlinked-candidates query:
activities(activity_type_id, organizer_id, show_in_calendar)

Revision ID: 20261217_01_export_scan_index
Revises: 20261216_01_sync_lookup_indexes
Create Date: 2026-12-17

"""
from alembic import op


revision = '20261217_01_export_scan_index'
down_revision = '20261216_01_sync_lookup_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_activities_type_organizer_shown', 'activities',
                    ['activity_type_id', 'organizer_id', 'show_in_calendar'])


def downgrade():
    op.drop_index('ix_activities_type_organizer_shown', table_name='activities')
