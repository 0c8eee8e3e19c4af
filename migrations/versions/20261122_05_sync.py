"""sync links runs state

Revision ID: 20261122_05_sync
Revises: 20261122_04_google
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_05_sync'
down_revision = '20261122_04_google'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
