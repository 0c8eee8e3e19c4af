"""The export's queue of changed activities: export_queue(mapping_id, activity_id, seq) and
calendar_mappings.export_scanned_at (NULL: the next export reads every candidate) and
export_rescans (bumped by every request for a full scan)

Revision ID: 20261217_02_export_queue
Revises: 20261217_01_export_scan_index
Create Date: 2026-12-17

"""
import sqlalchemy as sa
from alembic import op


revision = '20261217_02_export_queue'
down_revision = '20261217_01_export_scan_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'export_queue',
        sa.Column('mapping_id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['mapping_id'], ['calendar_mappings.id'],
                                name=op.f('fk_export_queue_mapping_id_calendar_mappings'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('mapping_id', 'activity_id', name=op.f('pk_export_queue')),
    )
    with op.batch_alter_table('calendar_mappings') as batch:
        batch.add_column(sa.Column('export_scanned_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('export_rescans', sa.Integer(), server_default='0',
                                   nullable=False))


def downgrade():
    with op.batch_alter_table('calendar_mappings') as batch:
        batch.drop_column('export_rescans')
        batch.drop_column('export_scanned_at')
    op.drop_table('export_queue')
