"""event_links.event_state: Google's attendees, recurrence and derived EXDATEs per link

Revision ID: 20261122_07_sync_refinements
Revises: 20261122_06_scheduler
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_07_sync_refinements'
down_revision = '20261122_06_scheduler'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_state', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('event_links', schema=None) as batch_op:
        batch_op.drop_column('event_state')
