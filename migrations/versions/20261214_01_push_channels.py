"""push_channels: Google push notification channels (events.watch) per calendar mapping

Revision ID: 20261214_01_push_channels
Revises: 20261210_02_type_colours
Create Date: 2026-12-14

"""
from alembic import op
import sqlalchemy as sa


revision = '20261214_01_push_channels'
down_revision = '20261210_02_type_colours'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'push_channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mapping_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.String(length=64), nullable=False),
        sa.Column('resource_id', sa.String(length=255), nullable=False),
        sa.Column('calendar_id', sa.String(length=255), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['mapping_id'], ['calendar_mappings.id'], ondelete='CASCADE',
                                name=op.f('fk_push_channels_mapping_id_calendar_mappings')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_push_channels_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_channels')),
        sa.UniqueConstraint('channel_id', name=op.f('uq_push_channels_channel_id')),
    )
    with op.batch_alter_table('push_channels') as batch:
        batch.create_index(batch.f('ix_push_channels_mapping_id'), ['mapping_id'], unique=False)
        batch.create_index(batch.f('ix_push_channels_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('push_channels')
