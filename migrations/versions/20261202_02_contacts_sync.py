"""contacts sync: each user's settings, links between contacts and Google people, contacts
runs, and the Google Contacts sync cron task

Revision ID: 20261202_02_contacts_sync
Revises: 20261202_01_meeting_identity
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '20261202_02_contacts_sync'
down_revision = '20261202_01_meeting_identity'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contact_sync_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=True),
        sa.Column('auto_sync', sa.Boolean(), nullable=False),
        sa.Column('period_minutes', sa.Integer(), nullable=False),
        sa.Column('conflict_rule', sa.String(length=16), nullable=False),
        sa.Column('delete_in_crm_when_deleted_in_google', sa.Boolean(), nullable=False),
        sa.Column('group_resource_name', sa.String(length=255), nullable=True),
        sa.Column('sync_token', sa.Text(), nullable=True),
        sa.Column('last_synced_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], ondelete='SET NULL',
                                name=op.f('fk_contact_sync_settings_tag_id_tags')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_contact_sync_settings_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_sync_settings')),
        sa.UniqueConstraint('user_id', name=op.f('uq_contact_sync_settings_user_id')),
    )
    op.create_table(
        'contact_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('settings_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('resource_name', sa.String(length=255), nullable=False),
        sa.Column('etag', sa.String(length=255), nullable=False),
        sa.Column('synced_version', sa.Integer(), nullable=True),
        sa.Column('owner', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('base_fields', sa.Text(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('crm_deleted_at', sa.DateTime(), nullable=True),
        sa.Column('synced_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL',
                                name=op.f('fk_contact_links_contact_id_contacts')),
        sa.ForeignKeyConstraint(['settings_id'], ['contact_sync_settings.id'],
                                ondelete='CASCADE',
                                name=op.f('fk_contact_links_settings_id_contact_sync_settings')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_contact_links_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_links')),
        sa.UniqueConstraint('settings_id', 'resource_name',
                            name='uq_contact_links_settings_id_resource_name'),
    )
    with op.batch_alter_table('contact_links') as batch:
        batch.create_index(batch.f('ix_contact_links_contact_id'), ['contact_id'], unique=False)
        batch.create_index(batch.f('ix_contact_links_settings_id'), ['settings_id'],
                           unique=False)
        batch.create_index(batch.f('ix_contact_links_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('sync_runs') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False,
                                   server_default='calendar'))
        batch.add_column(sa.Column('contact_settings_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_sync_runs_contact_settings_id_contact_sync_settings'),
            'contact_sync_settings', ['contact_settings_id'], ['id'], ondelete='SET NULL')
        batch.create_index(batch.f('ix_sync_runs_contact_settings_id'),
                           ['contact_settings_id'], unique=False)
    with op.batch_alter_table('sync_run_entries') as batch:
        batch.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
    cron_tasks = sa.table(
        'cron_tasks', sa.column('name', sa.String), sa.column('description', sa.String),
        sa.column('handler', sa.String), sa.column('active', sa.Boolean),
        sa.column('frequency_seconds', sa.Integer), sa.column('last_status', sa.String),
        sa.column('last_message', sa.Text), sa.column('last_job_ids', sa.Text))
    op.bulk_insert(cron_tasks, [dict(
        name="Google Contacts sync", handler="google_contacts_sync", active=True,
        frequency_seconds=900, last_status="never", last_message="", last_job_ids="",
        description="Syncs each user's tagged contacts with their Google Contacts, both ways.")])


def downgrade():
    op.execute("DELETE FROM cron_tasks WHERE handler = 'google_contacts_sync'")
    with op.batch_alter_table('sync_run_entries') as batch:
        batch.drop_column('contact_id')
    with op.batch_alter_table('sync_runs') as batch:
        batch.drop_index(batch.f('ix_sync_runs_contact_settings_id'))
        batch.drop_constraint(batch.f('fk_sync_runs_contact_settings_id_contact_sync_settings'),
                              type_='foreignkey')
        batch.drop_column('contact_settings_id')
        batch.drop_column('kind')
    op.drop_table('contact_links')
    op.drop_table('contact_sync_settings')
