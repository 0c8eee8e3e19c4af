"""cron tasks, seeded with the Google sync and cleanup tasks

Revision ID: 20261122_06_scheduler
Revises: 20261122_05_sync
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_06_scheduler'
down_revision = '20261122_05_sync'
branch_labels = None
depends_on = None


def upgrade():
    cron_tasks = op.create_table(
        'cron_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=False),
        sa.Column('handler', sa.String(length=64), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('frequency_seconds', sa.Integer(), nullable=False),
        sa.Column('next_due_at', sa.DateTime(), nullable=True),
        sa.Column('last_start_at', sa.DateTime(), nullable=True),
        sa.Column('last_end_at', sa.DateTime(), nullable=True),
        sa.Column('last_status', sa.String(length=16), nullable=False),
        sa.Column('last_message', sa.Text(), nullable=False),
        sa.Column('last_job_ids', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cron_tasks')),
        sa.UniqueConstraint('handler', name=op.f('uq_cron_tasks_handler')),
        sa.UniqueConstraint('name', name=op.f('uq_cron_tasks_name')),
    )
    # The standard tasks, as portal.scheduler.services.DEFAULT_TASKS describes them.
    op.bulk_insert(cron_tasks, [
        dict(name="Google Calendar export", handler="google_calendar_export", active=True,
             frequency_seconds=900, last_status="never", last_message="", last_job_ids="",
             description="Sends changed CRM activities to each user's mapped Google calendars."),
        dict(name="Google Calendar import", handler="google_calendar_import", active=True,
             frequency_seconds=900, last_status="never", last_message="", last_job_ids="",
             description="Brings changes made in Google Calendar back into the CRM."),
        dict(name="Clean old sync runs", handler="clean_sync_runs", active=True,
             frequency_seconds=86400, last_status="never", last_message="", last_job_ids="",
             description="Deletes synchronization run logs older than 30 days."),
    ])


def downgrade():
    op.drop_table('cron_tasks')
