"""contacts and tags adjustments

Revision ID: 20261122_03_contacts
Revises: 20261122_02_crm
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_03_contacts'
down_revision = '20261122_02_crm'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
