"""cron tasks

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
    pass


def downgrade():
    pass
