"""sync_runs.attempt, retry_at (a retrying run says when and which attempt) and kept
(activities or contacts deleted in Google and kept in the CRM are not counted as deleted);
event_links.created_at (an activity's page says since when it is in Google)

Revision ID: 20261202_11_run_attempts
Revises: 20261202_10_session_tokens
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '20261202_11_run_attempts'
down_revision = '20261202_10_session_tokens'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_runs') as batch:
        batch.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('retry_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('kept', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('event_links') as batch:
        batch.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('event_links') as batch:
        batch.drop_column('created_at')
    with op.batch_alter_table('sync_runs') as batch:
        batch.drop_column('kept')
        batch.drop_column('retry_at')
        batch.drop_column('attempt')
