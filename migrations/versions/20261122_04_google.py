"""google credentials connections mappings

Revision ID: 20261122_04_google
Revises: 20261122_03_contacts
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_04_google'
down_revision = '20261122_03_contacts'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
