"""google credentials connections mappings

Revision ID: 20261122_04_google
Revises: 20261122_01_core
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_04_google'
down_revision = '20261122_01_core'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'google_credentials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('api_key_encrypted', sa.Text(), nullable=True),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('client_secret_encrypted', sa.Text(), nullable=False),
        sa.Column('redirect_url', sa.String(length=500), nullable=False),
        sa.Column('checked_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_google_credentials_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_google_credentials')),
    )
    op.create_table(
        'google_connections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('google_email', sa.String(length=254), nullable=True),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('refresh_token_encrypted', sa.Text(), nullable=True),
        sa.Column('access_token_encrypted', sa.Text(), nullable=True),
        sa.Column('token_expires_at', sa.DateTime(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('connected_at', sa.DateTime(), nullable=True),
        sa.Column('disconnected_at', sa.DateTime(), nullable=True),
        sa.Column('links_on_disconnect', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_google_connections_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_google_connections')),
        sa.UniqueConstraint('user_id', name=op.f('uq_google_connections_user_id')),
    )
    op.create_table(
        'calendar_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('activity_type_id', sa.Integer(), nullable=False),
        sa.Column('calendar_id', sa.String(length=255), nullable=True),
        sa.Column('calendar_summary', sa.String(length=255), nullable=False),
        sa.Column('export_enabled', sa.Boolean(), nullable=False),
        sa.Column('import_enabled', sa.Boolean(), nullable=False),
        sa.Column('conflict_rule', sa.String(length=16), nullable=False),
        sa.Column('delete_in_crm_when_deleted_in_google', sa.Boolean(), nullable=False),
        sa.Column('sync_token', sa.Text(), nullable=True),
        sa.Column('last_synced_at', sa.DateTime(), nullable=True),
        sa.Column('retired_calendar_id', sa.String(length=255), nullable=True),
        sa.Column('retired_action', sa.String(length=16), nullable=True),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['activity_type_id'], ['activity_types.id'], ondelete='CASCADE',
                                name=op.f('fk_calendar_mappings_activity_type_id_activity_types')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_calendar_mappings_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_mappings')),
        sa.UniqueConstraint('user_id', 'activity_type_id',
                            name='uq_calendar_mappings_user_id_activity_type_id'),
        sa.UniqueConstraint('user_id', 'calendar_id',
                            name='uq_calendar_mappings_user_id_calendar_id'),
    )
    with op.batch_alter_table('calendar_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_mappings_user_id'), ['user_id'],
                              unique=False)
    op.create_table(
        'google_sync_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('auto_sync', sa.Boolean(), nullable=False),
        sa.Column('period_minutes', sa.Integer(), nullable=False),
        sa.Column('sync_from', sa.Date(), nullable=True),
        sa.Column('last_successful_sync_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_google_sync_settings_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_google_sync_settings')),
        sa.UniqueConstraint('user_id', name=op.f('uq_google_sync_settings_user_id')),
    )


def downgrade():
    op.drop_table('google_sync_settings')
    with op.batch_alter_table('calendar_mappings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_mappings_user_id'))
    op.drop_table('calendar_mappings')
    op.drop_table('google_connections')
    op.drop_table('google_credentials')
