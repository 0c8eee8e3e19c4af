"""long titles and places: Text columns for what Google may send longer than 255

Revision ID: 20261122_09_long_texts
Revises: 20261122_08_guest_notifications
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '20261122_09_long_texts'
down_revision = '20261122_08_guest_notifications'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities') as batch:
        batch.alter_column('subject', type_=sa.Text(), existing_type=sa.String(length=255),
                           existing_nullable=False)
        batch.alter_column('location', type_=sa.Text(), existing_type=sa.String(length=255),
                           existing_nullable=False)
    with op.batch_alter_table('sync_run_entries') as batch:
        batch.alter_column('subject', type_=sa.Text(), existing_type=sa.String(length=255),
                           existing_nullable=False)
    with op.batch_alter_table('external_attendees') as batch:
        batch.alter_column('display_name', type_=sa.Text(), existing_type=sa.String(length=255),
                           existing_nullable=False)


def downgrade():
    with op.batch_alter_table('external_attendees') as batch:
        batch.alter_column('display_name', type_=sa.String(length=255),
                           existing_type=sa.Text(), existing_nullable=False)
    with op.batch_alter_table('sync_run_entries') as batch:
        batch.alter_column('subject', type_=sa.String(length=255), existing_type=sa.Text(),
                           existing_nullable=False)
    with op.batch_alter_table('activities') as batch:
        batch.alter_column('location', type_=sa.String(length=255), existing_type=sa.Text(),
                           existing_nullable=False)
        batch.alter_column('subject', type_=sa.String(length=255), existing_type=sa.Text(),
                           existing_nullable=False)
