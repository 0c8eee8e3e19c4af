"""activities and contacts adjustments

Revision ID: 20261122_02_crm
Revises: 20261122_01_core
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_02_crm'
down_revision = '20261122_01_core'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
