"""guest notifications: the next export of an activity emails its guests

Revision ID: 20261122_08_guest_notifications
Revises: 20261122_07_sync_refinements
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_08_guest_notifications'
down_revision = '20261122_07_sync_refinements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'guest_notifications',
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], ondelete='CASCADE',
                                name=op.f('fk_guest_notifications_activity_id_activities')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_guest_notifications_requested_by_id_users')),
        sa.PrimaryKeyConstraint('activity_id', name=op.f('pk_guest_notifications')),
    )


def downgrade():
    op.drop_table('guest_notifications')
